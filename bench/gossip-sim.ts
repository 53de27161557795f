#!/usr/bin/env -S node --max-old-space-size=20480 --max-semi-space-size=64 --import tsx
/**
 * Simulated gossip cluster benchmark: N pure GossipCores with LAN parameters
 * on virtual time (src/sim/gossip-cluster.ts). One JSON object per line:
 *   {"bench":"gossip-sim","n":..,"lossPct":..,"joinConvergeMs":..,"failDetectMs":..,
 *    "msgsPerMemberPerSec":..,"bytesPerMemberPerSec":..,"falsePositivesPerMemberHour":..}
 * Figures are virtual time; bytes are real encoded lengths (src/wire/gossip-codec.ts).
 *
 *   bench/gossip-sim.ts --n 100,1000,10000 --loss 0,5,10 [--only join|fail|fp] [--seed 1]
 *       [--fp-minutes M] [--window-sec S] [--warmup-sec S] [--no-tcp-fallback]
 *
 * Per (n, loss): the cluster is pre-seeded (GossipCluster.preseed: every core
 * starts knowing every member, no join storm) and warmed up until converged and
 * queues are drained; then the loss is switched on and
 *  - steady state: traffic over a window (a whole number of scaled push-pull
 *    periods, at least --window-sec) -> msgs and bytes per member per second;
 *  - fp: false positives (a live member declared dead by at least one member,
 *    counted once per episode) over fp-minutes of virtual time, per member-hour;
 *  - join: a new member joins one random member; time until every member sees it alive;
 *  - fail: a random member crashes; time until every member sees it dead.
 */
import { Command } from 'commander';
import { GossipCluster } from '../src/sim/gossip-cluster.js';
import { presets } from '../src/gossip/config.js';
import { pushPullScaleMs } from '../src/gossip/pushpull.js';

interface Options {
  n: string;
  loss: string;
  only?: string;
  seed: string;
  fpMinutes?: string;
  windowSec?: string;
  warmupSec?: string;
  tcpFallback: boolean;
}

const program = new Command()
  .name('gossip-sim')
  .option('--n <list>', 'cluster sizes', '100,1000,10000')
  .option('--loss <list>', 'packet loss percentages', '0')
  .option('--only <what>', 'join | fail | fp | traffic (default: all)')
  .option('--seed <n>', 'simulation seed', '1')
  .option('--fp-minutes <m>', 'virtual minutes for false positives (default 10 for n<=1000, 2 above)')
  .option('--window-sec <s>', 'steady-state traffic window, virtual seconds', '30')
  .option('--warmup-sec <s>', 'virtual seconds after convergence before measuring', '30')
  .option('--no-tcp-fallback', 'LAN preset without the TCP fallback ping (UDP loss hits probes fully)')
  .parse();
const opts = program.opts<Options>();

const list = (s: string): number[] => s.split(',').map((x) => Number(x.trim()));
const only = opts.only;
const wants = (what: string): boolean => only === undefined || only === what || (what === 'traffic' && only === 'fp');

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

