import { assert } from '../util/assert.js';

/**
 * Lifeguard local health ("awareness"). The score rises when this node seems
 * to be the slow one (missed nacks, failed probes with no relays, having to
 * refute) and falls with every successful probe. Timeouts are scaled by
 * score + 1, so an overloaded node waits longer before accusing others.
 */
export class Awareness {
  private score = 0;
  /** Highest score: awarenessMaxMultiplier - 1. */
  readonly maxScore: number;

  constructor(awarenessMaxMultiplier: number) {
    assert(Number.isInteger(awarenessMaxMultiplier) && awarenessMaxMultiplier >= 1, 'awarenessMaxMultiplier >= 1');
    this.maxScore = awarenessMaxMultiplier - 1;
  }

  /** Adds delta, clamped to 0..maxScore. */
  applyDelta(delta: number): void {
    this.score = Math.min(this.maxScore, Math.max(0, this.score + delta));
  }

  /** 0 means healthy. */
  healthScore(): number {
    return this.score;
  }

  /** A timeout stretched by the current health: timeoutMs * (score + 1). */
  scaleTimeoutMs(timeoutMs: number): number {
    return timeoutMs * (this.score + 1);
  }
}
