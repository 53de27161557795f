/** The HTTP API over TLS (--api-tls-cert / --api-tls-key), with a self-signed certificate made by openssl. */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { ApiClient } from '../../../src/api/client.js';
import { ConfigClient } from '../../../src/api/config-client.js';
import { HttpApiServer } from '../../../src/api/http-server.js';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';
import { ErrorCode, isShoalError } from '../../../src/util/errors.js';
import { makeSelfSigned } from '../../support/self-signed.js';
import { MANAGEMENT_TOKEN, startSecureServer } from './secure-fake.js';

const cert = await makeSelfSigned();
test.after.always(() => cert?.remove());
const withOpenssl = cert === undefined ? test.skip : test;
if (cert === undefined) console.warn('tls.test.ts: skipped: no openssl to make a self-signed certificate');

withOpenssl('HTTPS with the certificate as CA works; plain HTTP and an untrusted certificate are refused', async (t) => {
  const s = await startSecureServer(t, { token: MANAGEMENT_TOKEN, tls: { certFile: cert!.certFile, keyFile: cert!.keyFile } });
  t.is(s.server.url, `https://${s.address}`);
  const ca = await readFile(cert!.certFile);
  const client = new ConfigClient(s.server.url, { token: MANAGEMENT_TOKEN, ca });
  await client.put({ key: 'k', value: 'over tls' });
  t.is((await client.get('k'))?.value, 'over tls');
  const viaFlag = new ApiClient(s.address, { token: MANAGEMENT_TOKEN, https: true, ca });
  t.is((await viaFlag.health()).status, 'ok');
  const untrusted = await t.throwsAsync(new ApiClient(s.server.url, { token: MANAGEMENT_TOKEN }).health());
  t.true(isShoalError(untrusted, ErrorCode.Unreachable));
  t.regex(untrusted!.message, /self[- ]signed|certificate/i);
  const plain = await t.throwsAsync(new ApiClient(`http://${s.address}`, { token: MANAGEMENT_TOKEN }).health());
  t.true(isShoalError(plain), String(plain));
  t.throws(() => new ApiClient(`http://${s.address}`, { ca }), { message: /http:\/\/ but HTTPS/ });
  // The watch stream too.
  const lines = client.watch('', { fromRevision: 1 });
  t.like((await lines.next()).value, { type: 'created' });
  t.like((await lines.next()).value, { type: 'put', kv: { key: 'k' } });
  await lines.return(undefined);
});

withOpenssl('the CLI reaches an HTTPS agent with --ca, and https:// in --http', async (t) => {
  const s = await startSecureServer(t, { token: MANAGEMENT_TOKEN, tls: { certFile: cert!.certFile, keyFile: cert!.keyFile } });
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false };
    const code = await runCli(['node', 'shoal', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const put = await cli('config', 'put', 'k', 'v', '--http', s.server.url, '--ca', cert!.certFile, '--token', MANAGEMENT_TOKEN);
  t.is(put.code, 0, put.err);
  t.like(await cli('config', 'get', 'k', '--http', s.address, '--https', '--ca', cert!.certFile, '--token', MANAGEMENT_TOKEN), { code: 0, out: 'v' });
  const untrusted = await cli('members', '--http', s.server.url, '--token', MANAGEMENT_TOKEN);
  t.is(untrusted.code, 1);
  t.regex(untrusted.err, /cannot reach the agent/);
  t.is((await cli('members', '--http', s.address, '--ca', '/nonexistent/ca.pem')).code, 2);
});

test('a missing or bad certificate file stops the server with ERR_INVALID_CONFIG naming it', async (t) => {
  const membership = { members: () => [], join: async () => 0, leave: async () => {}, health: () => ({}) as never };
  const e = await t.throwsAsync(HttpApiServer.listen({ listen: '127.0.0.1:0', service: membership, tls: { certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' } }));
  t.true(isShoalError(e, ErrorCode.InvalidConfig));
  t.is((e as { details?: Record<string, unknown> }).details?.field, 'apiTlsCert');
  const bad = await t.throwsAsync(HttpApiServer.listen({ listen: '127.0.0.1:0', service: membership, tls: { certFile: import.meta.filename, keyFile: import.meta.filename } }));
  t.true(isShoalError(bad, ErrorCode.InvalidConfig), String(bad));
});
