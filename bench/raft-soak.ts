/**
 * Soak: many seeded Raft simulations with faults, every run checked (election
 * safety, state machine safety, log matching, convergence, no lost write,
 * linearizability). Prints each failure with its replay command, then a summary.
 *
 *   npx tsx bench/raft-soak.ts --seeds 500 [--first 1] [--duration 8000] [--verbose]
 *   npx tsx bench/raft-soak.ts --seed 12345   # replay one run
 */
import { parseArgs } from 'node:util';
import { runRaftSim, type RaftSimReport } from '../src/sim/raft-run.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    first: { type: 'string', default: '1' },
    seed: { type: 'string' },
    duration: { type: 'string', default: '8000' },
    gap: { type: 'string', default: '400' },
    nodes: { type: 'string', default: '5' },
    verbose: { type: 'boolean', default: false },
  },
});
const seeds =
  values.seed !== undefined
    ? [Number(values.seed)]
    : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.first) + i);

const failures: RaftSimReport[] = [];
let ops = 0;
let unknown = 0;
let snapshots = 0;
let crashes = 0;
const started = Date.now();
for (const seed of seeds) {
  const r = runRaftSim({ seed, durationMs: Number(values.duration), faultMeanGapMs: Number(values.gap), nodes: Number(values.nodes) });
  ops += r.ops;
  snapshots += r.snapshotsRestored;
  crashes += r.crashes;
  if (r.linearizability === 'unknown') unknown++;
  if (values.verbose) console.log(JSON.stringify({ ...r, explanation: undefined }));
  if (!r.ok) {
    failures.push(r);
    console.log(`FAIL seed=${seed}: ${r.failures.join('; ')}`);
    if (r.explanation !== undefined) console.log(r.explanation);
    console.log(`  replay: npx tsx bench/raft-soak.ts --seed ${seed} --duration ${values.duration} --gap ${values.gap} --verbose`);
  }
}
console.log(
  JSON.stringify({
    bench: 'raft-soak',
    seeds: seeds.length,
    failed: failures.length,
    failedSeeds: failures.map((f) => f.seed),
    linearizabilityUnknown: unknown,
    ops,
    crashes,
    snapshotsInstalled: snapshots,
    wallMs: Date.now() - started,
  }),
);
process.exitCode = failures.length === 0 ? 0 : 1;
