import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePorts } from '../../../src/agent/raft-kv-cluster.js';
import { RaftShell } from '../../../src/agent/raft-shell.js';
import type { HostPort } from '../../../src/util/address.js';
import { isShoalError, ErrorCode, type ShoalError } from '../../../src/util/errors.js';

const host = '127.0.0.1';

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

interface Cluster {
  base: string;
  voters: Map<string, HostPort>;
  dirs: Map<string, string>;
  shells: Map<string, RaftShell>;
}

async function cluster(ids: string[]): Promise<Cluster> {
  const ports = await freePorts(ids.length);
  const base = await mkdtemp(path.join(tmpdir(), 'raft-shell-'));
  const voters = new Map(ids.map((id, i) => [id, { host, port: ports[i] }]));
  const dirs = new Map(ids.map((id) => [id, path.join(base, id)]));
  return { base, voters, dirs, shells: new Map() };
}

async function startNode(c: Cluster, id: string, opts: { snapshotEveryEntries?: number; leaderWaitMs?: number } = {}): Promise<RaftShell> {
  const s = await RaftShell.start({ id, voters: c.voters, dataDir: c.dirs.get(id)!, ...opts });
  c.shells.set(id, s);
  return s;
}

function leaderOf(c: Cluster): RaftShell | undefined {
  return [...c.shells.values()].find((s) => s.status().role === 'leader');
}

async function teardown(c: Cluster): Promise<void> {
  await Promise.all([...c.shells.values()].map((s) => s.close()));
  await rm(c.base, { recursive: true, force: true });
}

const put = (clientId: string, seq: number, key: string, value: string) =>
  ({ type: 'put', id: { clientId, seq }, key, value }) as const;

test('three shells elect a leader; writes through leader and follower are applied everywhere and read back', async (t) => {
  const c = await cluster(['a', 'b', 'c']);
  t.teardown(() => teardown(c));
  for (const id of ['a', 'b', 'c']) await startNode(c, id);
  t.is(leaderOf(c), undefined, 'no leader yet');
  // Made during the first election: waits for a leader instead of failing.
  const early = await c.shells.get('a')!.propose(put('c0', 1, 'early', 'e'));
  t.deepEqual(early.result, { kind: 'put' });
  t.true(await until(() => leaderOf(c) !== undefined), 'a leader is elected');
  const leader = leaderOf(c)!;
  const follower = [...c.shells.values()].find((s) => s !== leader)!;
  const r1 = await leader.propose(put('c1', 1, 'k', 'v1'));
  t.deepEqual(r1.result, { kind: 'put' });
  const r2 = await follower.propose(put('c2', 1, 'k', 'v2'));
  t.true(r2.index > r1.index, 'forwarded proposal committed after the first');
  t.is((await follower.read('k')).value, 'v2', 'linearizable read on a follower sees the latest write');
  t.is((await leader.read('k')).value, 'v2');
  t.is((await leader.read('missing')).value, null);
  t.is((await follower.read('early')).value, 'e');
  const dup = await leader.propose(put('c2', 1, 'k', 'ignored'));
  t.deepEqual(dup.result, { kind: 'put' }, 'a retried request id is answered from the session');
  t.is((await leader.read('k')).value, 'v2', 'and not applied twice');
  t.true(await until(() => [...c.shells.values()].every((s) => s.status().applied >= r2.index)));
});

test('without a quorum a proposal fails fast with ERR_NOT_LEADER, and nothing is acknowledged', async (t) => {
  const c = await cluster(['a', 'b', 'c']);
  t.teardown(() => teardown(c));
  const a = await startNode(c, 'a', { leaderWaitMs: 300 });
  const started = Date.now();
  const err = await t.throwsAsync(a.propose(put('x', 1, 'k', 'v')));
  t.true(isShoalError(err, ErrorCode.NotLeader), String(err));
  t.is((err as ShoalError).details?.outcome, 'not-applied');
  const tookMs = Date.now() - started;
  t.true(tookMs >= 250 && tookMs < 1000, `waited for a leader for leaderWaitMs, then failed (${tookMs} ms)`);
  const tooLong = await t.throwsAsync(a.propose(put('x', 2, 'k'.repeat(2000), 'v')));
  t.true(isShoalError(tooLong, ErrorCode.InvalidArgument), String(tooLong));
  t.is(a.status().pendingProposals, 0, 'a refused command leaves nothing waiting');
  const readErr = await t.throwsAsync(a.read('k'));
  t.true(isShoalError(readErr, ErrorCode.NotLeader), String(readErr));
});

