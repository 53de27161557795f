/**
 * Time-driven callbacks for the shells (gossip, control, the Ready loop).
 * A shell never calls setTimeout, setInterval or setImmediate itself: it is
 * handed a ShellTimers, Node's own in the real world (nodeTimers), the
 * simulator's on virtual time (src/sim/shell-timers.ts), so the same shell
 * code runs in both.
 */

/** Stops a pending timer; calling it again, or after the timer ran, does nothing. */
export type CancelTimer = () => void;

export interface ShellTimers {
  /** Run fn once, delayMs from now. */
  after(delayMs: number, fn: () => void): CancelTimer;
  /** Run fn every intervalMs until cancelled. */
  every(intervalMs: number, fn: () => void): CancelTimer;
  /**
   * Run fn soon, after what is already due now (setImmediate): everything
   * that arrives in this turn of the event loop is seen by fn together.
   */
  defer(fn: () => void): void;
}

/** Node's timers. */
export const nodeTimers: ShellTimers = {
  after(delayMs, fn) {
    const t = setTimeout(fn, delayMs);
    return () => clearTimeout(t);
  },
  every(intervalMs, fn) {
    const t = setInterval(fn, intervalMs);
    return () => clearInterval(t);
  },
  defer(fn) {
    setImmediate(fn);
  },
};
