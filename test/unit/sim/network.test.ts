import test from 'ava';
import { Scheduler } from '../../../src/sim/scheduler.js';
import { SimNetwork, type Via } from '../../../src/sim/network.js';
import { SeededRng } from '../../../src/util/rng.js';

interface Got {
  atMs: number;
  from: string;
  to: string;
  msg: number;
  via: Via;
}

function setup(seed = 1, opts: ConstructorParameters<typeof SimNetwork<number>>[2] = {}) {
  const sched = new Scheduler();
  const net = new SimNetwork<number>(sched, new SeededRng(seed), opts);
  const got: Got[] = [];
  const add = (addr: string): void =>
    net.register(addr, (from, msg, via) => got.push({ atMs: sched.nowMs, from, to: addr, msg, via }));
  for (const a of ['a', 'b', 'c', 'd']) add(a);
  return { sched, net, got, add };
}

test('fixed latency delivers at send time + latency', (t) => {
  const { sched, net, got } = setup(1, { defaultLink: { latency: { kind: 'fixed', ms: 7 } } });
  sched.runUntil(3);
  net.send('a', 'b', 1, 'packet', 100);
  net.send('a', 'c', 2, 'stream', 100);
  sched.runUntil(100);
  t.deepEqual(got, [
    { atMs: 10, from: 'a', to: 'b', msg: 1, via: 'packet' },
    { atMs: 10, from: 'a', to: 'c', msg: 2, via: 'stream' },
  ]);
  t.is(net.stats('a').packetsSent, 1);
  t.is(net.stats('a').packetBytesSent, 100);
  t.is(net.stats('b').packetsReceived, 1);
  t.is(net.stats('c').streamMessagesReceived, 1);
  t.is(net.totals.streamBytesReceived, 100);
});

test('loss rate is near the configured percent', (t) => {
  const { sched, net, got } = setup(2, { defaultLink: { lossPercent: 20 } });
  const n = 20_000;
  for (let i = 0; i < n; i++) net.send('a', 'b', i, 'packet', 10);
  sched.runFor(1000);
  const lost = n - got.length;
  t.true(lost > n * 0.18 && lost < n * 0.22, `lost ${lost} of ${n}`);
  t.is(net.stats('b').dropped.loss, lost);
  t.is(net.totals.dropped.loss, lost);
});

test('uniform and normal latencies stay within bounds', (t) => {
  const { sched, net, got } = setup(3);
  net.setLink('a', 'b', { latency: { kind: 'uniform', minMs: 5, maxMs: 15 } });
  net.setLink('a', 'c', { latency: { kind: 'normal', meanMs: 20, stdDevMs: 5, minMs: 12 } });
  for (let i = 0; i < 5000; i++) {
    net.send('a', 'b', i, 'packet', 10);
    net.send('a', 'c', i, 'packet', 10);
  }
  sched.runFor(1000);
  const toB = got.filter((g) => g.to === 'b').map((g) => g.atMs);
  const toC = got.filter((g) => g.to === 'c').map((g) => g.atMs);
  t.is(toB.length, 5000);
  t.true(toB.every((x) => x >= 5 && x <= 15));
  t.true(Math.max(...toB) - Math.min(...toB) > 9, 'spread over the range');
  t.true(toC.every((x) => x >= 12));
  const mean = toC.reduce((s, x) => s + x, 0) / toC.length;
  t.true(mean > 19 && mean < 22, `normal mean ${mean}`);
  // the default link (a -> d) was not changed by the overrides
  net.send('a', 'd', 0, 'packet', 10);
  const before = sched.nowMs;
  sched.runFor(100);
  const d = got.find((g) => g.to === 'd');
  t.truthy(d);
  t.true(d!.atMs - before <= 1.5);
});

test('duplication delivers extra copies at about the configured rate', (t) => {
  const { sched, net, got } = setup(4, { defaultLink: { duplicatePercent: 10 } });
  const n = 10_000;
  for (let i = 0; i < n; i++) net.send('a', 'b', i, 'packet', 10);
  sched.runFor(1000);
  const extra = got.length - n;
  t.true(extra > n * 0.08 && extra < n * 0.12, `duplicates ${extra}`);
  t.is(net.stats('b').duplicated, extra);
  t.is(new Set(got.map((g) => g.msg)).size, n, 'every message arrived at least once');
});

test('reordering actually reorders packets; without it fixed latency keeps order', (t) => {
  const run = (reorderPercent: number): number => {
    const { sched, net, got } = setup(5, {
      defaultLink: { latency: { kind: 'fixed', ms: 1 }, reorderPercent, reorderDelayMs: 50 },
    });
    for (let i = 0; i < 1000; i++) {
      net.send('a', 'b', i, 'packet', 10);
      sched.runFor(1);
    }
    sched.runFor(1000);
    let inversions = 0;
    for (let i = 1; i < got.length; i++) if (got[i].msg < got[i - 1].msg) inversions++;
    t.is(got.length, 1000);
    return inversions;
  };
  t.is(run(0), 0);
  t.true(run(30) > 50);
});

