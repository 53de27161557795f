import test from 'ava';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { Command } from 'commander';
import { addControlAgentOptions, controlOptionsFrom } from '../../../src/cli/config-program.js';
import type { CliIo } from '../../../src/cli/io.js';
import { startFakeServer } from '../api/config-fake.js';

async function start(t: { teardown(fn: () => Promise<void>): void }) {
  const { backend, server } = await startFakeServer(t);
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false };
    const code = await runCli(['node', 'shoal', ...args, '--http', server.address], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  return { backend, cli };
}

test('config put / get / del round-trip; a missing key exits 1', async (t) => {
  const { cli } = await start(t);
  t.like(await cli('config', 'put', 'app/x', 'hello world'), { code: 0, out: 'revision 1' });
  t.like(await cli('config', 'get', 'app/x'), { code: 0, out: 'hello world' });
  const json = await cli('config', 'get', 'app/x', '--json', '--serializable');
  t.like(JSON.parse(json.out), { key: 'app/x', value: 'hello world', version: 1, modRevision: 1 });
  await cli('config', 'put', 'app/y', '2');
  t.like(await cli('config', 'get', 'app/', '--prefix'), { code: 0, out: 'app/x=hello world\napp/y=2' });
  t.like(await cli('config', 'del', 'app/x'), { code: 0, out: 'deleted 1 (revision 3)' });
  const missing = await cli('config', 'get', 'app/x');
  t.is(missing.code, 1);
  t.regex(missing.err, /not found/);
});

test('config put with a stale --prev-revision fails with the code; a bad flag is a usage error', async (t) => {
  const { cli } = await start(t);
  await cli('config', 'put', 'k', 'a');
  const stale = await cli('config', 'put', 'k', 'b', '--prev-revision', '0');
  t.is(stale.code, 1);
  t.regex(stale.err, /ERR_CONFLICT/);
  t.is((await cli('config', 'put', 'k', 'b', '--lease', 'x')).code, 2);
  const bad = await cli('config', 'put', 'bad\u0001key', 'v');
  t.is(bad.code, 1);
  t.regex(bad.err, /unprintable.*ERR_INVALID_ARGUMENT/);
});

test('config txn reads the body from a file and exits 1 when the compare fails', async (t) => {
  const { cli } = await start(t);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'txn.json');
  await writeFile(file, JSON.stringify({ compare: [{ key: 'lock', target: 'version', op: '=', value: 0 }], success: [{ put: { key: 'lock', value: 'me' } }] }));
  const first = await cli('config', 'txn', file);
  t.is(first.code, 0);
  t.like(JSON.parse(first.out), { succeeded: true, revision: 1 });
  const second = await cli('config', 'txn', file);
  t.is(second.code, 1);
  t.like(JSON.parse(second.out), { succeeded: false, revision: 1 });
  t.is((await cli('config', 'txn', path.join(dir, 'missing.json'))).code, 2);
});

test('config watch --count prints changes in order, then exits', async (t) => {
  const { cli } = await start(t);
  await cli('config', 'put', 'w/a', '1');
  await cli('config', 'put', 'w/b', '2');
  const r = await cli('config', 'watch', 'w/', '--from-revision', '1', '--count', '2');
  t.is(r.code, 0);
  t.is(r.out, '1 PUT w/a=1\n2 PUT w/b=2');
});

test('lease grant / keepalive / revoke and raft status', async (t) => {
  const { cli } = await start(t);
  const g = await cli('lease', 'grant', '30');
  t.is(g.code, 0);
  const id = /lease (\d+) granted with TTL 30s/.exec(g.out)?.[1];
  t.truthy(id, g.out);
  t.like(await cli('lease', 'keepalive', id!), { code: 0 });
  t.like(await cli('lease', 'revoke', id!), { code: 0 });
  t.is((await cli('lease', 'keepalive', id!)).code, 1, 'a revoked lease is gone');
  const s = await cli('raft', 'status');
  t.regex(s.out, /leader\s+a/);
  t.regex(s.out, /voters\s+a, b, c/);
  t.like(JSON.parse((await cli('raft', 'status', '--json')).out), { leader: 'a', term: 3 });
  t.like(await cli('raft', 'transfer-leader', 'c'), { code: 0, out: 'leader is now c' });
  t.like(await cli('raft', 'remove-peer', 'b'), { code: 0, out: 'removed b' });
});

test('agent control flags parse into control options; bad values are usage errors', async (t) => {
  const agent = addControlAgentOptions(new Command('agent').exitOverride());
  agent.parse(['--bootstrap-expect=5', '--voter', 'false', '--dead-voter-grace-ms', '3000'], { from: 'user' });
  t.deepEqual(controlOptionsFrom(agent.opts()), { bootstrapExpect: 5, voter: false, deadVoterGraceMs: 3000 });
  const defaults = addControlAgentOptions(new Command('agent').exitOverride());
  defaults.parse([], { from: 'user' });
  t.deepEqual(controlOptionsFrom(defaults.opts()), { bootstrapExpect: 3, voter: true });
  const usage = async (...args: string[]) => {
    const err: string[] = [];
    const code = await runCli(['node', 'shoal', 'agent', ...args], { out: () => {}, err: (l) => err.push(l), isTty: false });
    return { code, err: err.join('\n') };
  };
  for (const [args, pattern] of [
    [['--bootstrap-expect', '0'], /bootstrap-expect/],
    // Raft shares the gossip port: the old flag is gone.
    [['--raft', '127.0.0.1:7948'], /unknown option '--raft'/],
    [['--advertise', 'somehost:7946'], /advertise/],
    [['--bind', '10.1.2.3:7946', '--advertise', '127.0.0.1:7946'], /advertise.*loopback/],
    [['--voter'], /argument missing/],
    [['--voter', 'maybe'], /voter/],
  ] as const) {
    const r = await usage(...args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.err, pattern);
  }
});
