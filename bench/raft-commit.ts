/**
 * Raft commit throughput and latency through real `shoal agent` processes: a
 * 3-voter cluster on loopback (test/support/control-cluster.ts), real TCP
 * between the agents, real fsync; closed-loop keep-alive HTTP clients PUT
 * 16-byte keys and 100-byte values through one agent's config API, the
 * leader's or a follower's (it forwards to the leader). An acknowledged PUT
 * is committed by a quorum and applied. Run `npm run build` first.
 *
 *   npx tsx bench/raft-commit.ts [--duration 5] [--clients 1,16,64] [--target leader|follower]
 *
 * One JSON line per client count:
 *   {"bench":"raft-commit","voters":3,"clients":N,"opsPerSec":..,"p50Ms":..,"p99Ms":..,"failed":..,"target":..,...}
 * with where the time goes: the HTTP round trip alone (GET /v1/health at the
 * same concurrency), and the WAL fdatasyncs per second and records (entries,
 * hard states) per fdatasync on the leader and a follower, from the `storage`
 * metrics of GET /v1/raft/status (absent if the agent does not report them).
 */
import { parseArgs } from 'node:util';
import type { RaftStatusView } from '../src/api/config-types.js';
import type { RaftStorageMetrics } from '../src/storage/raft-storage.js';
import { benchPut, builtAgentBin, closedLoop, raftStatuses, request, startBenchCluster } from './config-put.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    clients: { type: 'string', default: '1,16,64' },
    target: { type: 'string', default: 'leader' },
  },
});
const durationMs = Number(values.duration) * 1000;
const clientCounts = values.clients.split(',').map(Number);
if (values.target !== 'leader' && values.target !== 'follower') {
  console.error(`raft-commit: --target must be leader or follower, got ${values.target}`);
  process.exit(2);
}
/** The HTTP-only baseline runs this long at most. */
const baselineMsMax = 1500;

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

function storageOf(s: RaftStatusView | undefined): RaftStorageMetrics | undefined {
  const m = s?.storage as Partial<RaftStorageMetrics> | undefined;
  return typeof m?.fsyncs === 'number' && typeof m.records === 'number' ? (m as RaftStorageMetrics) : undefined;
}

/** WAL activity between two status readings; undefined when either reading lacks storage metrics. */
function walDelta(before: RaftStatusView | undefined, after: RaftStatusView | undefined, seconds: number) {
  const b = storageOf(before);
  const a = storageOf(after);
  if (a === undefined || b === undefined) return undefined;
  const fsyncs = a.fsyncs - b.fsyncs;
  return {
    fsyncsPerSec: Math.round(fsyncs / seconds),
    recordsPerFsync: fsyncs === 0 ? 0 : r3((a.records - b.records) / fsyncs),
  };
}

const { cluster, leader, follower } = await startBenchCluster(builtAgentBin());
process.on('SIGINT', () => void cluster.stopAll().finally(() => process.exit(130)));
try {
  const target = values.target === 'follower' ? follower : leader;
  const at = cluster.node(target).http;
  for (const clients of clientCounts) {
    // Baseline: the HTTP round trip without Raft, at the same concurrency.
    const http = await closedLoop(clients, Math.min(durationMs, baselineMsMax), (agent) => request(agent, at, 'GET', '/v1/health'));
    const before = await raftStatuses(cluster, [leader, follower]);
    const t0 = performance.now();
    const put = await benchPut(cluster, target, clients, durationMs);
    // The WAL figures are rates over benchPut's whole run, its warm-up at the same load included.
    const seconds = (performance.now() - t0) / 1000;
    const after = await raftStatuses(cluster, [leader, follower]);
    console.log(
      JSON.stringify({
        ...put,
        bench: 'raft-commit',
        target: values.target,
        httpOnlyOpsPerSec: Math.round((http.ok / http.elapsedMs) * 1000),
        httpOnlyP50Ms: r3(percentile(http.latenciesMs, 50)),
        leader: walDelta(before[0], after[0], seconds),
        follower: walDelta(before[1], after[1], seconds),
      }),
    );
  }
} finally {
  await cluster.stopAll();
}
