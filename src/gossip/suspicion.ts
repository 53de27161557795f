import type { TimerHandle, TimerHeap } from './timers.js';

/**
 * The base suspicion timeout (memberlist's suspicionTimeout):
 * suspicionMult * max(1, log10(max(1, n))) * probeInterval, in whole ms.
 * The max(1, ...) keeps small clusters from getting a zero timeout.
 */
export function suspicionMinTimeoutMs(suspicionMult: number, n: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor(suspicionMult * nodeScale * probeIntervalMs);
}

/**
 * Lifeguard: the timeout after c independent confirmations out of k expected,
 * falling from maxMs (no confirmation) to minMs (k confirmations) on a log scale:
 * max(minMs, floor(maxMs - (maxMs - minMs) * log(c + 1) / log(k + 1))).
 */
export function suspicionTimeoutMs(c: number, k: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs;
  const frac = Math.log(c + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)));
}

/**
 * One member's suspicion timer. Starts at max (or min when no confirmations
 * are expected) and shrinks with each confirmation from a distinct member.
 */
export class Suspicion {
  private readonly confirmations = new Set<string>();
  private timer: TimerHandle;

  constructor(
    private readonly timers: TimerHeap,
    from: string,
    /** Expected confirmations; below 1 means none are expected. */
    readonly k: number,
    readonly minMs: number,
    readonly maxMs: number,
    readonly startMs: number,
    private readonly onTimeout: (nowMs: number) => void,
  ) {
    this.confirmations.add(from); // the accuser does not confirm itself
    this.timer = timers.schedule(startMs + (k < 1 ? minMs : maxMs), onTimeout);
  }

  /** Confirmations counted so far (the first accuser excluded). */
  get confirmationCount(): number {
    return this.confirmations.size - 1;
  }

  /** When the timer fires. */
  get deadlineMs(): number {
    return this.timer.atMs;
  }

  /** Records a confirmation; true if it was new and shortened the timer. */
  confirm(from: string, nowMs: number): boolean {
    if (this.confirmationCount >= this.k) return false;
    if (this.confirmations.has(from)) return false;
    this.confirmations.add(from);
    const timeoutMs = suspicionTimeoutMs(this.confirmationCount, this.k, this.minMs, this.maxMs);
    this.timers.cancel(this.timer);
    this.timer = this.timers.schedule(Math.max(nowMs, this.startMs + timeoutMs), this.onTimeout);
    return true;
  }

  stop(): void {
    this.timers.cancel(this.timer);
  }
}
