import { assert } from '../util/assert.js';
import type { Rng } from '../util/rng.js';

/**
 * The behaviour of one directed link of the simulated network (network.ts):
 * latency distributions, loss, duplication and reordering, and the draws
 * that apply them.
 */

/** How long a message takes on a link, in virtual milliseconds. */
export type LatencyDistribution =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'normal'; meanMs: number; stdDevMs: number; minMs: number };

/** Behaviour of a directed link. Percentages are 0..100. Streams use only the latency. */
export interface LinkOptions {
  /** Packets lost. */
  lossPercent: number;
  latency: LatencyDistribution;
  /** Packets delivered twice (the copy with its own latency). */
  duplicatePercent: number;
  /** Packets given an extra delay, uniform in [0, reorderDelayMs), so later ones may overtake them. */
  reorderPercent: number;
  reorderDelayMs: number;
}

/** A LAN: about 1 ms, no loss. */
export function defaultLinkOptions(): LinkOptions {
  return {
    lossPercent: 0,
    latency: { kind: 'uniform', minMs: 0.5, maxMs: 1.5 },
    duplicatePercent: 0,
    reorderPercent: 0,
    reorderDelayMs: 0,
  };
}

export function validateLinkOptions(o: LinkOptions): void {
  for (const [name, v] of [
    ['lossPercent', o.lossPercent],
    ['duplicatePercent', o.duplicatePercent],
    ['reorderPercent', o.reorderPercent],
  ] as const) {
    assert(v >= 0 && v <= 100, `${name} must be 0..100, got ${v}`);
  }
  assert(o.reorderDelayMs >= 0, `reorderDelayMs must be >= 0, got ${o.reorderDelayMs}`);
  const l = o.latency;
  switch (l.kind) {
    case 'fixed':
      assert(l.ms >= 0, `latency ms must be >= 0, got ${l.ms}`);
      break;
    case 'uniform':
      assert(l.minMs >= 0 && l.maxMs >= l.minMs, `bad uniform latency ${l.minMs}..${l.maxMs}`);
      break;
    case 'normal':
      assert(l.minMs >= 0 && l.stdDevMs >= 0, `bad normal latency: sd ${l.stdDevMs}, min ${l.minMs}`);
      break;
  }
}

/** One latency draw. Normal uses Box–Muller (two draws), clamped below at minMs. */
export function sampleLatencyMs(l: LatencyDistribution, rng: Rng): number {
  switch (l.kind) {
    case 'fixed':
      return l.ms;
    case 'uniform':
      return l.minMs + rng.next() * (l.maxMs - l.minMs);
    case 'normal': {
      const u1 = 1 - rng.next(); // (0, 1]
      const u2 = rng.next();
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      return Math.max(l.minMs, l.meanMs + z * l.stdDevMs);
    }
  }
}

/** True with probability percent/100; draws nothing when percent is 0 or 100. */
export function chance(percent: number, rng: Rng): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return rng.next() * 100 < percent;
}
