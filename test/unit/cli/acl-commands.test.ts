/** `shoal acl token create|list|revoke`, and how client commands pick their token (--token, $SHOAL_HTTP_TOKEN, $SHOAL_API_TOKEN). */
import test from 'ava';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';
import { clientOptions } from '../../../src/cli/connection.js';
import { MANAGEMENT_TOKEN, startSecureServer } from '../api/secure-fake.js';

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false };
  const code = await runCli(['node', 'shoal', ...args], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test.serial('create prints the secret once, list never does, revoke removes the token and it is refused', async (t) => {
  const s = await startSecureServer(t);
  const at = ['--http', s.address, '--token', MANAGEMENT_TOKEN];
  const created = await cli('acl', 'token', 'create', '--scope', 'read', '--description', 'grafana', '--json', ...at);
  t.is(created.code, 0, created.err);
  const tok = JSON.parse(created.out) as { id: string; scope: string; secret: string; description: string };
  t.like(tok, { scope: 'read', description: 'grafana' });
  const text = await cli('acl', 'token', 'create', '--scope', 'write', ...at);
  t.is(text.code, 0);
  t.regex(text.out, /^id {7}[0-9a-f]{16}\nscope {4}write\nsecret {3}shoal_/);
  t.regex(text.err, /shown this once/);
  const list = await cli('acl', 'token', 'list', ...at);
  t.is(list.code, 0);
  t.regex(list.out, /^ID +SCOPE +CREATED +DESCRIPTION/);
  t.regex(list.out, new RegExp(`${tok.id}  read .* grafana`));
  t.false(list.out.includes('shoal_'), 'no secret listed');
  const listJson = JSON.parse((await cli('acl', 'token', 'list', '--json', ...at)).out) as { id: string }[];
  t.is(listJson.length, 2);
  t.false(JSON.stringify(listJson).includes('shoal_'));
  // The read token reads and may not write.
  t.is((await cli('config', 'get', '', '--prefix', '--http', s.address, '--token', tok.secret)).code, 0);
  const denied = await cli('config', 'put', 'k', 'v', '--http', s.address, '--token', tok.secret);
  t.is(denied.code, 1);
  t.regex(denied.err, /ERR_FORBIDDEN/);
  const revoked = await cli('acl', 'token', 'revoke', tok.id, ...at);
  t.is(revoked.code, 0);
  t.regex(revoked.out, new RegExp(`^revoked token ${tok.id} \\(revision \\d+\\)$`));
  const refused = await cli('config', 'get', '', '--prefix', '--http', s.address, '--token', tok.secret);
  t.is(refused.code, 1);
  t.regex(refused.err, /ERR_UNAUTHENTICATED/);
  t.is((await cli('acl', 'token', 'revoke', tok.id, ...at)).code, 1, 'revoked twice');
});

test.serial('usage errors: no --scope, a bad scope, a token with a space', async (t) => {
  t.is((await cli('acl', 'token', 'create', '--http', '127.0.0.1:1')).code, 2);
  t.is((await cli('acl', 'token', 'create', '--scope', 'admin', '--http', '127.0.0.1:1')).code, 2);
  t.is((await cli('members', '--token', 'has space', '--http', '127.0.0.1:1')).code, 2);
  t.is((await cli('members', '--http', 'ftp://127.0.0.1:1')).code, 2);
});

test.serial('without a token the CLI is refused with ERR_UNAUTHENTICATED; $SHOAL_HTTP_TOKEN and $SHOAL_API_TOKEN supply one', async (t) => {
  const s = await startSecureServer(t);
  const saved = { http: process.env.SHOAL_HTTP_TOKEN, api: process.env.SHOAL_API_TOKEN };
  t.teardown(() => {
    for (const [k, v] of [['SHOAL_HTTP_TOKEN', saved.http], ['SHOAL_API_TOKEN', saved.api]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  delete process.env.SHOAL_HTTP_TOKEN;
  delete process.env.SHOAL_API_TOKEN;
  const refused = await cli('members', '--http', s.address);
  t.is(refused.code, 1);
  t.regex(refused.err, /ERR_UNAUTHENTICATED/);
  process.env.SHOAL_API_TOKEN = MANAGEMENT_TOKEN;
  t.is((await cli('members', '--http', s.address)).code, 0);
  process.env.SHOAL_HTTP_TOKEN = 'wrong-token-0123456789';
  t.is((await cli('members', '--http', s.address)).code, 1, '$SHOAL_HTTP_TOKEN comes first');
  t.is((await cli('members', '--http', s.address, '--token', MANAGEMENT_TOKEN)).code, 0, '--token comes first');
  t.deepEqual(clientOptions({ http: 'x:1' }, { SHOAL_HTTP_TOKEN: '', SHOAL_API_TOKEN: 'abc' }), { token: 'abc' }, 'an empty variable is unset');
});

test.serial('shoal agent: a short --api-token is a usage error; --api-token-file reads the first line; both at once conflict', async (t) => {
  const short = await cli('agent', '--name', 'a', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--api-token', 'short');
  t.is(short.code, 2);
  t.regex(short.err, /apiToken must be 16\.\.512 visible ASCII characters/);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-token-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'token');
  await writeFile(file, 'short\nsecond line\n');
  const fromFile = await cli('agent', '--name', 'a', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--api-token-file', file);
  t.is(fromFile.code, 2, 'the file\'s token is validated like --api-token');
  t.regex(fromFile.err, /apiToken must be/);
  const both = await cli('agent', '--api-token', MANAGEMENT_TOKEN, '--api-token-file', file);
  t.is(both.code, 2);
  t.regex(both.err, /cannot be used with/);
  t.is((await cli('agent', '--api-token-file', path.join(dir, 'missing'))).code, 2);
  const halfTls = await cli('agent', '--name', 'a', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--api-tls-cert', file);
  t.is(halfTls.code, 2);
  t.regex(halfTls.err, /apiTlsKey is needed too/);
});
