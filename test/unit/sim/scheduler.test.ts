import test from 'ava';
import { Scheduler } from '../../../src/sim/scheduler.js';
import { SeededRng } from '../../../src/util/rng.js';

test('events run in time order, ties in scheduling order', (t) => {
  const s = new Scheduler();
  const log: string[] = [];
  s.at(30, () => log.push('c'));
  s.at(10, () => log.push('a1'));
  s.at(20, () => log.push('b'));
  s.at(10, () => log.push('a2'));
  s.at(10, () => log.push('a3'));
  s.runUntil(100);
  t.deepEqual(log, ['a1', 'a2', 'a3', 'b', 'c']);
  t.is(s.nowMs, 100);
  t.is(s.eventsRun, 5);
  t.is(s.pending(), 0);
});

test('many random events come out sorted by (time, seq)', (t) => {
  const s = new Scheduler();
  const rng = new SeededRng(9);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < 20_000; i++) {
    const at = rng.int(500);
    s.at(at, () => out.push([at, i]));
  }
  s.runUntil(1000);
  t.is(out.length, 20_000);
  for (let i = 1; i < out.length; i++) {
    const [ta, ia] = out[i - 1];
    const [tb, ib] = out[i];
    if (ta > tb || (ta === tb && ia > ib)) return t.fail(`out of order at ${i}: ${ta}/${ia} before ${tb}/${ib}`);
  }
  t.pass();
});

test('clock reads the event time inside the event; after() is relative', (t) => {
  const s = new Scheduler();
  const seen: number[] = [];
  s.after(5, () => {
    seen.push(s.nowMs);
    s.after(7, () => seen.push(s.nowMs));
  });
  s.runFor(4);
  t.deepEqual(seen, []);
  t.is(s.nowMs, 4);
  s.runFor(100);
  t.deepEqual(seen, [5, 12]);
  t.is(s.nowMs, 104);
});

test('runUntil stops at the limit and leaves later events pending', (t) => {
  const s = new Scheduler();
  let ran = 0;
  s.at(10, () => ran++);
  s.at(10.5, () => ran++);
  s.runUntil(10);
  t.is(ran, 1);
  t.is(s.pending(), 1);
  t.is(s.nextEventTimeMs(), 10.5);
});

test('cancel prevents a run, is idempotent, and ignores stale ids', (t) => {
  const s = new Scheduler();
  const log: string[] = [];
  const a = s.at(1, () => log.push('a'));
  const b = s.at(2, () => log.push('b'));
  t.is(s.pending(), 2);
  t.true(s.cancel(a));
  t.false(s.cancel(a));
  t.is(s.pending(), 1);
  s.runUntil(5);
  t.deepEqual(log, ['b']);
  t.false(s.cancel(b), 'already ran');
  // a's slot is reused; the old id must not cancel the new event
  const c = s.at(6, () => log.push('c'));
  t.false(s.cancel(a));
  t.false(s.cancel(b));
  t.not(c, a);
  s.runUntil(10);
  t.deepEqual(log, ['b', 'c']);
});

test('an event can cancel a later one and schedule at the current time', (t) => {
  const s = new Scheduler();
  const log: string[] = [];
  const later = s.at(5, () => log.push('later'));
  s.at(3, () => {
    s.cancel(later);
    s.at(s.nowMs, () => log.push('same-time'));
  });
  s.at(3, () => log.push('tie'));
  s.runUntil(10);
  t.deepEqual(log, ['tie', 'same-time']);
});

test('scheduling in the past is a programmer error', (t) => {
  const s = new Scheduler();
  s.runUntil(10);
  t.throws(() => s.at(5, () => {}), { message: /in the past/ });
  t.throws(() => s.after(-1, () => {}));
});

test('pause holds an owner\'s events; resume runs them late, in order', (t) => {
  const s = new Scheduler();
  const log: string[] = [];
  s.at(10, () => log.push(`a1@${s.nowMs}`), 'a');
  s.at(20, () => log.push(`b@${s.nowMs}`), 'b');
  s.at(30, () => log.push(`a2@${s.nowMs}`), 'a');
  s.at(30, () => log.push(`a3@${s.nowMs}`), 'a');
  s.pause('a');
  t.true(s.isPaused('a'));
  s.runUntil(100);
  t.deepEqual(log, ['b@20']);
  t.is(s.heldCount('a'), 3);
  t.is(s.pending(), 3);
  s.resume('a');
  t.false(s.isPaused('a'));
  s.runUntil(100);
  t.deepEqual(log, ['b@20', 'a1@100', 'a2@100', 'a3@100']);
  t.is(s.pending(), 0);
});

