import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { History } from '../../../src/sim/history.js';
import type { KvInput, KvOutput } from '../../../src/sim/linearizability-kv.js';
import { awaitConvergence, checkConvergence } from '../../../src/sim/raft-checks.js';
import { kvWorkloadDefaults, SimKvClient } from '../../../src/sim/raft-clients.js';
import { RaftCluster } from '../../../src/sim/raft-cluster.js';
import { RaftFaultKind } from '../../../src/sim/raft-faults.js';
import { nodeNames, runRaftSim } from '../../../src/sim/raft-run.js';
import { ConfChangeType } from '../../../src/raft/types.js';

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
  t.true(r.batchesLost >= 1, 'some crash landed between a write and its fsync');
});

test('negative control: disks that forget fsynced writes are caught by the checks', (t) => {
  // With honest disks a power loss of the whole cluster loses nothing; with lying ones it must be noticed.
  const caught: string[] = [];
  for (const seed of [51, 52, 53, 54]) {
    const r = runRaftSim({
      seed,
      nodes: 3,
      durationMs: 3_000,
      faultMeanGapMs: 120,
      faultKinds: [RaftFaultKind.CrashLeader, RaftFaultKind.PowerLoss],
      cluster: { lyingDisks: true },
    });
    if (!r.ok) caught.push(`seed ${seed}: ${r.failures[0]}`);
    if (caught.length >= 1) break;
  }
  t.log(caught.join('\n'));
  t.true(caught.length >= 1, 'a broken disk must not pass every check');
});

simTest('a whole-cluster power loss loses nothing that was fsynced', [61, 62], (t, seed) => {
  const r = runRaftSim({
    seed,
    nodes: 3,
    durationMs: 3_000,
    faultMeanGapMs: 120,
    faultKinds: [RaftFaultKind.CrashLeader, RaftFaultKind.PowerLoss],
  });
  t.log(JSON.stringify({ ...r, explanation: undefined }));
  t.deepEqual(r.failures, []);
  t.true((r.faults['power-loss'] ?? 0) >= 2);
});

test('negative control: reads served without ReadIndex are caught as not linearizable', (t) => {
  let caught: string | undefined;
  for (const seed of [71, 72, 73]) {
    const r = runRaftSim({
      seed,
      durationMs: 3_000,
      faultMeanGapMs: 200,
      faultKinds: [RaftFaultKind.IsolateLeader, RaftFaultKind.PartitionRandom, RaftFaultKind.Delay],
      cluster: { staleReads: true },
    });
    if (r.linearizability === 'illegal') {
      caught = r.explanation;
      break;
    }
  }
  t.log(caught);
  t.truthy(caught, 'stale reads must make some history non-linearizable');
  t.regex(caught ?? '', /get\(k\d\)/);
});

test('a seed replays exactly', (t) => {
  const strip = ({ wallMs, linearizabilityMs, ...rest }: ReturnType<typeof runRaftSim>) => {
    void wallMs;
    void linearizabilityMs;
    return rest;
  };
  const a = strip(runRaftSim({ seed: 81, durationMs: 3_000 }));
  const b = strip(runRaftSim({ seed: 81, durationMs: 3_000 }));
  t.deepEqual(a, b);
  t.true(a.ops > 100 && Object.keys(a.faults).length >= 3, JSON.stringify(a));
});

const leaseFaults = [RaftFaultKind.IsolateLeader, RaftFaultKind.SlowFollower, RaftFaultKind.Delay, RaftFaultKind.CrashLeader];

simTest('lease-based reads stay linearizable when clocks tick at the same rate', [91, 92], (t, seed) => {
  const r = runRaftSim({ seed, durationMs: 4_000, faultMeanGapMs: 200, faultKinds: leaseFaults, cluster: { raft: { readOnlyOption: 'lease-based' } } });
  t.deepEqual(r.failures, []);
});

test('lease-based reads are not linearizable across a paused leader (the known lease hazard)', (t) => {
  // A paused leader's ticks are held, so after resuming it trusts a lease that ran out long ago.
  let caught = false;
  for (const seed of [1, 2, 4]) {
    const r = runRaftSim({
      seed,
      durationMs: 6_000,
      faultMeanGapMs: 200,
      faultKinds: [RaftFaultKind.Pause, ...leaseFaults],
      cluster: { raft: { readOnlyOption: 'lease-based' } },
    });
    if (r.linearizability === 'illegal') {
      caught = true;
      break;
    }
  }
  t.true(caught, 'the checker must see stale lease reads');
});

simTest('a removed server re-added as a learner after the last compaction catches up', [111, 112], (t, seed) => {
  // The leader's newest snapshot predates the AddLearner entry, so that snapshot's
  // membership does not list the learner: the leader must still get it across.
  const c = newCluster(seed, { host: { snapshotEveryEntries: 20 } });
  t.true(c.scheduler.runUntilCondition(() => c.leader() !== undefined, 2_000));
  c.scheduler.runFor(300); // the leader's no-op commits: membership changes are allowed from then on
  const leader = c.leader()!;
  const victim = ids.find((id) => id !== leader.id)!;
  leader.act((n) => n.proposeConfChange({ type: ConfChangeType.RemoveNode, node: victim }));
  t.true(c.scheduler.runUntilCondition(() => !leader.status().voters.includes(victim), 1_000), 'removed');
  const history = new History<KvInput, KvOutput>();
  const clients = [1, 2].map((i) => new SimKvClient(`c${i}`, c, history, c.rng.fork(), kvWorkloadDefaults));
  for (const client of clients) client.start(c.nowMs + 1_000);
  c.scheduler.runFor(1_000);
  t.true(c.scheduler.runUntilCondition(() => clients.every((x) => x.idle), 3_000));
  t.true(leader.snapshotIndex > c.host(victim)!.appliedIndex, 'the leader compacted past the removed server');
  leader.act((n) => n.proposeConfChange({ type: ConfChangeType.AddLearner, node: victim }));
  t.true(c.scheduler.runUntilCondition(() => leader.status().learners.includes(victim), 1_000), 'added as learner');
  t.true(awaitConvergence(c, 5_000), `learner stuck: ${JSON.stringify(leader.status().progress[victim])}`);
  t.deepEqual(checkConvergence(c), []);
});
