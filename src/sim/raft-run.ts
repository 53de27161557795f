/**
 * One seeded Raft simulation run: a cluster, clients, a fault schedule from the
 * seed; then heal, let clients finish, converge, and check everything:
 * Election Safety, State Machine Safety, Log Matching, convergence, no lost
 * acknowledged write, and linearizability of the whole client history.
 */
import { performance } from 'node:perf_hooks';
import type { NodeId } from '../raft/types.js';
import { History } from './history.js';
import { checkLinearizable, CheckResult } from './linearizability.js';
import { kvModel, type KvInput, type KvOutput } from './linearizability-kv.js';
import { awaitConvergence, checkConvergence, checkLogMatching, checkNoLostWrites } from './raft-checks.js';
import { kvWorkloadDefaults, SimKvClient, type KvWorkloadOptions } from './raft-clients.js';
import { RaftCluster, type RaftClusterOptions } from './raft-cluster.js';
import { generateFaultSchedule, RaftFaultInjector, type RaftFaultKind } from './raft-faults.js';

export interface RaftSimOptions {
  seed: number;
  nodes: number;
  /** Virtual time with clients and faults running. */
  durationMs: number;
  workload: Partial<KvWorkloadOptions>;
  /** Faults on, with this mean gap; 0 for a fault-free run. */
  faultMeanGapMs: number;
  faultKinds?: readonly RaftFaultKind[];
  /** After healing: time for clients to finish and the cluster to converge. */
  settleMs: number;
  linearizabilityTimeoutMs: number;
  cluster?: Partial<Omit<RaftClusterOptions, 'seed' | 'nodeIds' | 'conf'>>;
}

export const raftSimDefaults: Omit<RaftSimOptions, 'seed'> = {
  nodes: 5,
  durationMs: 8_000,
  workload: {},
  faultMeanGapMs: 400,
  settleMs: 10_000,
  linearizabilityTimeoutMs: 20_000,
};

export interface RaftSimReport {
  seed: number;
  ok: boolean;
  failures: string[];
  ops: number;
  opsOk: number;
  opsInfo: number;
  linearizability: CheckResult;
  linearizabilityMs: number;
  leaders: number;
  terms: number;
  crashes: number;
  /** Staged writes lost to crashes before their fsync, and how many of those left a torn prefix. */
  batchesLost: number;
  tornWrites: number;
  snapshotsRestored: number;
  faults: Partial<Record<RaftFaultKind, number>>;
  faultsSkipped: number;
  virtualMs: number;
  wallMs: number;
  /** A readable account of a linearizability failure. */
  explanation?: string;
}

export function nodeNames(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => `n${i + 1}`);
}

export function runRaftSim(partial: Partial<RaftSimOptions> & { seed: number }): RaftSimReport {
  const wallStart = performance.now();
  const o: RaftSimOptions = { ...raftSimDefaults, ...partial };
  const ids = nodeNames(o.nodes);
  const cluster = new RaftCluster({ ...o.cluster, seed: o.seed, nodeIds: ids, conf: { voters: ids, learners: [] } });
  const workload: KvWorkloadOptions = { ...kvWorkloadDefaults, ...o.workload };
  const history = new History<KvInput, KvOutput>();
  const clientRng = cluster.rng.fork();
  const faultRng = cluster.rng.fork();
  cluster.start();
  const clients = Array.from(
    { length: workload.clients },
    (_, i) => new SimKvClient(`c${i + 1}`, cluster, history, clientRng.fork(), workload),
  );
  const warmupMs = 500;
  for (const c of clients) cluster.scheduler.at(warmupMs, () => c.start(o.durationMs));
  const injector = new RaftFaultInjector(cluster, faultRng, o.cluster?.link);
  if (o.faultMeanGapMs > 0) {
    const kinds = o.faultKinds;
    injector.schedule(
      generateFaultSchedule(faultRng, { startMs: warmupMs, endMs: o.durationMs, meanGapMs: o.faultMeanGapMs, ...(kinds ? { kinds } : {}) }),
    );
  }
  cluster.scheduler.runUntil(o.durationMs);

  // Heal everything, let in-flight operations finish, then converge.
  injector.settle();
  const settleDeadlineMs = cluster.nowMs + o.settleMs;
  cluster.scheduler.runUntilCondition(() => clients.every((c) => c.idle), o.settleMs);
  for (const c of clients) c.abandon();
  const converged = awaitConvergence(cluster, Math.max(0, settleDeadlineMs - cluster.nowMs) + 2_000);

  const failures = [...cluster.violations, ...checkLogMatching(cluster)];
  if (!converged) failures.push('convergence: the healed cluster did not converge in time');
  failures.push(...checkConvergence(cluster));

  // Final reads of every key from the converged leader, as operations in the history.
  const lead = cluster.leader();
  const finalState = lead?.machine.entries() ?? new Map<string, string>();
  if (lead !== undefined) {
    const t = cluster.nowMs + 1;
    for (let k = 0; k < workload.keys; k++) {
      const key = `k${k}`;
      const id = history.invoke('final-reader', { op: 'get', key }, t);
      history.ok(id, { op: 'get', value: finalState.get(key) ?? null }, t + 1);
    }
  }
  const ops = history.forChecking();
  failures.push(...checkNoLostWrites(ops, finalState));
  const lin = checkLinearizable(kvModel, ops, { timeoutMs: o.linearizabilityTimeoutMs });
  if (lin.result === CheckResult.Illegal) failures.push(`linearizability: history is not linearizable`);

  const all = history.all();
  const faults: Partial<Record<RaftFaultKind, number>> = {};
  for (const [k, v] of injector.applied) faults[k] = v;
  const { snapshotsRestored } = cluster.totals();
  const report: RaftSimReport = {
    seed: o.seed,
    ok: failures.length === 0,
    failures,
    ops: all.length,
    opsOk: all.filter((op) => op.status === 'ok').length,
    opsInfo: all.filter((op) => op.status === 'info' || op.status === 'pending').length,
    linearizability: lin.result,
    linearizabilityMs: Math.round(lin.elapsedMs),
    leaders: cluster.stats.leaderChanges,
    terms: cluster.leaderByTerm.size,
    crashes: cluster.stats.crashes,
    batchesLost: sum(ids, (id) => cluster.storages.get(id)!.batchesLost),
    tornWrites: sum(ids, (id) => cluster.storages.get(id)!.tornWrites),
    snapshotsRestored,
    faults,
    faultsSkipped: injector.skipped,
    virtualMs: Math.round(cluster.nowMs),
    wallMs: Math.round(performance.now() - wallStart),
  };
  if (lin.explanation !== undefined) report.explanation = lin.explanation;
  return report;
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let n = 0;
  for (const item of items) n += f(item);
  return n;
}
