import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { runRaftSim } from '../../../src/sim/raft-run.js';

const simTest = makeSimTest<ExecutionContext>(test);

/**
 * Random fault schedules (partitions, one-way cuts, loss, duplication,
 * reordering, delay, crashes with unsynced writes, pauses, slow followers
 * forced onto InstallSnapshot, leadership transfers, membership changes racing
 * leader changes), each run checked for election safety, state machine
 * safety, log matching, convergence, no lost write and linearizability.
 * SHOAL_SEEDS=K runs more; bench/raft-soak.ts runs hundreds.
 */
simTest('raft keeps its guarantees under random faults', Array.from({ length: 20 }, (_, i) => i + 1), (t, seed) => {
  const r = runRaftSim({ seed });
  const { explanation, failures, ...summary } = r;
  t.log(JSON.stringify(summary));
  if (explanation !== undefined) t.log(explanation);
  t.deepEqual(failures, []);
  t.true(r.opsOk > 50, `only ${r.opsOk} operations succeeded`);
  t.not(r.linearizability, 'illegal');
  // The 20 s budget is far above what these histories need: running out of it would hide a broken checker.
  t.is(r.linearizability, 'ok');
});

simTest('a 3-server raft keeps its guarantees under random faults', [101, 102, 103, 104, 105], (t, seed) => {
  const r = runRaftSim({ seed, nodes: 3 });
  const { explanation, failures, ...summary } = r;
  t.log(JSON.stringify(summary));
  if (explanation !== undefined) t.log(explanation);
  t.deepEqual(failures, []);
  t.not(r.linearizability, 'illegal');
  // The 20 s budget is far above what these histories need: running out of it would hide a broken checker.
  t.is(r.linearizability, 'ok');
});
