/**
 * Raft KV nodes as real processes on loopback (run `npm run build` first):
 * clients write under load, the leader is killed with SIGKILL, a new leader
 * takes over; afterwards every acknowledged write is present, the recorded
 * client history is linearizable, and the killed node, restarted, catches up.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalRaftCluster } from '../../src/agent/raft-kv-cluster.js';
import { RaftKvClient, type KvCallResult } from '../../src/agent/raft-kv-client.js';
import { History } from '../../src/sim/history.js';
import { checkLinearizable } from '../../src/sim/linearizability.js';
import { kvModel, type KvInput, type KvOutput } from '../../src/sim/linearizability-kv.js';
import { SeededRng } from '../../src/util/rng.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mainPath = path.join(root, 'dist/src/agent/raft-kv-main.js');
const sharedKeys = ['a', 'b', 'c', 'd'];

type KvHistory = History<KvInput, KvOutput>;

interface Workload {
  history: KvHistory;
  /** Write-once keys whose put was acknowledged, with their values. */
  acked: Map<string, string>;
  okAfterKill: number;
  killed: boolean;
  stop: boolean;
}

const now = (): number => performance.now();

function record<T>(h: KvHistory, opId: number, res: KvCallResult<T>, output: (v: T) => KvOutput): boolean {
  if (res.ok) h.ok(opId, output(res.value), now());
  else if (res.outcome === 'not-applied') h.fail(opId, now());
  else h.info(opId, now());
  return res.ok;
}

/** One client: one operation at a time against a random running node (followers forward to the leader). */
async function runClient(name: string, cluster: LocalRaftCluster, kv: RaftKvClient, w: Workload, rng: SeededRng): Promise<void> {
  const seen = new Map<string, string | null>();
  let n = 0;
  while (!w.stop) {
    const nodes = cluster.running();
    const at = cluster.http(nodes[rng.int(nodes.length)]);
    const key = sharedKeys[rng.int(sharedKeys.length)];
    const dice = rng.next();
    const value = `${name}-${++n}`;
    let ok: boolean;
    if (dice < 0.15) {
      const once = `once-${value}`;
      const id = w.history.invoke(name, { op: 'put', key: once, value }, now());
      const res = await kv.put(at, once, value);
      ok = record(w.history, id, res, () => ({ op: 'put' }));
      if (ok) w.acked.set(once, value);
    } else if (dice < 0.5) {
      const id = w.history.invoke(name, { op: 'put', key, value }, now());
      ok = record(w.history, id, await kv.put(at, key, value), () => ({ op: 'put' }));
      if (ok) seen.set(key, value);
    } else if (dice < 0.75) {
      const id = w.history.invoke(name, { op: 'get', key }, now());
      const res = await kv.get(at, key);
      ok = record(w.history, id, res, (v) => ({ op: 'get', value: v.value }));
      if (res.ok) seen.set(key, res.value.value);
    } else {
      const expected = seen.get(key) ?? null;
      const id = w.history.invoke(name, { op: 'cas', key, expected, value }, now());
      const res = await kv.cas(at, key, expected, value);
      ok = record(w.history, id, res, (v) => ({ op: 'cas', ok: v.ok }));
      if (res.ok) seen.set(key, res.value.ok ? value : res.value.current);
    }
    if (ok && w.killed) w.okAfterKill++;
    if (!ok) await new Promise((r) => setTimeout(r, 10 + rng.int(20))); // back off while there is no leader
  }
}

