import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { cluster, formCluster, summary } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test);

/**
 * A 50/50 partition lasting until each half has declared every member of the
 * other half dead, then heal: the cluster becomes one membership again with
 * no join by hand. Healing comes from the core re-contacting recently dead
 * members (push-pull every reconnectIntervalMs = 30 s): a push-pull across the
 * healed cut tells each side that the other thinks it dead, they refute with
 * a higher incarnation and the Alives spread by gossip. Bound: two reconnect
 * intervals (one may just have been spent on a member across the cut) plus
 * 30 s of dissemination = 90 s.
 */
simTest('a 50/50 partition heals into one membership without re-joins', [41, 42], (t, seed) => {
  const n = 20;
  const c = cluster(seed, { roundTrip: true });
  const names = formCluster(c, n);
  const a = names.slice(0, n / 2);
  const b = names.slice(n / 2);
  c.partition(a, b);
  const split = () =>
    a.every((x) => c.countSeeing(x, 'dead') === b.length) && b.every((x) => c.countSeeing(x, 'dead') === a.length);
  t.true(c.runUntil(split, 120_000, { checkEveryMs: 100 }), `halves did not declare each other dead: ${summary(c)}`);
  const splitMs = c.nowMs;
  c.runFor(10_000);
  t.false(c.converged());
  c.heal();
  const healAtMs = c.nowMs;
  const boundMs = 2 * 30_000 + 30_000;
  t.true(c.runUntil(() => c.converged(), boundMs, { checkEveryMs: 100 }), `not one membership ${boundMs} ms after heal: ${summary(c)}`);
  t.deepEqual(c.checkViewAgainstCores(), []);
  t.log(`split after ${splitMs} ms, one membership ${c.nowMs - healAtMs} ms after the heal`);
});
