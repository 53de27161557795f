import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { cluster, collect, formCluster, summary } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test);

/**
 * Lifeguard: a member paused like a long GC (4 s) and a member that is slow
 * (everything it receives and every timer it runs comes 1.5 s late, more than
 * the whole probe interval) must not get healthy members declared dead. The
 * slow member's probes and answers are late, so it is suspected again and
 * again and refutes; each refutation raises its own awareness (local health),
 * which stretches its probe interval and timeout. (The slow member itself may
 * now and then be declared dead by one member that missed its refutation; it
 * must be back alive everywhere once it is fast again.)
 */
simTest('a paused member and a slow member do not get healthy members declared dead', [31, 32], (t, seed) => {
  const n = 32;
  const c = cluster(seed);
  const names = formCluster(c, n);
  const paused = names[5];
  const slow = names[9];
  const failed = collect(c, (e) => e.type === 'member-failed');
  const suspectedByNode = new Map<string, number>();
  c.log.onEvent((e) => {
    if (e.type === 'member-suspect') suspectedByNode.set(e.subject, (suspectedByNode.get(e.subject) ?? 0) + 1);
  });

  t.is(c.healthOf(slow), 0, 'healthy before');
  c.setSlow(slow, 1_500);
  c.runFor(10_000);
  c.pause(paused);
  c.runFor(4_000);
  c.resume(paused);

  let maxSlowHealth = 0;
  let maxHealthyHealth = 0;
  const healthy = names.filter((x) => x !== slow && x !== paused);
  for (let i = 0; i < 120; i++) {
    c.runFor(500);
    maxSlowHealth = Math.max(maxSlowHealth, c.healthOf(slow));
    for (const h of healthy) maxHealthyHealth = Math.max(maxHealthyHealth, c.healthOf(h));
  }
  const healthySet = new Set(healthy);
  t.deepEqual(
    failed.filter((e) => healthySet.has(e.subject)).map((e) => `${e.atMs}: ${e.observer} -> ${e.subject}`),
    [],
    `no healthy member declared dead (${summary(c)})`,
  );
  t.true(maxSlowHealth >= 1, `awareness of the slow member rose (max ${maxSlowHealth})`);
  t.true(maxHealthyHealth < maxSlowHealth, `awareness is local: healthy members peaked at ${maxHealthyHealth}`);
  t.true((suspectedByNode.get(slow) ?? 0) > 0, 'the slow member was suspected (and refuted, since it never died)');
  c.setSlow(slow, 0);
  t.true(c.runUntil(() => c.converged(), 30_000, { checkEveryMs: 100 }), `converged after: ${summary(c)}`);
  const troubled = failed.filter((e) => !healthySet.has(e.subject));
  t.log(
    `declared dead though running: ${troubled.length} time(s) (${troubled.map((e) => `${e.observer}->${e.subject}`).join(', ')}); slow awareness max ${maxSlowHealth}, healthy max ${maxHealthyHealth}; suspicions of slow ${suspectedByNode.get(slow) ?? 0}, paused ${suspectedByNode.get(paused) ?? 0}`,
  );
});
