/**
 * Client requests waiting on the Raft shell: proposals (until their entry is
 * applied here) and ReadIndex reads (until the read index is applied here).
 * Bounded: past `maxPending` a new request is refused at once. Every request
 * has a deadline; expire() fails overdue ones with ERR_TIMEOUT (outcome
 * unknown for a proposal: it may still commit).
 *
 * All requests share one timeout, so insertion order is deadline order and
 * expire() stops at the first request not yet due.
 */
import { ErrorCode, ShoalError } from '../util/errors.js';

interface Waiter<T> {
  deadlineMs: number;
  resolve(value: T): void;
  reject(error: ShoalError): void;
  cleanup: (() => void) | undefined;
}

export class PendingTable<T> {
  private readonly waiters = new Map<string, Waiter<T>>();
  refusedFull = 0;
  timedOut = 0;

  constructor(
    private readonly what: string,
    private readonly maxPending: number,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.waiters.size;
  }

  has(key: string): boolean {
    return this.waiters.has(key);
  }

  /**
   * Register a request under `key`. Rejects at once when the table is full, the
   * key is already waiting, or the signal is aborted; an abort later rejects it
   * with ERR_ABORTED (the request itself may still take effect).
   */
  add(key: string, nowMs: number, signal?: AbortSignal): Promise<T> {
    if (this.waiters.size >= this.maxPending) {
      this.refusedFull++;
      return Promise.reject(
        new ShoalError(ErrorCode.Unavailable, `too many pending ${this.what}s (${this.maxPending})`, {
          details: { outcome: 'not-applied' },
        }),
      );
    }
    if (this.waiters.has(key)) {
      return Promise.reject(new ShoalError(ErrorCode.InvalidArgument, `${this.what} ${key} is already pending`));
    }
    if (signal?.aborted === true) return Promise.reject(new ShoalError(ErrorCode.Aborted, `${this.what} aborted`));
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T> = { deadlineMs: nowMs + this.timeoutMs, resolve, reject, cleanup: undefined };
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (this.waiters.get(key) !== w) return;
          this.waiters.delete(key);
          reject(new ShoalError(ErrorCode.Aborted, `${this.what} aborted`, { details: { outcome: 'unknown' } }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiters.set(key, w);
    });
  }

  resolve(key: string, value: T): boolean {
    const w = this.waiters.get(key);
    if (w === undefined) return false;
    this.waiters.delete(key);
    w.cleanup?.();
    w.resolve(value);
    return true;
  }

  reject(key: string, error: ShoalError): boolean {
    const w = this.waiters.get(key);
    if (w === undefined) return false;
    this.waiters.delete(key);
    w.cleanup?.();
    w.reject(error);
    return true;
  }

  /** Fail every request whose deadline has passed. */
  expire(nowMs: number): void {
    for (const [key, w] of this.waiters) {
      if (w.deadlineMs > nowMs) break;
      this.timedOut++;
      this.reject(
        key,
        new ShoalError(ErrorCode.Timeout, `${this.what} not completed in time (outcome unknown)`, { details: { outcome: 'unknown' } }),
      );
    }
  }

  rejectAll(error: ShoalError): void {
    for (const key of [...this.waiters.keys()]) this.reject(key, error);
  }
}
