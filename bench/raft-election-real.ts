/**
 * Leader failover with real processes: SIGKILL the leader of a loopback
 * cluster (dist/src/agent/raft-kv-main.js) many times and time until a new
 * leader answers a write. Run `npm run build` first.
 *
 *   npx tsx bench/raft-election-real.ts [--trials 20] [--voters 3] [--tick-ms 10] [--election-ticks 15]
 *
 * Per trial: wait for a settled leader, idle a random 200-700 ms (a random
 * phase of the heartbeat cycle), SIGKILL it, then poll the survivors' /status
 * every 5 ms for a leader of a higher term and PUT through it; the clock stops
 * when that write is acknowledged. The killed node is restarted before the
 * next trial. Prints
 *   {"bench":"raft-election","mode":"real","trials":..,"p50Ms":..,"p99Ms":..,"maxMs":..,"electedP50Ms":..}
 * where p50/p99/max are kill -> first acknowledged write through the new
 * leader, and electedP50Ms is kill -> a survivor reports itself leader.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalRaftCluster, type NodeStatusView } from '../src/agent/raft-kv-cluster.js';
import { RaftKvClient } from '../src/agent/raft-kv-client.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    voters: { type: 'string', default: '3' },
    'tick-ms': { type: 'string', default: '10' },
    'election-ticks': { type: 'string', default: '15' },
  },
});
const trials = Number(values.trials);
const voters = Number(values.voters);
const pollMs = 5;
const trialTimeoutMs = 10_000;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mainPath = join(root, 'dist/src/agent/raft-kv-main.js');
if (!existsSync(mainPath)) {
  console.error(`${mainPath} is missing: run \`npm run build\` first`);
  process.exit(2);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number): number => Math.round(x * 10) / 10;

const cluster = await LocalRaftCluster.start({
  size: voters,
  mainPath,
  nodeArgs: ['--tick-ms', values['tick-ms'], '--election-ticks', values['election-ticks']],
});
const kv = new RaftKvClient({ timeoutMs: 3000 });
process.on('SIGINT', () => void cluster.close());

const answeredMs: number[] = [];
const electedMs: number[] = [];
let failed = 0;
try {
  for (let trial = 0; trial < trials; trial++) {
    const old = await cluster.waitForLeader(trialTimeoutMs);
    // Everyone caught up, so any survivor can win.
    const oldStatus = await cluster.status(old.id);
    const commit = oldStatus?.commit ?? 0;
    for (const id of cluster.running()) {
      while (((await cluster.status(id))?.applied ?? 0) < commit) await sleep(pollMs);
    }
    await sleep(200 + Math.random() * 500);
    const t0 = performance.now();
    await cluster.kill(old.id, 'SIGKILL');
    let elected: number | undefined;
    let answered: number | undefined;
    const survivors = cluster.running();
    while (answered === undefined && performance.now() - t0 < trialTimeoutMs) {
      const views = await Promise.all(survivors.map((id) => cluster.status(id)));
      const leader = views.find((v): v is NodeStatusView => v !== undefined && v.role === 'leader' && v.term > old.term);
      if (leader !== undefined) {
        elected ??= performance.now() - t0;
        const res = await kv.put(cluster.http(leader.id), 'failover', `trial-${trial}`);
        if (res.ok) answered = performance.now() - t0;
      }
      if (answered === undefined) await sleep(pollMs);
    }
    if (answered === undefined || elected === undefined) failed++;
    else {
      answeredMs.push(answered);
      electedMs.push(elected);
    }
    await cluster.startNode(old.id);
  }
} finally {
  kv.close();
  await cluster.close();
}
answeredMs.sort((a, b) => a - b);
electedMs.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    bench: 'raft-election',
    mode: 'real',
    voters,
    trials,
    failed,
    tickMs: Number(values['tick-ms']),
    electionTicks: Number(values['election-ticks']),
    p50Ms: r1(percentile(answeredMs, 50)),
    p99Ms: r1(percentile(answeredMs, 99)),
    maxMs: r1(answeredMs[answeredMs.length - 1]),
    electedP50Ms: r1(percentile(electedMs, 50)),
    electedMaxMs: r1(electedMs[electedMs.length - 1]),
  }),
);
