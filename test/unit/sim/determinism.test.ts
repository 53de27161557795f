import test from 'ava';
import { createHash } from 'node:crypto';
import { Scheduler } from '../../../src/sim/scheduler.js';
import { SimNetwork } from '../../../src/sim/network.js';
import { SeededRng } from '../../../src/util/rng.js';

/**
 * A small random-traffic scenario with every fault kind: the trace (every
 * delivery with its time, plus timer firings) must be a function of the seed.
 */
function scenario(seed: number): { hash: string; deliveries: number } {
  const rng = new SeededRng(seed);
  const sched = new Scheduler();
  const net = new SimNetwork<string>(sched, rng.fork(), {
    pausedInboxMax: 20,
    defaultLink: {
      lossPercent: 5,
      latency: { kind: 'normal', meanMs: 5, stdDevMs: 2, minMs: 1 },
      duplicatePercent: 2,
      reorderPercent: 10,
      reorderDelayMs: 20,
    },
  });
  const traffic = rng.fork();
  const hash = createHash('sha256');
  let deliveries = 0;
  const addrs = Array.from({ length: 8 }, (_, i) => `10.0.0.${i}:7946`);
  net.setTap((atMs, from, to, msg, via) => {
    deliveries++;
    hash.update(`${atMs}|${from}|${to}|${msg}|${via}\n`);
  });
  const handler = (self: string) => (from: string, msg: string) => {
    // answer some messages, like a ping/ack protocol would
    if (msg.startsWith('ping') && traffic.int(2) === 0) net.send(self, from, `ack:${msg}`, 'packet', 60);
  };
  for (const a of addrs) net.register(a, handler(a));
  for (const a of addrs) {
    const tick = (): void => {
      hash.update(`tick|${a}|${sched.nowMs}\n`);
      const to = addrs[traffic.int(addrs.length)];
      if (to !== a) net.send(a, to, `ping${sched.nowMs}`, traffic.int(4) === 0 ? 'stream' : 'packet', 100);
      sched.after(traffic.int(20) + 1, tick, a);
    };
    sched.after(traffic.int(20), tick, a);
  }
  sched.runFor(500);
  net.partition(addrs.slice(0, 3), addrs.slice(3));
  net.pause(addrs[5]);
  net.setSlow(addrs[6], 15);
  sched.runFor(500);
  net.heal();
  net.resume(addrs[5]);
  net.crash(addrs[7]);
  sched.runFor(300);
  net.register(addrs[7], handler(addrs[7]));
  sched.runFor(500);
  return { hash: hash.digest('hex'), deliveries };
}

test('same seed gives an identical trace; a different seed gives a different one', (t) => {
  const a = scenario(1234);
  const b = scenario(1234);
  const c = scenario(1235);
  t.true(a.deliveries > 500, `enough traffic: ${a.deliveries}`);
  t.is(a.hash, b.hash);
  t.is(a.deliveries, b.deliveries);
  t.not(a.hash, c.hash);
});
