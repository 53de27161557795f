import { GossipCluster, type GossipClusterOptions } from '../../../src/sim/gossip-cluster.js';
import type { ClusterEvent } from '../../../src/sim/gossip-events.js';
import type { GossipConfig } from '../../../src/gossip/config.js';
import { presets } from '../../../src/gossip/config.js';

/** LAN preset as the tests use it (the same numbers the core gets). */
export const lan: GossipConfig = presets.lan('x', '10.0.0.1:7946');

/**
 * Lifeguard / memberlist suspicion timeouts for a cluster of n:
 *   min = suspicionMult * max(1, log10(n)) * probeInterval
 *   max = suspicionMaxTimeoutMult * min
 * A suspicion runs for max without confirmations and shrinks towards min as
 * independent confirmations arrive.
 */
export function suspicionTimeoutsMs(c: GossipConfig, n: number): { minMs: number; maxMs: number } {
  const minMs = c.suspicionMult * Math.max(1, Math.log10(Math.max(n, 1))) * c.probeIntervalMs;
  return { minMs, maxMs: c.suspicionMaxTimeoutMult * minMs };
}

/**
 * Gossip rounds for a push epidemic with fan-out f to reach all n members
 * with high probability: log_{f+1}(n) + ln(n)/f (Pittel / Karp et al.), plus
 * `slack` rounds.
 */
export function epidemicRounds(fanout: number, n: number, slack = 3): number {
  return Math.ceil(Math.log(n) / Math.log(fanout + 1) + Math.log(n) / fanout) + slack;
}

export function cluster(seed: number, opts: Partial<GossipClusterOptions> = {}): GossipCluster {
  return new GossipCluster({ seed, preset: 'lan', roundTrip: true, ...opts });
}

/** Form a cluster of n by real joins (each node starts and joins one random earlier node, spread over spreadMs) and wait for convergence. */
export function formCluster(c: GossipCluster, n: number, maxMs = 60_000, spreadMs = 1_000): string[] {
  const names = c.addAndJoin(n, { spreadMs });
  const live0 = c.liveNodeCount;
  const ok = c.runUntil(() => c.liveNodeCount === live0 + n && c.converged(), maxMs, { checkEveryMs: 100 });
  if (!ok) throw new Error(`cluster of ${n} did not converge within ${maxMs} ms (t=${c.nowMs})`);
  return names;
}

/** Collect events matching `pred` from now on. */
export function collect(c: GossipCluster, pred: (e: ClusterEvent) => boolean): ClusterEvent[] {
  const out: ClusterEvent[] = [];
  c.log.onEvent((e) => {
    if (pred(e)) out.push(e);
  });
  return out;
}

/** Fail with the seed and a few facts attached. */
export function summary(c: GossipCluster): string {
  return `seed=${c.seed} t=${c.nowMs}ms live=${c.liveNodeCount} events=${c.log.total} digest=${c.log.digest()}`;
}

