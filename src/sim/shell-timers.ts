/**
 * The shells' timers (src/agent/timers.ts) on virtual time, for one run of
 * one simulated process. Every callback is a Scheduler event owned by the
 * process's address, so pausing the process holds them and crashing it
 * cancels them; after kill() nothing of this run is scheduled or run again
 * (a dead process's leftover continuations cannot arm new timers).
 */
import type { CancelTimer, ShellTimers } from '../agent/timers.js';
import type { AsyncRunner } from './async-run.js';
import type { Scheduler } from './scheduler.js';

export class SimShellTimers implements ShellTimers {
  private dead = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly runner: AsyncRunner,
    private readonly owner: string,
  ) {}

  /** The process is gone: pending callbacks of this run never fire. */
  kill(): void {
    this.dead = true;
  }

  after(delayMs: number, fn: () => void): CancelTimer {
    if (this.dead) return noop;
    const id = this.scheduler.after(Math.max(0, delayMs), () => this.fire(fn), this.owner);
    return () => void this.scheduler.cancel(id);
  }

  every(intervalMs: number, fn: () => void): CancelTimer {
    if (this.dead) return noop;
    let id = -1;
    let cancelled = false;
    const arm = (): void => {
      id = this.scheduler.after(
        intervalMs,
        () => {
          if (cancelled) return;
          arm();
          this.fire(fn);
        },
        this.owner,
      );
    };
    arm();
    return () => {
      cancelled = true;
      this.scheduler.cancel(id);
    };
  }

  defer(fn: () => void): void {
    if (this.dead) return;
    this.scheduler.after(0, () => this.fire(fn), this.owner);
  }

  private fire(fn: () => void): void {
    if (this.dead) return;
    // A timer callback may settle a promise (a deadline) or start async work (the Ready loop).
    this.runner.markAsync();
    fn();
  }
}

const noop: CancelTimer = () => undefined;