test('a restarted node recovers its log and snapshot from disk and catches up', async (t) => {
  const c = await cluster(['a', 'b', 'c']);
  t.teardown(() => teardown(c));
  for (const id of ['a', 'b', 'c']) await startNode(c, id, { snapshotEveryEntries: 20 });
  t.true(await until(() => leaderOf(c) !== undefined));
  let leader = leaderOf(c)!;
  const victim = [...c.shells.keys()].find((id) => c.shells.get(id) !== leader)!;
  for (let i = 1; i <= 30; i++) await leader.propose(put('w', i, `k${i % 5}`, `v${i}`));
  t.true(await until(() => c.shells.get(victim)!.status().snapshotIndex > 0), 'follower snapshotted');
  await c.shells.get(victim)!.close();
  c.shells.delete(victim);
  leader = leaderOf(c) ?? leader;
  let last = 0;
  for (let i = 31; i <= 60; i++) last = (await leader.propose(put('w', i, `k${i % 5}`, `v${i}`))).index;
  const back = await startNode(c, victim, { snapshotEveryEntries: 20 });
  t.true(back.status().applied >= 20, 'restored from its snapshot');
  t.true(await until(() => back.status().applied >= last), 'caught up');
  t.is((await back.read('k0')).value, 'v60');
  t.is((await back.read('k1')).value, 'v56');
});

test('garbage and oversized frames on the raft port are counted and do not disturb the cluster', async (t) => {
  const c = await cluster(['a', 'b', 'c']);
  t.teardown(() => teardown(c));
  for (const id of ['a', 'b', 'c']) await startNode(c, id);
  t.true(await until(() => leaderOf(c) !== undefined));
  const leader = leaderOf(c)!;
  const port = c.voters.get(leader.id)!.port;
  const send = (bytes: Buffer): Promise<void> =>
    new Promise((resolve) => {
      const s = net.connect({ host, port }, () => s.write(bytes));
      s.on('error', () => undefined);
      s.once('close', () => resolve());
    });
  const junk = Buffer.from('definitely not a raft message');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(junk.length, 0);
  await send(Buffer.concat([header, junk]));
  const huge = Buffer.alloc(4);
  huge.writeUInt32BE(0xfffffff0, 0);
  await send(huge);
  const stats = leader.linkStats();
  t.is(stats.inboundGarbled, 1);
  t.is(stats.inboundOversized, 1);
  const r = await leader.propose(put('g', 1, 'still', 'works'));
  t.deepEqual(r.result, { kind: 'put' });
  t.is(leader.status().role, 'leader');
});

test('a leader that closes hands leadership to a caught-up voter first', async (t) => {
  const c = await cluster(['a', 'b', 'c']);
  t.teardown(() => teardown(c));
  for (const id of ['a', 'b', 'c']) await startNode(c, id);
  t.true(await until(() => leaderOf(c) !== undefined));
  const old = leaderOf(c)!;
  const last = (await old.propose(put('h', 1, 'k', 'v'))).index;
  const oldTerm = old.status().term;
  await old.close();
  c.shells.delete(old.id);
  t.is(old.leadershipHandOffs, 1);
  const next = leaderOf(c);
  t.truthy(next, 'a successor leads as soon as the old leader has closed');
  t.true(next!.status().term > oldTerm);
  t.true(next!.status().commit >= last);
  t.is((await next!.read('k')).value, 'v');
});
