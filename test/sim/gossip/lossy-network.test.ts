import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { cluster, collect, formCluster, summary } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test);

/**
 * 10% packet loss on every link (each direction, independently) for 10
 * virtual minutes, 64 members: a direct probe fails 19% of the time, but
 * three indirect paths and the TCP fallback (streams are not lossy) rescue
 * nearly all of them, and a rare suspicion is refuted long before its
 * timeout. No alive member may be declared dead.
 */
simTest('10% packet loss for 10 minutes declares no alive member dead', [21, 22], (t, seed) => {
  const n = 64;
  const c = cluster(seed);
  formCluster(c, n);
  const failed = collect(c, (e) => e.type === 'member-failed');
  const suspected = collect(c, (e) => e.type === 'member-suspect');
  c.network.setDefaultLink({ lossPercent: 10 });
  c.runFor(10 * 60_000);
  t.deepEqual(failed.map((e) => `${e.atMs}: ${e.observer} -> ${e.subject}`), [], summary(c));
  t.is(c.liveNodeCount, n);
  t.true(c.network.totals.dropped.loss > 0, 'the loss was applied');
  // Heal the loss; every member is seen alive by all (suspicions were refuted).
  c.network.setDefaultLink({ lossPercent: 0 });
  t.true(c.runUntil(() => c.converged(), 30_000, { checkEveryMs: 100 }), `not converged after the loss: ${summary(c)}`);
  t.log(`suspicions raised: ${suspected.length}, packets lost: ${c.network.totals.dropped.loss}`);
});
