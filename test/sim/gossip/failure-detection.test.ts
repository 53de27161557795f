import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { cluster, collect, epidemicRounds, formCluster, lan, suspicionTimeoutsMs, summary } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test);

/**
 * A crashed member must be marked dead by every member within a bound
 * derived from the LAN parameters, for n = 50:
 *
 *  1. first probe of the victim: every member probes one member per interval,
 *     round-robin over its own shuffled list, so each of the n-1 members hits
 *     the victim once per n-1 intervals at an independent phase. P(nobody in
 *     the first k intervals) = (1 - k/(n-1))^(n-1) <= e^-k; k = 10 gives < 5e-5.
 *  2. that probe fails within one interval (direct timeout + indirect pings) -> suspect.
 *  3. the suspicion lasts at most maxTimeout = suspicionMaxTimeoutMult *
 *     suspicionMult * log10(n) * probeInterval (Lifeguard: it starts there and
 *     only shrinks with confirmations), 6 * 4 * 1.70 * 1 s = 40.8 s at n = 50.
 *  4. the Dead spreads by gossip: fan-out 3 every 200 ms reaches everyone in
 *     log4(n) + ln(n)/3 + 3 slack rounds = 10 rounds = 2 s.
 *  => bound = (10 + 1) * 1 s + 40.8 s + 2 s = 53.8 s.
 *
 * And a floor: nobody may declare it dead before it was suspected for at
 * least minTimeout = suspicionMult * log10(n-1) * probeInterval (a core that
 * skips suspicion would pass the upper bound but fail this).
 */
const n = 50;
const { minMs: minTimeoutMs } = suspicionTimeoutsMs(lan, n - 1);
const { maxMs: maxTimeoutMs } = suspicionTimeoutsMs(lan, n);
const firstProbeIntervals = 10;
const boundMs =
  (firstProbeIntervals + 1) * lan.probeIntervalMs + maxTimeoutMs + epidemicRounds(lan.gossipNodes, n) * lan.gossipIntervalMs;

simTest(`a crashed member is dead everywhere within the derived bound (${Math.round(boundMs)} ms at n=${n})`, [11, 12, 13], (t, seed) => {
  const c = cluster(seed);
  const names = formCluster(c, n);
  c.runFor(5_000);
  const victim = names[1 + (seed % (n - 1))];
  const failed = collect(c, (e) => e.type === 'member-failed');
  const crashAtMs = c.nowMs;
  c.crash(victim);
  const ok = c.runUntil(() => c.allSee(victim, 'dead'), boundMs);
  const detectMs = c.nowMs - crashAtMs;
  t.true(ok, `not dead everywhere after ${boundMs} ms: ${c.countSeeing(victim, 'dead')}/${c.liveNodeCount} (${summary(c)})`);
  const firstDeadMs = Math.min(...failed.filter((e) => e.subject === victim).map((e) => e.atMs)) - crashAtMs;
  t.true(firstDeadMs >= minTimeoutMs, `declared dead after ${firstDeadMs} ms, before the minimum suspicion ${minTimeoutMs} ms`);
  t.deepEqual(
    failed.filter((e) => e.subject !== victim).map((e) => `${e.observer}->${e.subject}`),
    [],
    'no other member declared dead',
  );
  t.log(`first dead after ${firstDeadMs} ms, everywhere after ${detectMs} ms (bound ${boundMs} ms, floor ${minTimeoutMs} ms)`);
});