for (const n of list(opts.n)) {
  for (const lossPct of list(opts.loss)) {
    const started = performance.now();
    const c = new GossipCluster({
      seed: Number(opts.seed),
      preset: 'lan',
      config: opts.tcpFallback ? {} : { tcpFallbackPing: false },
      roundTrip: false,
      expectedNodes: n + 2,
      eventLogMax: 0,
      eventDigest: false,
    });
    // Start the processes spread over one probe interval (their timers out of phase), then pre-seed.
    for (let i = 0; i < n; i++) {
      c.addNode();
      c.runFor(1_000 / n);
    }
    const seedStarted = performance.now();
    c.preseed();
    const preseedWallMs = performance.now() - seedStarted;
    const warm = c.runUntil(() => c.converged(), 300_000, { checkEveryMs: 1_000 });
    c.runFor(Number(opts.warmupSec) * 1000);
    const setupWallMs = performance.now() - started;
    c.network.setDefaultLink({ lossPercent: lossPct });

    const row: Record<string, number | string | boolean | null> = { bench: 'gossip-sim', n, lossPct };
    if (!opts.tcpFallback) row.tcpFallbackPing = false;

    // Steady state traffic and false positives.
    if (wants('traffic') || wants('fp')) {
      const fpMinutes = opts.fpMinutes !== undefined ? Number(opts.fpMinutes) : n <= 1000 ? 10 : 2;
      // A whole number of push-pull periods (scaled with n), so every member's
      // full-state sync falls into the window exactly as often as in the long run.
      const pushPullMs = pushPullScaleMs(presets.lan('x', '10.0.0.1:1').pushPullIntervalMs, n);
      const wantedMs = Math.max(Number(opts.windowSec) * 1000, wants('fp') ? fpMinutes * 60_000 : 0);
      const windowMs = Math.ceil(wantedMs / pushPullMs) * pushPullMs;
      let episodes = 0;
      let declarations = 0;
      const falselyDead = new Set<string>();
      const off = c.log.onEvent((e) => {
        if (e.type === 'member-failed' && c.isLive(e.subject)) {
          declarations++;
          if (!falselyDead.has(e.subject)) {
            falselyDead.add(e.subject);
            episodes++;
          }
        } else if (falselyDead.has(e.subject) && c.countSeeing(e.subject, 'dead') === 0) falselyDead.delete(e.subject);
      });
      const msgs0 = c.traffic.msgsSent;
      const packetBytes0 = c.traffic.packetBytesSent;
      const frameBytes0 = c.traffic.frameBytesSent;
      const t0 = performance.now();
      c.runFor(windowMs);
      off();
      const sec = windowMs / 1000;
      row.msgsPerMemberPerSec = round((c.traffic.msgsSent - msgs0) / n / sec, 2);
      const packetBytes = c.traffic.packetBytesSent - packetBytes0;
      const frameBytes = c.traffic.frameBytesSent - frameBytes0;
      row.bytesPerMemberPerSec = round((packetBytes + frameBytes) / n / sec, 0);
      // Split: UDP (probes and gossip) vs TCP (push-pull, whose state grows with n).
      row.packetBytesPerMemberPerSec = round(packetBytes / n / sec, 0);
      row.streamBytesPerMemberPerSec = round(frameBytes / n / sec, 0);
      row.pushPullIntervalMs = pushPullMs;
      row.falsePositivesPerMemberHour = wants('fp') ? round(episodes / n / (windowMs / 3_600_000), 4) : null;
      row.falseDeadDeclarations = declarations;
      row.steadyWindowSec = sec;
      row.steadyWallMs = Math.round(performance.now() - t0);
    }

    if (wants('join')) {
      const joiner = c.addNode();
      const live = c.liveNames().filter((x) => x !== joiner);
      const t0 = c.nowMs;
      c.join(joiner, [live[(n * 7919) % live.length]]);
      const ok = c.runUntil(() => c.allSee(joiner, 'alive'), 300_000);
      row.joinConvergeMs = ok ? Math.round(c.nowMs - t0) : null;
    }

    if (wants('fail')) {
      const live = c.liveNames();
      const victim = live[(n * 104729 + 17) % live.length];
      const t0 = c.nowMs;
      c.crash(victim);
      const ok = c.runUntil(() => c.allSee(victim, 'dead'), 600_000);
      row.failDetectMs = ok ? Math.round(c.nowMs - t0) : null;
    }

    row.warmConverged = warm;
    row.setupWallMs = Math.round(setupWallMs);
    row.preseedWallMs = Math.round(preseedWallMs);
    row.wallMs = Math.round(performance.now() - started);
    const mem = process.memoryUsage();
    row.heapMiB = Math.round(mem.heapUsed / 2 ** 20);
    // Typed arrays (the cores' member columns) live outside the JS heap.
    row.arrayBuffersMiB = Math.round(mem.arrayBuffers / 2 ** 20);
    row.maxRssMiB = Math.round(process.resourceUsage().maxRSS / 2 ** 10);
    console.log(JSON.stringify(row));
  }
}
