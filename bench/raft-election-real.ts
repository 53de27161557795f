/**
 * Leader failover with real `shoal agent` processes: SIGKILL the leader of a
 * 3-voter loopback cluster (test/support/control-cluster.ts) many times and
 * time until the survivors report a new leader on GET /v1/raft/status. The
 * agents run their default Raft timing (no flag changes it). Run
 * `npm run build` first.
 *
 *   npx tsx bench/raft-election-real.ts [--trials 20]
 *
 * Per trial: wait until every agent reports the same leader and has applied
 * its commit index (so any survivor can win), idle a random 200-700 ms (a
 * random phase of the heartbeat cycle), SIGKILL the leader, then poll the
 * survivors every 5 ms. The killed agent is restarted from its data dir
 * before the next trial. Prints
 *   {"bench":"raft-election","mode":"real","voters":3,"trials":..,"failed":..,"p50Ms":..,"p99Ms":..,"maxMs":..,"electedP50Ms":..,"electedMaxMs":..}
 * where p50/p99/max are kill -> every survivor names the same new leader, and
 * elected* are kill -> a survivor reports itself leader of a higher term.
 */
import { parseArgs } from 'node:util';
import { builtAgentBin, raftStatuses, startBenchCluster, waitForAgreedLeader } from './config-put.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
  },
});
const trials = Number(values.trials);
const pollMs = 5;
/** A trial without a new leader by then counts as failed (election timeouts are seconds at most). */
const trialTimeoutMs = 30_000;
/** Autopilot must not replace the killed voter between its kill and its restart. */
const extraArgs = ['--dead-voter-grace-ms', '600000'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number): number => Math.round(x * 10) / 10;

const { cluster } = await startBenchCluster(builtAgentBin(), extraArgs);
process.on('SIGINT', () => void cluster.stopAll().finally(() => process.exit(130)));

const agreedMs: number[] = [];
const electedMs: number[] = [];
let failed = 0;
try {
  for (let trial = 0; trial < trials; trial++) {
    const old = await waitForAgreedLeader(cluster, trialTimeoutMs, 50);
    if (old === undefined) throw new Error(`trial ${trial}: the cluster did not settle on one leader within ${trialTimeoutMs} ms`);
    // Everyone caught up, so any survivor can win.
    const settleBy = performance.now() + trialTimeoutMs;
    while (!(await raftStatuses(cluster)).every((s) => (s?.appliedIndex ?? 0) >= old.commitIndex)) {
      if (performance.now() > settleBy) throw new Error(`trial ${trial}: the agents did not apply index ${old.commitIndex} within ${trialTimeoutMs} ms`);
      await sleep(pollMs);
    }
    await sleep(200 + Math.random() * 500);
    const t0 = performance.now();
    await cluster.kill(old.leader, 'SIGKILL');
    const survivors = cluster.running().map((n) => n.name);
    let elected: number | undefined;
    let agreed: number | undefined;
    while (agreed === undefined && performance.now() - t0 < trialTimeoutMs) {
      const views = await raftStatuses(cluster, survivors);
      const now = performance.now() - t0;
      const leader = views.find((s) => s !== undefined && s.role === 'leader' && s.term > old.term);
      if (leader !== undefined) {
        elected ??= now;
        if (views.every((s) => s?.leader === leader.name)) agreed = now;
      }
      if (agreed === undefined) await sleep(pollMs);
    }
    if (agreed === undefined || elected === undefined) failed++;
    else {
      agreedMs.push(agreed);
      electedMs.push(elected);
    }
    cluster.spawn(cluster.node(old.leader));
  }
} finally {
  await cluster.stopAll();
}
agreedMs.sort((a, b) => a - b);
electedMs.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    bench: 'raft-election',
    mode: 'real',
    voters: 3,
    trials,
    failed,
    p50Ms: r1(percentile(agreedMs, 50)),
    p99Ms: r1(percentile(agreedMs, 99)),
    maxMs: r1(percentile(agreedMs, 100)),
    electedP50Ms: r1(percentile(electedMs, 50)),
    electedMaxMs: r1(percentile(electedMs, 100)),
  }),
);
