import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { leaveTimeoutMs } from '../../../src/sim/gossip-node.js';
import { cluster, collect, formCluster, summary } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test);

/**
 * A graceful leave is seen as `left` by every member, never as `dead`, and no
 * member-failed fires for it, neither while the Leave spreads nor later
 * (when the leaver has stopped answering probes).
 */
simTest('graceful leave is left everywhere, never dead', [51, 52, 53], (t, seed) => {
  const n = 30;
  const c = cluster(seed);
  const names = formCluster(c, n);
  const leaver = names[7];
  const about = collect(c, (e) => e.subject === leaver && e.observer !== leaver);
  const leaveAtMs = c.nowMs;
  c.leave(leaver);
  t.true(c.runUntil(() => c.allSee(leaver, 'left'), 10_000), `not left everywhere: ${c.countSeeing(leaver, 'left')}/${c.liveNodeCount} ${summary(c)}`);
  const leftEverywhereMs = c.nowMs;
  // The harness stops the leaver once its core says the Leave went out (leaveComplete), or at leaveTimeoutMs.
  t.true(c.runUntil(() => !c.isLive(leaver), leaveTimeoutMs + 1));
  const stoppedAfterMs = c.nowMs - leaveAtMs;
  t.true(stoppedAfterMs < leaveTimeoutMs, `leaveComplete() never became true (stopped by the timeout after ${stoppedAfterMs} ms)`);
  c.runFor(120_000);
  t.true(c.allSee(leaver, 'left'), 'still left everywhere two minutes later');
  t.deepEqual(about.filter((e) => e.type === 'member-failed' || e.state === 'dead').map((e) => `${e.atMs} ${e.observer} ${e.type} ${e.state}`), []);
  t.true(about.some((e) => e.type === 'member-leave'), 'member-leave events fired');
  t.true(c.converged(), 'the others still see each other alive');
  t.log(`left everywhere ${leftEverywhereMs - leaveAtMs} ms after the leave; the leaver stopped after ${stoppedAfterMs} ms`);
});
