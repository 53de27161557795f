/**
 * `shoal keygen`, `shoal keyring ...` against real agents, and `shoal tls ca
 * create` / `tls cert create` whose files then carry a mutual-TLS cluster.
 */
import test from 'ava';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent } from '../../../src/agent/agent.js';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';
import { waitUntil } from '../../integration/wait.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false };
  const code = await runCli(['node', 'shoal', ...args], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('keygen prints a fresh 32-byte base64 key; keyring install/use/remove rotate it across agents and list reports holders', async (t) => {
  const k1 = (await cli('keygen')).out;
  const k2 = (await cli('keygen')).out;
  t.is(Buffer.from(k1, 'base64').length, 32);
  t.not(k1, k2);
  const a = await Agent.start({ name: 'a', bind: '127.0.0.1:0', http: '127.0.0.1:0', preset: 'local', encrypt: k1 });
  const b = await Agent.start({ name: 'b', bind: '127.0.0.1:0', preset: 'local', encrypt: k1, join: [a.addr] });
  t.teardown(() => Promise.all([a.stop({ leave: false }), b.stop({ leave: false })]).then(() => undefined));
  t.true(await waitUntil(() => a.members().length === 2, 5000));
  const http = a.httpAddress!;
  t.like(await cli('keyring', 'install', k2, '--http', http), { code: 0 });
  const listed = JSON.parse((await cli('keyring', 'list', '--json', '--http', http)).out) as { keys: Record<string, string[]> };
  t.deepEqual(listed.keys[k2]?.sort(), ['a', 'b']);
  t.like(await cli('keyring', 'use', k2, '--http', http), { code: 0 });
  const removed = await cli('keyring', 'remove', k1, '--http', http);
  t.is(removed.code, 0, removed.err);
  t.regex(removed.out, new RegExp(`${k2.replace(/[+/]/g, '.')}  held by 2/2, primary on 2`));
  const bad = await cli('keyring', 'remove', k2, '--http', http);
  t.is(bad.code, 1, 'the primary cannot be removed');
  t.regex(bad.err, /primary/);
});

test('tls ca create and tls cert create make files that carry a mutual-TLS cluster; they never overwrite', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-tlscli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.like(await cli('tls', 'ca', 'create', '--dir', dir, '--days', '2'), { code: 0 });
  const ca = ['--ca', path.join(dir, 'shoal-ca.pem'), '--ca-key', path.join(dir, 'shoal-ca-key.pem'), '--dir', dir];
  for (const name of ['n1', 'n2']) t.like(await cli('tls', 'cert', 'create', '--name', name, '--ip', '127.0.0.1', ...ca), { code: 0 });
  t.is((await stat(path.join(dir, 'n1-key.pem'))).mode & 0o777, 0o600, 'keys are owner-only');
  const again = await cli('tls', 'cert', 'create', '--name', 'n1', ...ca);
  t.is(again.code, 2);
  t.regex(again.err, /exists/);
  const tlsOf = (name: string) => ({ tlsCert: path.join(dir, `${name}.pem`), tlsKey: path.join(dir, `${name}-key.pem`), tlsCa: path.join(dir, 'shoal-ca.pem') });
  const n1 = await Agent.start({ name: 'n1', bind: '127.0.0.1:0', preset: 'local', ...tlsOf('n1') });
  const n2 = await Agent.start({ name: 'n2', bind: '127.0.0.1:0', preset: 'local', ...tlsOf('n2'), join: [n1.addr] });
  const plain = await Agent.start({ name: 'n3', bind: '127.0.0.1:0', preset: 'local', joinTimeoutMs: 2000 });
  t.teardown(() => Promise.all([n1, n2, plain].map((a) => a.stop({ leave: false }))).then(() => undefined));
  t.true(n1.tlsEnabled);
  t.true(await waitUntil(() => n1.members().length === 2 && n2.members().length === 2, 5000), 'the TLS members joined');
  await t.throwsAsync(plain.join([n1.addr]), undefined, 'a member without a certificate cannot join');
  t.true(n1.stats.transport.tlsRefused >= 1);
  t.true(await n1.reloadTls(), 'reload without a restart');
  t.false(await plain.reloadTls(), 'nothing to reload without TLS');
});
