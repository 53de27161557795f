import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { History } from '../../../src/sim/history.js';
import type { KvInput, KvOutput } from '../../../src/sim/linearizability-kv.js';
import { awaitConvergence, checkConvergence } from '../../../src/sim/raft-checks.js';
import { kvWorkloadDefaults, SimKvClient } from '../../../src/sim/raft-clients.js';
import { RaftCluster } from '../../../src/sim/raft-cluster.js';
import { RaftFaultKind } from '../../../src/sim/raft-faults.js';
import { nodeNames, runRaftSim } from '../../../src/sim/raft-run.js';

const simTest = makeSimTest<ExecutionContext>(test);
const ids = nodeNames(5);

function newCluster(seed: number, extra: Partial<ConstructorParameters<typeof RaftCluster>[0]> = {}): RaftCluster {
  const c = new RaftCluster({ seed, nodeIds: ids, conf: { voters: ids, learners: [] }, ...extra });
  c.start();
  return c;
}

simTest('a fault-free cluster serves every operation and converges', [11, 12], (t, seed) => {
  const r = runRaftSim({ seed, durationMs: 3_000, faultMeanGapMs: 0 });
  t.deepEqual(r.failures, []);
  t.is(r.opsInfo, 0, 'no operation should time out without faults');
  t.true(r.opsOk > 200, `${r.opsOk} ops`);
  t.is(r.linearizability, 'ok');
  t.is(r.terms, 1, 'one election, then a stable leader');
});

simTest('after the leader crashes a new one is elected within a few election timeouts', [21, 22, 23], (t, seed) => {
  const c = newCluster(seed);
  t.true(c.scheduler.runUntilCondition(() => c.leader() !== undefined, 2_000), 'first election');
  c.scheduler.runFor(300);
  const old = c.leader()!;
  const oldTerm = old.status().term;
  c.crash(old.id);
  const crashMs = c.nowMs;
  t.true(c.scheduler.runUntilCondition(() => (c.leader()?.status().term ?? 0) > oldTerm, 2_000));
  t.log(`re-elected in ${(c.nowMs - crashMs).toFixed(0)} ms`);
  t.true(c.nowMs - crashMs < 1_000);
  c.restart(old.id);
  t.true(awaitConvergence(c, 3_000));
  t.deepEqual(checkConvergence(c), []);
  t.deepEqual(c.violations, []);
});

simTest('a follower cut off past compaction catches up by InstallSnapshot', [31, 32], (t, seed) => {
  const c = newCluster(seed, { host: { snapshotEveryEntries: 20 } });
  t.true(c.scheduler.runUntilCondition(() => c.leader() !== undefined, 2_000));
  const history = new History<KvInput, KvOutput>();
  const lagger = ids.find((id) => id !== c.leader()!.id)!;
  c.network.isolate(lagger);
  const clients = [1, 2, 3].map((i) => new SimKvClient(`c${i}`, c, history, c.rng.fork(), kvWorkloadDefaults));
  for (const client of clients) client.start(c.nowMs + 2_000);
  c.scheduler.runFor(2_000);
  t.true((c.leader()?.snapshotIndex ?? 0) > c.host(lagger)!.appliedIndex, 'the leader compacted past the lagger');
  c.network.heal();
  t.true(c.scheduler.runUntilCondition(() => clients.every((x) => x.idle), 3_000));
  t.true(awaitConvergence(c, 5_000), 'converged after healing');
  t.true(c.host(lagger)!.counters.snapshotsRestored >= 1, 'the lagger installed a snapshot');
  t.deepEqual(checkConvergence(c), []);
  t.deepEqual(c.violations, []);
});

simTest('crashes between write and fsync lose the batch, and nothing acknowledged is lost', [41, 42], (t, seed) => {
  const r = runRaftSim({
    seed,
    durationMs: 5_000,
    faultMeanGapMs: 250,
    faultKinds: [RaftFaultKind.CrashRestart, RaftFaultKind.CrashLeader],
    cluster: { host: { persistLatencyMinMs: 5, persistLatencyMaxMs: 20 }, tornWritePercent: 50 },
  });
  t.log(JSON.stringify({ ...r, explanation: undefined }));
  t.deepEqual(r.failures, []);
  t.true(r.crashes >= 5);
});

test('negative control: disks that forget fsynced writes are caught by the checks', (t) => {
  const caught: number[] = [];
  for (const seed of [51, 52, 53, 54, 55, 56]) {
    const r = runRaftSim({
      seed,
      durationMs: 4_000,
      faultMeanGapMs: 150,
      faultKinds: [RaftFaultKind.CrashLeader, RaftFaultKind.CrashRestart, RaftFaultKind.IsolateLeader],
      cluster: { lyingDisks: true },
    });
    if (!r.ok) caught.push(seed);
    if (caught.length >= 2) break;
  }
  t.log(`caught with seeds ${caught.join(', ')}`);
  t.true(caught.length >= 1, 'a broken disk must not pass every check');
});
