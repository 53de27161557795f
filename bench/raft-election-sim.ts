/**
 * Time to elect a new leader after the leader crashes, over many simulated
 * trials, as in figure 16 of the Raft paper: 5 servers, 150-300 ms randomized
 * election timeouts (10 ms ticks, electionTicks 15), LAN latency.
 *
 *   npx tsx bench/raft-election-sim.ts [--trials 1000] [--seed 1] [--no-prevote]
 *
 * Prints {"bench":"raft-election","mode":"sim","trials":..,"p50Ms":..,"p99Ms":..,"maxMs":..}.
 */
import { parseArgs } from 'node:util';
import { RaftCluster } from '../src/sim/raft-cluster.js';
import { nodeNames } from '../src/sim/raft-run.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    nodes: { type: 'string', default: '5' },
    'no-prevote': { type: 'boolean', default: false },
  },
});
const trials = Number(values.trials);
const baseSeed = Number(values.seed);
const ids = nodeNames(Number(values.nodes));
/** Give up on a trial after this much virtual time without a leader. */
const electionMaxMs = 30_000;

const times: number[] = [];
let failed = 0;
for (let i = 0; i < trials; i++) {
  const cluster = new RaftCluster({
    seed: baseSeed + i,
    nodeIds: ids,
    conf: { voters: ids, learners: [] },
    raft: { electionTicks: 15, heartbeatTicks: 1, preVote: !values['no-prevote'] },
    host: { tickMs: 10 },
  });
  cluster.start();
  if (!cluster.scheduler.runUntilCondition(() => cluster.leader() !== undefined, electionMaxMs)) {
    failed++;
    continue;
  }
  // Crash at a random phase of the heartbeat cycle, after followers settled.
  cluster.scheduler.runFor(500 + cluster.rng.next() * 500);
  const old = cluster.leader();
  if (old === undefined) {
    failed++;
    continue;
  }
  const oldTerm = old.status().term;
  const crashMs = cluster.nowMs;
  cluster.crash(old.id);
  const elected = cluster.scheduler.runUntilCondition(() => {
    const l = cluster.leader();
    return l !== undefined && l.status().term > oldTerm;
  }, electionMaxMs);
  if (!elected) {
    failed++;
    continue;
  }
  times.push(cluster.nowMs - crashMs);
}
times.sort((a, b) => a - b);
const pct = (p: number) => (times.length === 0 ? NaN : times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]);
const round = (x: number) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    bench: 'raft-election',
    mode: 'sim',
    trials: times.length,
    failed,
    nodes: ids.length,
    electionTimeoutMs: '150-300',
    preVote: !values['no-prevote'],
    minMs: round(times[0]),
    p50Ms: round(pct(50)),
    p90Ms: round(pct(90)),
    p99Ms: round(pct(99)),
    maxMs: round(times[times.length - 1]),
  }),
);
