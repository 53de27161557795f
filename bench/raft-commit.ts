/**
 * Raft commit throughput and latency with real processes: 3 voters
 * (dist/src/agent/raft-kv-main.js) on loopback, real TCP between them, real
 * fsync, keep-alive HTTP clients writing 16-byte keys and 100-byte values to
 * the leader. Run `npm run build` first.
 *
 *   npx tsx bench/raft-commit.ts [--duration 5] [--clients 1,16,64] [--voters 3] [--target leader|follower]
 *
 * One JSON line per client count:
 *   {"bench":"raft-commit","voters":3,"clients":N,"opsPerSec":..,"p50Ms":..,"p99Ms":..,...}
 * with where the time goes: the HTTP round trip alone (GET /health at the same
 * concurrency), the leader's fsyncs per second, entries per fsync (group
 * commit) and mean fsync time, and the followers' too.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalRaftCluster, type NodeStatusView } from '../src/agent/raft-kv-cluster.js';
import { RaftKvClient } from '../src/agent/raft-kv-client.js';
import type { HostPort } from '../src/util/address.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    clients: { type: 'string', default: '1,16,64' },
    voters: { type: 'string', default: '3' },
    target: { type: 'string', default: 'leader' },
    'warmup-ms': { type: 'string', default: '500' },
    'tick-ms': { type: 'string' },
  },
});
const durationMs = Number(values.duration) * 1000;
const clientCounts = values.clients.split(',').map(Number);
const voters = Number(values.voters);
const warmupMs = Number(values['warmup-ms']);
const keyBytes = 16;
const valueBytes = 100;
/** Distinct keys written (cycled): the store stays small; the log is what grows. */
const keySpace = 10_000;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mainPath = join(root, 'dist/src/agent/raft-kv-main.js');
if (!existsSync(mainPath)) {
  console.error(`${mainPath} is missing: run \`npm run build\` first`);
  process.exit(2);
}

const value = 'v'.repeat(valueBytes);
const keyOf = (i: number): string => `k${String(i % keySpace).padStart(keyBytes - 1, '0')}`;


const r3 = (x: number): number => Math.round(x * 1000) / 1000;

interface LoopResult {
  latenciesMs: number[];
  errors: number;
  elapsedMs: number;
}

/** `clients` concurrent loops, each one request at a time, for durationMs after a warmup. */
async function closedLoop(clients: number, ms: number, op: (i: number) => Promise<boolean>): Promise<LoopResult> {
  const latenciesMs: number[] = [];
  let errors = 0;
  let counter = 0;
  const warmEnd = performance.now() + warmupMs;
  const end = warmEnd + ms;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const t0 = performance.now();
        if (t0 >= end) return;
        const ok = await op(counter++);
        const t1 = performance.now();
        if (t0 < warmEnd) continue;
        if (ok) latenciesMs.push(t1 - t0);
        else errors++;
      }
    }),
  );
  return { latenciesMs, errors, elapsedMs: ms };
}

function profileDelta(before: NodeStatusView | undefined, after: NodeStatusView | undefined, seconds: number) {
  const b = before?.profile ?? {};
  const a = after?.profile ?? {};
  const d = (k: string): number => (a[k] ?? 0) - (b[k] ?? 0);
  const persists = d('persists');
  return {
    fsyncsPerSec: Math.round(persists / seconds),
    entriesPerFsync: persists === 0 ? 0 : r3(d('entriesPersisted') / persists),
    fsyncMsMean: persists === 0 ? 0 : r3(d('persistMsTotal') / persists),
    /** Share of wall time the node's Ready loop spent waiting for fsync. */
    fsyncBusyShare: r3(d('persistMsTotal') / (seconds * 1000)),
    sendMsPerSec: r3(d('sendMsTotal') / seconds),
    applyMsPerSec: r3(d('applyMsTotal') / seconds),
  };
}

const cluster = await LocalRaftCluster.start({
  size: voters,
  mainPath,
  nodeArgs: values['tick-ms'] === undefined ? [] : ['--tick-ms', values['tick-ms']],
});
const stopAll = (): void => {
  void cluster.close();
};
process.on('SIGINT', stopAll);
try {
  const leader = await cluster.waitForLeader(10_000);
  const follower = cluster.ids.find((id) => id !== leader.id)!;
  const target: HostPort = cluster.http(values.target === 'follower' ? follower : leader.id);
  for (const clients of clientCounts) {
    const kv = new RaftKvClient({ maxSockets: clients, timeoutMs: 10_000 });
    // Baseline: the HTTP round trip without Raft, at the same concurrency.
    const http = await closedLoop(clients, Math.min(durationMs, 1500), async () => (await kv.health(target)).ok);
    const before = await Promise.all([cluster.status(leader.id), cluster.status(follower)]);
    const run = await closedLoop(clients, durationMs, async (i) => (await kv.put(target, keyOf(i), value)).ok);
    const after = await Promise.all([cluster.status(leader.id), cluster.status(follower)]);
    kv.close();
    const seconds = run.elapsedMs / 1000;
    const lat = run.latenciesMs.sort((x, y) => x - y);
    const httpLat = http.latenciesMs.sort((x, y) => x - y);
    console.log(
      JSON.stringify({
        bench: 'raft-commit',
        voters,
        clients,
        target: values.target,
        durationS: seconds,
        opsPerSec: Math.round(lat.length / seconds),
        p50Ms: r3(percentile(lat, 50)),
        p99Ms: r3(percentile(lat, 99)),
        errors: run.errors,
        httpOnlyP50Ms: r3(percentile(httpLat, 50)),
        httpOnlyOpsPerSec: Math.round(httpLat.length / (http.elapsedMs / 1000)),
        leader: profileDelta(before[0], after[0], seconds),
        follower: profileDelta(before[1], after[1], seconds),
      }),
    );
  }
} finally {
  await cluster.close();
}