async function killLeaderScenario(t: ExecutionContext, size: number, clients: number, seed: number): Promise<void> {
  t.true(existsSync(mainPath), 'dist/src/agent/raft-kv-main.js is missing: run `npm run build` first');
  if (!existsSync(mainPath)) return;
  t.log(`seed ${seed}`);
  const cluster = await LocalRaftCluster.start({ size, mainPath, nodeArgs: ['--snapshot-every', '100'] });
  const kv = new RaftKvClient({ timeoutMs: 4000, maxSockets: 16 });
  t.teardown(async () => {
    kv.close();
    await cluster.close();
  });
  const first = await cluster.waitForLeader(10_000);
  const w: Workload = { history: new History(), acked: new Map(), okAfterKill: 0, killed: false, stop: false };
  const rng = new SeededRng(seed);
  const running = Array.from({ length: clients }, (_, i) => runClient(`c${i}`, cluster, kv, w, rng.fork()));

  await new Promise((r) => setTimeout(r, 1500));
  const opsBeforeKill = w.history.size;
  const killedAt = Date.now();
  await cluster.kill(first.id, 'SIGKILL');
  w.killed = true;
  const second = await cluster.waitForLeader(10_000, first.id);
  t.log(`${size} nodes: leader ${first.id} killed; ${second.id} leads term ${second.term} after ${Date.now() - killedAt} ms`);
  t.true(second.term > first.term);
  await new Promise((r) => setTimeout(r, 2000));
  w.stop = true;
  await Promise.all(running);
  t.true(opsBeforeKill > 20, `load before the kill (${opsBeforeKill} ops)`);
  t.true(w.okAfterKill > 20, `writes and reads succeed after the failover (${w.okAfterKill})`);

  // Every acknowledged write-once put is there, read back through the new leader.
  const leaderHttp = cluster.http(second.id);
  for (const [key, value] of w.acked) {
    const res = await kv.get(leaderHttp, key);
    t.true(res.ok && res.value.value === value, `acknowledged ${key}=${value} lost: ${JSON.stringify(res)}`);
  }
  // Final reads join the history, so the last state is checked too.
  const finalValues = new Map<string, string | null>();
  for (const key of sharedKeys) {
    const id = w.history.invoke('final', { op: 'get', key }, now());
    const res = await kv.get(leaderHttp, key);
    record(w.history, id, res, (v) => ({ op: 'get', value: v.value }));
    t.true(res.ok, `final read of ${key}`);
    if (res.ok) finalValues.set(key, res.value.value);
  }
  const ops = w.history.all();
  const report = checkLinearizable(kvModel, ops, { timeoutMs: 20_000 });
  const count = (s: string): number => ops.filter((o) => o.status === s).length;
  t.log(`history: ${ops.length} ops (ok ${count('ok')}, fail ${count('fail')}, info ${count('info')}); check ${report.result} in ${Math.round(report.elapsedMs)} ms`);
  t.is(report.result, 'ok', report.explanation ?? '');
  t.true(w.acked.size > 0);

  // The killed node comes back and catches up (from its WAL, and a snapshot if the log was compacted).
  const target = (await cluster.status(second.id))!.commit;
  await cluster.startNode(first.id);
  const deadline = Date.now() + 15_000;
  let applied = 0;
  while (Date.now() < deadline) {
    applied = (await cluster.status(first.id))?.applied ?? 0;
    if (applied >= target) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.true(applied >= target, `restarted ${first.id} applied ${applied} < ${target}`);
  const back = (await cluster.status(first.id)) as unknown as { counters: { snapshotsInstalled: number }; snapshotIndex: number };
  t.log(`restarted ${first.id}: applied ${applied} >= ${target}; snapshots installed ${back.counters.snapshotsInstalled}, snapshot index ${back.snapshotIndex}`);
  for (const [key, value] of finalValues) {
    const res = await kv.get(cluster.http(first.id), key);
    t.true(res.ok && res.value.value === value, `restarted node reads ${key}: ${JSON.stringify(res)}`);
  }
}

test.serial('3 processes: SIGKILL the leader under load; no acknowledged write lost, history linearizable, restart catches up', async (t) => {
  await killLeaderScenario(t, 3, 6, 0x5eed0003);
});

test.serial('5 processes: SIGKILL the leader under load; no acknowledged write lost, history linearizable, restart catches up', async (t) => {
  await killLeaderScenario(t, 5, 8, 0x5eed0005);
});

test.serial('SIGTERM closes a node cleanly; without a quorum requests fail with 503 in bounded time; restart restores service', async (t) => {
  t.true(existsSync(mainPath), 'dist/src/agent/raft-kv-main.js is missing: run `npm run build` first');
  if (!existsSync(mainPath)) return;
  const cluster = await LocalRaftCluster.start({ size: 3, mainPath });
  const kv = new RaftKvClient({ timeoutMs: 10_000 });
  t.teardown(async () => {
    kv.close();
    await cluster.close();
  });
  const leader = await cluster.waitForLeader(10_000);
  t.true((await kv.put(cluster.http(leader.id), 'before', '1')).ok);
  // Busy keep-alive clients do not hold the process open.
  let loading = true;
  const load = Array.from({ length: 4 }, async (_, i) => {
    for (let n = 0; loading; n++) {
      const r = await kv.put(cluster.http(leader.id), `load-${i}`, String(n));
      if (!r.ok && r.outcome === 'not-applied' && r.code === 'ERR_ECONNREFUSED') return;
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  const termStarted = Date.now();
  t.is(await cluster.kill(leader.id, 'SIGTERM'), 0, 'SIGTERM exits with code 0');
  t.true(Date.now() - termStarted < 3000, 'and promptly');
  loading = false;
  await Promise.all(load);
  t.true(
    cluster.stderr.get(leader.id)!.some((l) => l.endsWith(`${leader.id} closed (leadership handed off)`)),
    `the leader handed off before exiting: ${cluster.stderr.get(leader.id)!.join(' / ')}`,
  );
  const second = await cluster.waitForLeader(10_000, leader.id);
  t.true(second.term > leader.term);
  t.is(await cluster.kill(second.id, 'SIGTERM'), 0);
  const alone = cluster.running()[0];
  for (const call of [
    () => kv.put(cluster.http(alone), 'during', 'x'),
    () => kv.get(cluster.http(alone), 'before'),
    () => kv.cas(cluster.http(alone), 'before', '1', '2'),
  ]) {
    const started = Date.now();
    const res = await call();
    const tookMs = Date.now() - started;
    t.false(res.ok, 'nothing succeeds without a quorum');
    if (!res.ok) {
      t.is(res.status, 503, JSON.stringify(res));
      t.true(res.code.startsWith('ERR_'), res.code);
    }
    t.true(tookMs < 4000, `failed within bounded time (${tookMs} ms)`);
  }
  await Promise.all([cluster.startNode(leader.id), cluster.startNode(second.id)]);
  const third = await cluster.waitForLeader(10_000);
  const res = await kv.get(cluster.http(third.id), 'before');
  t.true(res.ok && res.value.value === '1', JSON.stringify(res));
  t.true((await kv.put(cluster.http(alone), 'after', '2')).ok, 'writes work again, through any node');
});

test.serial('SIGKILL every node under load, restart them all: every acknowledged write survived on disk', async (t) => {
  t.true(existsSync(mainPath), 'dist/src/agent/raft-kv-main.js is missing: run `npm run build` first');
  if (!existsSync(mainPath)) return;
  const cluster = await LocalRaftCluster.start({ size: 3, mainPath, nodeArgs: ['--snapshot-every', '150'] });
  const kv = new RaftKvClient({ timeoutMs: 4000, maxSockets: 8 });
  t.teardown(async () => {
    kv.close();
    await cluster.close();
  });
  await cluster.waitForLeader(10_000);
  const acked = new Map<string, string>();
  let writing = true;
  const writers = Array.from({ length: 6 }, async (_, i) => {
    for (let n = 0; writing; n++) {
      const nodes = cluster.running();
      if (nodes.length === 0) return;
      const key = `w${i}-${n}`;
      const res = await kv.put(cluster.http(nodes[n % nodes.length]), key, `v${n}`);
      if (res.ok) acked.set(key, `v${n}`);
    }
  });
  await new Promise((r) => setTimeout(r, 1500));
  await Promise.all(cluster.ids.map((id) => cluster.kill(id, 'SIGKILL')));
  writing = false;
  await Promise.all(writers);
  t.true(acked.size > 50, `writes acknowledged before the crash (${acked.size})`);
  await Promise.all(cluster.ids.map((id) => cluster.startNode(id)));
  const leader = await cluster.waitForLeader(10_000);
  let missing = 0;
  for (const [key, value] of acked) {
    const res = await kv.get(cluster.http(leader.id), key);
    if (!(res.ok && res.value.value === value)) missing++;
  }
  t.is(missing, 0, `${missing} of ${acked.size} acknowledged writes lost`);
});