test('streams stay ordered per pair despite random latency, and ignore loss/dup', (t) => {
  const { sched, net, got } = setup(6, {
    defaultLink: { latency: { kind: 'uniform', minMs: 1, maxMs: 100 }, lossPercent: 50, duplicatePercent: 50, reorderPercent: 50, reorderDelayMs: 100 },
  });
  for (let i = 0; i < 2000; i++) {
    net.send('a', 'b', i, 'stream', 10);
    net.send('c', 'b', i, 'stream', 10);
    if (i % 10 === 0) sched.runFor(1);
  }
  sched.runFor(1000);
  const fromA = got.filter((g) => g.from === 'a').map((g) => g.msg);
  const fromC = got.filter((g) => g.from === 'c').map((g) => g.msg);
  t.deepEqual(fromA, [...Array(2000).keys()]);
  t.deepEqual(fromC, [...Array(2000).keys()]);
  // the two senders' streams interleave (not one after the other)
  const firstC = got.findIndex((g) => g.from === 'c');
  t.true(firstC < 100);
});

test('symmetric partition drops exactly the cross-group traffic, heal restores it', (t) => {
  const { sched, net, got } = setup(7);
  net.partition(['a', 'b'], ['c', 'd']);
  const addrs = ['a', 'b', 'c', 'd'];
  for (const from of addrs) for (const to of addrs) if (from !== to) net.send(from, to, 0, 'packet', 10);
  sched.runFor(100);
  const pairs = got.map((g) => g.from + g.to).sort();
  t.deepEqual(pairs, ['ab', 'ba', 'cd', 'dc']);
  t.is(net.totals.dropped.partition, 8);
  t.true(net.isCut('a', 'c') && net.isCut('c', 'a'));
  net.heal();
  net.send('a', 'c', 1, 'stream', 10);
  sched.runFor(100);
  t.is(got.at(-1)!.msg, 1);
});

test('one-way partition drops A -> B only', (t) => {
  const { sched, net, got } = setup(8);
  net.partition(['a'], ['b'], { oneWay: true });
  net.send('a', 'b', 1, 'packet', 10);
  net.send('b', 'a', 2, 'packet', 10);
  net.send('a', 'b', 3, 'stream', 10);
  net.send('b', 'a', 4, 'stream', 10);
  sched.runFor(100);
  t.deepEqual(got.map((g) => g.msg).sort(), [2, 4]);
  t.is(net.stats('b').dropped.partition, 2);
  t.is(net.stats('a').dropped.partition, 0);
});

test('a cut made while messages are in flight drops them at delivery', (t) => {
  const { sched, net, got } = setup(9, { defaultLink: { latency: { kind: 'fixed', ms: 10 } } });
  net.send('a', 'b', 1, 'stream', 10);
  sched.runFor(5);
  net.isolate('b');
  sched.runFor(20);
  t.deepEqual(got, []);
  t.is(net.stats('b').dropped.partition, 1);
  net.rejoin('b');
  net.send('a', 'b', 2, 'stream', 10);
  sched.runFor(20);
  t.deepEqual(got.map((g) => g.msg), [2]);
});

test('isolate cuts a node from everyone both ways', (t) => {
  const { sched, net, got } = setup(10);
  net.isolate('c');
  for (const other of ['a', 'b', 'd']) {
    net.send(other, 'c', 1, 'packet', 10);
    net.send('c', other, 2, 'packet', 10);
  }
  net.send('a', 'b', 3, 'packet', 10);
  sched.runFor(100);
  t.deepEqual(got.map((g) => g.msg), [3]);
});

test('paused node: timers and inbound held, inbox bounded, released in order on resume', (t) => {
  const { sched, net, got } = setup(11, { pausedInboxMax: 5, defaultLink: { latency: { kind: 'fixed', ms: 1 } } });
  const timers: number[] = [];
  sched.at(10, () => timers.push(sched.nowMs), 'b');
  net.pause('b');
  t.true(net.isPaused('b'));
  for (let i = 0; i < 8; i++) net.send('a', 'b', i, i % 2 === 0 ? 'packet' : 'stream', 10);
  net.send('a', 'c', 100, 'packet', 10);
  sched.runUntil(50);
  t.deepEqual(got.map((g) => g.msg), [100], 'only the unpaused node got its message');
  t.deepEqual(timers, []);
  t.is(net.stats('b').dropped.pausedInboxFull, 3);
  net.resume('b');
  sched.runUntil(60);
  t.deepEqual(timers, [50]);
  t.deepEqual(got.slice(1).map((g) => g.msg), [0, 1, 2, 3, 4]);
  t.true(got.slice(1).every((g) => g.atMs === 50));
});

