/**
 * Requests that arrive while no leader is known wait here (instead of being
 * refused at once by the core) until a leader is known or `waitMs` passes,
 * like etcd's proposals that block through an election. A request that
 * expires here was never given to Raft, so it definitely did not apply.
 *
 * One wait for all, so insertion order is deadline order. Bounded by the
 * shell's pending tables (every entry here is also pending there) and by
 * `maxWaiting`.
 */
interface Waiting {
  key: string;
  deadlineMs: number;
  submit: () => void;
}

export class LeaderWaitQueue {
  private queue: Waiting[] = [];
  expired = 0;

  constructor(
    private readonly waitMs: number,
    private readonly maxWaiting: number,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  /** False when full (the caller refuses the request). */
  add(key: string, nowMs: number, submit: () => void): boolean {
    if (this.queue.length >= this.maxWaiting) return false;
    this.queue.push({ key, deadlineMs: nowMs + this.waitMs, submit });
    return true;
  }

  /** A leader is known: hand every waiting request to Raft, in arrival order. */
  flush(): void {
    const q = this.queue;
    this.queue = [];
    for (const w of q) w.submit();
  }

  /** Give up on requests that waited too long; `onExpire` fails each one. */
  expire(nowMs: number, onExpire: (key: string) => void): void {
    let n = 0;
    while (n < this.queue.length && this.queue[n].deadlineMs <= nowMs) n++;
    if (n === 0) return;
    const gone = this.queue.splice(0, n);
    this.expired += n;
    for (const w of gone) onExpire(w.key);
  }

  /** Drop everything (the shell is stopping; the pending tables reject the requests). */
  clear(): void {
    this.queue = [];
  }
}