test('held events can be cancelled; events scheduled during the pause are held too', (t) => {
  const s = new Scheduler();
  const log: string[] = [];
  s.pause('a');
  const x = s.at(1, () => log.push('x'), 'a');
  s.at(2, () => log.push('y'), 'a');
  s.runUntil(5);
  t.true(s.cancel(x));
  s.at(6, () => log.push('z'), 'a');
  s.runUntil(10);
  t.deepEqual(log, []);
  s.resume('a');
  s.runUntil(10);
  t.deepEqual(log, ['y', 'z']);
});

test('cancelOwner cancels queued and held events of that owner only', (t) => {
  const s = new Scheduler();
  const log: string[] = [];
  s.at(1, () => log.push('a-held'), 'a');
  s.at(1, () => log.push('b'), 'b');
  s.pause('a');
  s.runUntil(2);
  s.at(3, () => log.push('a-queued'), 'a');
  s.at(3, () => log.push('free'));
  t.is(s.cancelOwner('a'), 2);
  s.resume('a');
  s.runUntil(10);
  t.deepEqual(log, ['b', 'free']);
  t.is(s.pending(), 0);
});

test('owner delay postpones that owner\'s new events only', (t) => {
  const s = new Scheduler();
  const log: string[] = [];
  s.setOwnerDelay('slow', 50);
  s.after(10, () => log.push(`slow@${s.nowMs}`), 'slow');
  s.after(10, () => log.push(`fast@${s.nowMs}`), 'fast');
  s.atExact(10, () => log.push(`exact@${s.nowMs}`), 'slow', true);
  s.runUntil(100);
  t.deepEqual(log, ['fast@10', 'exact@10', 'slow@60']);
});

test('atExact with holdWhenPaused=false runs while the owner is paused', (t) => {
  const s = new Scheduler();
  const log: string[] = [];
  s.pause('a');
  s.atExact(1, () => log.push('ungated'), 'a', false);
  s.at(1, () => log.push('gated'), 'a');
  s.runUntil(5);
  t.deepEqual(log, ['ungated']);
});

test('runUntilCondition stops at the event that makes it true', (t) => {
  const s = new Scheduler();
  let n = 0;
  for (let i = 1; i <= 10; i++) s.at(i * 10, () => n++);
  t.true(s.runUntilCondition(() => n >= 3, 1000));
  t.is(s.nowMs, 30);
  t.is(n, 3);
  t.false(s.runUntilCondition(() => n >= 100, 45));
  t.is(s.nowMs, 75);
  t.is(n, 7);
  t.true(s.runUntilCondition(() => n === 7, 10), 'already true: runs nothing');
  t.is(n, 7);
});

test('runUntilIdle is bounded by maxEvents', (t) => {
  const s = new Scheduler();
  const loop = (): void => {
    s.after(1, loop);
  };
  s.after(0, loop);
  t.is(s.runUntilIdle(500), 500);
  t.is(s.pending(), 1);
});

test('grows past the initial capacity and keeps order', (t) => {
  const s = new Scheduler();
  const out: number[] = [];
  for (let i = 5000; i > 0; i--) s.at(i, () => out.push(i));
  s.runUntil(6000);
  t.is(out.length, 5000);
  t.deepEqual(out.slice(0, 3), [1, 2, 3]);
  t.is(out[4999], 5000);
});

test('an exception in an event leaves the scheduler usable', (t) => {
  const s = new Scheduler();
  const log: string[] = [];
  s.at(1, () => {
    throw new Error('boom');
  });
  s.at(2, () => log.push('after'));
  t.throws(() => s.runUntil(10), { message: 'boom' });
  t.is(s.nowMs, 1);
  s.runUntil(10);
  t.deepEqual(log, ['after']);
});
