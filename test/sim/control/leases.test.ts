import test, { type ExecutionContext } from 'ava';
import type { CommandBody } from '../../../src/api/config-views.js';
import type { ControlCluster } from '../../../src/sim/control-cluster.js';
import { makeSimTest } from '../../../src/sim/seed.js';
import { formed, names, newCluster } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test, { serial: true });
const utf8 = new TextEncoder();
const ttlMs = 4000;
const checkMs = 250;

/** Send a command through `member`'s shell and run the virtual clock until it is answered; returns the answer time. */
async function writeNow(c: ControlCluster, member: string, id: string, cmd: CommandBody): Promise<number> {
  let answeredMs: number | undefined;
  let error: string | undefined;
  c.request(member, id, (shell) => shell.write(cmd), (r, atMs) => {
    answeredMs = atMs;
    if (!r.ok) error = r.error.message;
  });
  if (!await c.runUntil(() => answeredMs !== undefined, 10_000, 1)) throw new Error(`${id} not answered`);
  if (error !== undefined) throw new Error(`${id} failed: ${error}`);
  return answeredMs!;
}

/** The key as every live voter's store holds it (all must agree once applied). */
function keyPresent(c: ControlCluster, key: string): boolean {
  const l = c.leader();
  return l !== undefined && c.core(l)!.store.get(key) !== undefined;
}

async function grantAndAttach(c: ControlCluster, client: string, lease: number, key: string): Promise<number> {
  const via = c.leader()!;
  const grantedMs = await writeNow(c, via, `${client}-grant`, { type: 'leaseGrant', id: lease, ttlMs });
  await writeNow(c, via, `${client}-put`, { type: 'put', key, value: utf8.encode('up'), lease });
  return grantedMs;
}

simTest('a lease expires after its TTL on the leader clock, not before', [1, 2], async (t, seed) => {
  const members = names('m', 3);
  const c = newCluster(seed, members, { control: { leaseCheckIntervalMs: checkMs } });
  c.startAll(members, { spreadMs: 500 });
  t.true(await c.runUntil(() => formed(c, members), 30_000, 50));
  await c.runFor(1000);
  const grantedMs = await grantAndAttach(c, 'svc', 7, 'svc/a');
  t.true(keyPresent(c, 'svc/a'));
  await c.runFor(grantedMs + ttlMs - 50 - c.nowMs);
  t.true(keyPresent(c, 'svc/a'), 'still there just before the TTL');
  t.true(await c.runUntil(() => !keyPresent(c, 'svc/a'), ttlMs, 5), 'gone after the TTL');
  const goneMs = c.nowMs;
  t.true(goneMs - grantedMs >= ttlMs, `expired ${goneMs - grantedMs} ms after the grant`);
  t.true(goneMs - grantedMs < ttlMs + 2 * checkMs + 500, `expired ${goneMs - grantedMs} ms after the grant, TTL ${ttlMs}`);
  // Every member applied the same expiry.
  await c.runFor(500);
  for (const m of members) t.is(c.core(m)!.store.get('svc/a'), undefined, `${m} deleted the key`);
});

simTest('a lease survives a leader change: still there just before TTL after the new leader took over, gone after', [3, 4, 5], async (t, seed) => {
  const members = names('m', 3);
  const c = newCluster(seed, members, { control: { leaseCheckIntervalMs: checkMs } });
  c.startAll(members, { spreadMs: 500 });
  t.true(await c.runUntil(() => formed(c, members), 30_000, 50));
  await c.runFor(1000);
  await grantAndAttach(c, 'svc', 9, 'svc/b');
  await c.runFor(ttlMs / 2);
  const old = c.leader()!;
  c.crash(old);
  const crashMs = c.nowMs;
  const promotion = () => c.leaderChanges.find((l) => l.atMs >= crashMs && l.observer === l.leader);
  t.true(await c.runUntil(() => promotion() !== undefined, 10_000, 1), 'a new leader');
  const promotedMs = promotion()!.atMs;
  t.true(keyPresent(c, 'svc/b'), 'the key survived the leader change');
  await c.runFor(Math.max(0, promotedMs + ttlMs - 50 - c.nowMs));
  t.true(keyPresent(c, 'svc/b'), `still there just before TTL after the leader change (promoted at ${promotedMs})`);
  t.true(await c.runUntil(() => !keyPresent(c, 'svc/b'), ttlMs, 5), 'gone after the TTL');
  t.true(c.nowMs - promotedMs < ttlMs + 2 * checkMs + 500, `gone ${c.nowMs - promotedMs} ms after the promotion`);
});

simTest('a lease kept alive does not expire', [6], async (t, seed) => {
  const members = names('m', 3);
  const c = newCluster(seed, members, { control: { leaseCheckIntervalMs: checkMs } });
  c.startAll(members, { spreadMs: 500 });
  t.true(await c.runUntil(() => formed(c, members), 30_000, 50));
  await c.runFor(1000);
  await grantAndAttach(c, 'svc', 11, 'svc/c');
  for (let i = 0; i < 5; i++) {
    await c.runFor(ttlMs / 2);
    await writeNow(c, c.leader()!, `svc-ka-${i}`, { type: 'leaseKeepAlive', id: 11 });
  }
  t.true(keyPresent(c, 'svc/c'), `kept alive for ${(5 * ttlMs) / 2} ms, more than its TTL`);
  t.true(await c.runUntil(() => !keyPresent(c, 'svc/c'), 2 * ttlMs, 5), 'expires once no longer kept alive');
});