test('crash drops in-flight and buffered inbound and cancels timers; restart is register again', (t) => {
  const { sched, net, got, add } = setup(12, { defaultLink: { latency: { kind: 'fixed', ms: 10 } } });
  let timerRan = false;
  sched.after(5, () => (timerRan = true), 'b');
  net.send('a', 'b', 1, 'packet', 10);
  net.send('a', 'b', 2, 'stream', 10);
  net.send('b', 'a', 3, 'packet', 10); // sent before the crash: still delivered
  sched.runFor(2);
  net.crash('b');
  t.false(net.isRegistered('b'));
  t.is(net.stats('b').dropped.crash, 2);
  t.is(net.inFlightTo('b'), 0);
  sched.runFor(20);
  t.false(timerRan);
  t.deepEqual(got.map((g) => g.msg), [3]);
  // while down, messages are unreachable
  net.send('a', 'b', 4, 'packet', 10);
  sched.runFor(20);
  t.is(net.stats('b').dropped.unreachable, 1);
  add('b');
  net.send('a', 'b', 5, 'packet', 10);
  sched.runFor(20);
  t.deepEqual(got.map((g) => g.msg), [3, 5]);
});

test('slow node receives and fires timers later by the extra delay', (t) => {
  const { sched, net, got } = setup(13, { defaultLink: { latency: { kind: 'fixed', ms: 2 } } });
  net.setSlow('b', 30);
  const timers: number[] = [];
  sched.after(5, () => timers.push(sched.nowMs), 'b');
  net.send('a', 'b', 1, 'packet', 10);
  net.send('a', 'c', 2, 'packet', 10);
  sched.runFor(100);
  t.deepEqual(got.map((g) => [g.msg, g.atMs]), [[2, 2], [1, 32]]);
  t.deepEqual(timers, [35]);
  net.setSlow('b', 0);
  net.send('a', 'b', 3, 'packet', 10);
  sched.runFor(100);
  t.is(got.at(-1)!.atMs - 100, 2);
});

test('oversized packets and frames are dropped and counted', (t) => {
  const { sched, net, got } = setup(14, { frameMaxBytes: 5000 });
  net.send('a', 'b', 1, 'packet', 1401);
  net.send('a', 'b', 2, 'packet', 1400);
  net.send('a', 'b', 3, 'stream', 5001);
  net.send('a', 'b', 4, 'stream', 5000);
  sched.runFor(10);
  t.deepEqual(got.map((g) => g.msg).sort(), [2, 4]);
  t.is(net.stats('b').dropped.oversize, 2);
});

test('per-link override beats the default and follows later default changes', (t) => {
  const { net } = setup(15);
  net.setLink('a', 'b', { lossPercent: 100 });
  net.setDefaultLink({ latency: { kind: 'fixed', ms: 9 } });
  t.is(net.link('a', 'b').lossPercent, 100);
  t.deepEqual(net.link('a', 'b').latency, { kind: 'fixed', ms: 9 });
  t.is(net.link('b', 'a').lossPercent, 0);
  t.throws(() => net.setDefaultLink({ lossPercent: 101 }));
  net.clearLink('a', 'b');
  t.is(net.link('a', 'b').lossPercent, 0);
});

test('a stream stays ordered when the receiver\'s slowness drops mid-stream', (t) => {
  const { sched, net, got } = setup(16, { defaultLink: { latency: { kind: 'fixed', ms: 1 } } });
  net.setSlow('b', 50);
  net.send('a', 'b', 1, 'stream', 10);
  net.send('a', 'b', 2, 'packet', 10);
  net.setSlow('b', 0);
  net.send('a', 'b', 3, 'stream', 10);
  net.send('a', 'b', 4, 'packet', 10);
  sched.runFor(100);
  t.deepEqual(got.map((g) => [g.msg, g.atMs]), [[4, 1], [1, 51], [2, 51], [3, 51]], 'packets may overtake, the stream may not');
});

test('crash while paused counts buffered messages as crash drops and forgets the pause', (t) => {
  const { sched, net, got, add } = setup(17, { defaultLink: { latency: { kind: 'fixed', ms: 1 } } });
  net.pause('b');
  for (let i = 0; i < 3; i++) net.send('a', 'b', i, 'packet', 10);
  sched.runFor(10);
  net.send('a', 'b', 9, 'packet', 10); // still in flight at the crash
  net.crash('b');
  t.is(net.stats('b').dropped.crash, 4);
  t.false(net.isPaused('b'));
  add('b');
  net.send('a', 'b', 5, 'packet', 10);
  sched.runFor(10);
  t.deepEqual(got.map((g) => g.msg), [5]);
});
