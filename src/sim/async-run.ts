/**
 * Running shells with async code (the Ready loop awaits its fsync) on the
 * synchronous Scheduler. A promise's continuation is a microtask: it runs
 * when the JavaScript stack unwinds, never inside Scheduler.runNext(). So
 * the loop here runs one event, then lets every microtask that event made
 * runnable finish (a macrotask turn, setImmediate, drains them all), then
 * runs the next event. A continuation therefore runs at the virtual time of
 * the event that resolved its promise, as it would in the real world, and a
 * run replays by seed: nothing but this loop schedules macrotasks, and the
 * shells get their timers and clocks from the simulation.
 *
 * Drains cost a few microseconds; events known to settle no promise
 * (message deliveries, ticks) skip them: whoever schedules work that may
 * resolve or start a promise calls markAsync() (src/sim/shell-timers.ts and
 * src/sim/cluster-net.ts do), and runs always drain before they return.
 */
import type { Scheduler } from './scheduler.js';

/** Let every queued microtask (and those they queue) run. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class AsyncRunner {
  /** Set by markAsync(): the event being run may have left microtasks to drain. */
  private dirty = true;
  /** Drain after every event, marked or not (slower; for checking that marks are where they must be). */
  drainEveryEvent = false;
  drains = 0;

  constructor(readonly scheduler: Scheduler) {}

  /** The current event may settle or start a promise: drain before the next one. */
  markAsync(): void {
    this.dirty = true;
  }

  /** Run every event due at or before timeMs (with its microtasks), then set the clock to timeMs. */
  async runUntil(timeMs: number): Promise<void> {
    await this.drain();
    for (;;) {
      while (this.scheduler.runNext(timeMs)) {
        if (this.dirty || this.drainEveryEvent) await this.drain();
      }
      await this.drain();
      const next = this.scheduler.nextEventTimeMs();
      if (next === undefined || next > timeMs) break;
    }
    this.scheduler.runUntil(timeMs);
  }

  runFor(durationMs: number): Promise<void> {
    return this.runUntil(this.scheduler.nowMs + durationMs);
  }

  /**
   * Run until pred() holds, checked every checkEveryMs of virtual time (and
   * at the start), or maxMs pass. Returns whether it held.
   */
  async runUntilCondition(pred: () => boolean, maxMs: number, checkEveryMs: number): Promise<boolean> {
    await this.drain();
    if (pred()) return true;
    const endMs = this.scheduler.nowMs + maxMs;
    while (this.scheduler.nowMs < endMs) {
      await this.runUntil(Math.min(endMs, this.scheduler.nowMs + checkEveryMs));
      if (pred()) return true;
    }
    return false;
  }

  private async drain(): Promise<void> {
    this.dirty = false;
    this.drains++;
    await drainMicrotasks();
  }
}
