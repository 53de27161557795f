import { assert } from '../util/assert.js';

/** A scheduled callback; cancel it through TimerHeap.cancel(). */
export interface TimerHandle {
  readonly atMs: number;
  readonly seq: number;
  cancelled: boolean;
  /** Called with the time of the runDue() call that fires it. */
  readonly fire: (nowMs: number) => void;
}

/** Timers fired by one runDue() call at most; the rest wait for the next call. */
export const TIMERS_PER_RUN_MAX = 100_000;
/** Cancelled entries are compacted away once there are this many and they are half the heap. */
const COMPACT_MIN = 64;

/**
 * A binary min-heap of timers ordered by (atMs, seq): the core never scans its
 * members to find work. Cancellation is lazy (a flag), with compaction.
 */
export class TimerHeap {
  private heap: TimerHandle[] = [];
  private seq = 0;
  private cancelledCount = 0;

  get size(): number {
    return this.heap.length - this.cancelledCount;
  }

  schedule(atMs: number, fire: (nowMs: number) => void): TimerHandle {
    assert(Number.isFinite(atMs), 'timer time must be finite');
    const t: TimerHandle = { atMs, seq: this.seq++, cancelled: false, fire };
    this.heap.push(t);
    this.up(this.heap.length - 1);
    return t;
  }

  cancel(t: TimerHandle | undefined): void {
    if (t === undefined || t.cancelled) return;
    t.cancelled = true;
    this.cancelledCount++;
    if (this.cancelledCount >= COMPACT_MIN && this.cancelledCount * 2 >= this.heap.length) this.compact();
  }

  /** When the earliest live timer is due, or Infinity. */
  nextAtMs(): number {
    this.dropCancelledTop();
    return this.heap.length === 0 ? Infinity : this.heap[0].atMs;
  }

  /** Fires every timer due at or before nowMs (including ones scheduled by fired timers). */
  runDue(nowMs: number): number {
    let fired = 0;
    while (fired < TIMERS_PER_RUN_MAX) {
      this.dropCancelledTop();
      if (this.heap.length === 0 || this.heap[0].atMs > nowMs) break;
      const t = this.pop();
      t.cancelled = true; // fired timers count as done; cancel() on them is a no-op
      fired++;
      t.fire(nowMs);
    }
    return fired;
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) {
      this.pop();
      this.cancelledCount--;
    }
  }

  private pop(): TimerHandle {
    const top = this.heap[0];
    const last = this.heap.pop() as TimerHandle;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private compact(): void {
    this.heap = this.heap.filter((t) => !t.cancelled);
    this.cancelledCount = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private less(a: TimerHandle, b: TimerHandle): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
