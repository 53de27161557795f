import test from 'ava';
import { Awareness } from '../../../src/gossip/awareness.js';
import { relayNackAfterMs } from '../../../src/gossip/probe.js';
import { pushPullScaleMs } from '../../../src/gossip/pushpull.js';
import { Suspicion, suspicionMinTimeoutMs, suspicionTimeoutMs } from '../../../src/gossip/suspicion.js';
import { TimerHeap } from '../../../src/gossip/timers.js';

test('suspicion base timeout: suspicionMult * max(1, log10(n)) * probeInterval', (t) => {
  t.is(suspicionMinTimeoutMs(4, 0, 1000), 4000);
  t.is(suspicionMinTimeoutMs(4, 1, 1000), 4000);
  t.is(suspicionMinTimeoutMs(4, 5, 1000), 4000); // log10(5) < 1: clamped
  t.is(suspicionMinTimeoutMs(4, 10, 1000), 4000);
  t.is(suspicionMinTimeoutMs(4, 100, 1000), 8000);
  t.is(suspicionMinTimeoutMs(4, 1000, 1000), 12000);
  t.is(suspicionMinTimeoutMs(5, 50, 200), 1698); // 5 * 1.69897 * 200
  t.is(suspicionMinTimeoutMs(3, 10_000, 1000), 12000);
});

test('suspicion timeout shrinks on a log scale from max to min with confirmations', (t) => {
  // k = 2, min 4 s, max 24 s.
  t.is(suspicionTimeoutMs(0, 2, 4000, 24000), 24000);
  t.is(suspicionTimeoutMs(1, 2, 4000, 24000), 11381); // 24000 - 20000 * ln2/ln3
  t.is(suspicionTimeoutMs(2, 2, 4000, 24000), 4000);
  t.is(suspicionTimeoutMs(5, 2, 4000, 24000), 4000); // never below min
  // k = 3, min 8 s, max 48 s.
  t.is(suspicionTimeoutMs(1, 3, 8000, 48000), 28000); // 48000 - 40000 * ln2/ln4
  t.is(suspicionTimeoutMs(2, 3, 8000, 48000), 16300); // 48000 - 40000 * ln3/ln4 = 16300.75
  t.is(suspicionTimeoutMs(3, 3, 8000, 48000), 8000);
  // No confirmations expected: straight to min.
  t.is(suspicionTimeoutMs(0, 0, 3000, 18000), 3000);
});

test('suspicion timer counts only distinct confirmers, never the accuser, at most k', (t) => {
  const timers = new TimerHeap();
  let firedAt = -1;
  const s = new Suspicion(timers, 'accuser', 2, 4000, 24000, 1000, (now) => (firedAt = now));
  t.is(s.deadlineMs, 25000);
  t.false(s.confirm('accuser', 2000));
  t.true(s.confirm('b', 2000));
  t.is(s.deadlineMs, 1000 + 11381);
  t.false(s.confirm('b', 3000));
  t.is(s.confirmationCount, 1);
  t.true(s.confirm('c', 3000));
  t.is(s.deadlineMs, 5000);
  t.false(s.confirm('d', 3000)); // k reached
  timers.runDue(4999);
  t.is(firedAt, -1);
  timers.runDue(5000);
  t.is(firedAt, 5000);
});

test('a confirmation past the shrunken deadline fires at once', (t) => {
  const timers = new TimerHeap();
  let fired = 0;
  const s = new Suspicion(timers, 'a', 1, 3000, 18000, 0, () => fired++);
  t.true(s.confirm('b', 10_000)); // new timeout is min = 3000, already over
  t.is(timers.nextAtMs(), 10_000);
  timers.runDue(10_000);
  t.is(fired, 1);
});

test('suspicion with k < 1 starts at min', (t) => {
  const timers = new TimerHeap();
  const s = new Suspicion(timers, 'a', 0, 3000, 18000, 100, () => {});
  t.is(s.deadlineMs, 3100);
  t.false(s.confirm('b', 200));
});

test('awareness score is bounded to 0..max-1 and scales timeouts by score+1', (t) => {
  const a = new Awareness(8);
  t.is(a.healthScore(), 0);
  a.applyDelta(-1);
  t.is(a.healthScore(), 0);
  t.is(a.scaleTimeoutMs(500), 500);
  a.applyDelta(3);
  t.is(a.healthScore(), 3);
  t.is(a.scaleTimeoutMs(500), 2000);
  a.applyDelta(100);
  t.is(a.healthScore(), 7);
  t.is(a.scaleTimeoutMs(1000), 8000);
  a.applyDelta(-2);
  t.is(a.healthScore(), 5);
  const one = new Awareness(1);
  one.applyDelta(5);
  t.is(one.healthScore(), 0);
});

test('push-pull interval scales above 32 members like memberlist', (t) => {
  t.is(pushPullScaleMs(30_000, 1), 30_000);
  t.is(pushPullScaleMs(30_000, 32), 30_000);
  t.is(pushPullScaleMs(30_000, 33), 60_000);
  t.is(pushPullScaleMs(30_000, 64), 60_000);
  t.is(pushPullScaleMs(30_000, 65), 90_000);
  t.is(pushPullScaleMs(30_000, 1000), 180_000);
  t.is(pushPullScaleMs(30_000, 10_000), 300_000); // ceil(13.29 - 5) + 1 = 10
});

test('timer heap fires in time order, skips cancelled timers and reports the next deadline', (t) => {
  const h = new TimerHeap();
  const fired: string[] = [];
  h.schedule(30, () => fired.push('c'));
  const b = h.schedule(20, () => fired.push('b'));
  h.schedule(10, () => fired.push('a'));
  h.schedule(10, () => fired.push('a2'));
  t.is(h.nextAtMs(), 10);
  h.cancel(b);
  t.is(h.runDue(25), 2);
  t.deepEqual(fired, ['a', 'a2']);
  t.is(h.nextAtMs(), 30);
  h.schedule(31, (now) => {
    fired.push(`d@${now}`);
    h.schedule(now, () => fired.push('e'));
  });
  h.runDue(100);
  t.deepEqual(fired, ['a', 'a2', 'c', 'd@100', 'e']);
  t.is(h.nextAtMs(), Infinity);
  // Many cancellations are compacted away.
  const hs = Array.from({ length: 500 }, (_, i) => h.schedule(1000 + i, () => {}));
  for (const x of hs.slice(0, 400)) h.cancel(x);
  t.is(h.size, 100);
  t.is(h.nextAtMs(), 1400);
});

test('a relay nacks early enough for the prober to count it (LAN, WAN, local)', (t) => {
  t.is(relayNackAfterMs(500, 1000), 400);
  t.is(relayNackAfterMs(3000, 5000), 1600); // 3000 + 1600 leaves 400 ms for the round trip
  t.is(relayNackAfterMs(200, 1000), 160);
  for (const [timeoutMs, intervalMs] of [[500, 1000], [3000, 5000], [200, 1000], [990, 1000]]) {
    t.true(timeoutMs + relayNackAfterMs(timeoutMs, intervalMs) < intervalMs);
  }
});
