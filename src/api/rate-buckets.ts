/**
 * A token bucket per client, in a table of at most clientsMax buckets (the
 * least recently used one is evicted past it). Pure: the caller passes the
 * time; no timers.
 *
 * A bucket holds up to burstMax tokens and refills at perSecond tokens a
 * second; each request takes one. A client not in the table starts full, so
 * evicting a bucket that has refilled loses nothing; only a client idle for
 * less than burstMax / perSecond (2 s by default) and then pushed out by
 * clientsMax more recent clients gets its burst back early.
 */
import { assert } from '../util/assert.js';

export interface RateBucketLimits {
  /** Tokens added per second (the sustained request rate). */
  perSecond: number;
  /** Tokens a bucket holds at most (the burst). */
  burstMax: number;
  /** Buckets kept; past it the least recently used is evicted. */
  clientsMax: number;
}

/** The answer to take(): allowed, or refused with the wait until one token is back. */
export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateBuckets {
  /** Insertion order is recency order: a touched bucket is moved to the end. */
  private readonly buckets = new Map<string, Bucket>();
  /** Buckets evicted to stay within clientsMax. */
  evicted = 0;

  constructor(private readonly limits: Readonly<RateBucketLimits>) {
    assert(Number.isFinite(limits.perSecond) && limits.perSecond > 0, `perSecond must be a positive finite number, not ${limits.perSecond}`);
    assert(Number.isFinite(limits.burstMax) && limits.burstMax >= 1, `burstMax must be at least 1, not ${limits.burstMax}`);
    assert(Number.isSafeInteger(limits.clientsMax) && limits.clientsMax >= 1, `clientsMax must be a positive integer, not ${limits.clientsMax}`);
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token of client's bucket at nowMs (a monotonic clock). */
  take(client: string, nowMs: number): TakeResult {
    const { perSecond, burstMax } = this.limits;
    let b = this.buckets.get(client);
    if (b === undefined) {
      b = { tokens: burstMax, atMs: nowMs };
    } else {
      this.buckets.delete(client);
      // A clock that steps back refills nothing (and takes nothing away).
      const elapsedMs = Math.max(0, nowMs - b.atMs);
      b.tokens = Math.min(burstMax, b.tokens + (elapsedMs * perSecond) / 1000);
      b.atMs = Math.max(b.atMs, nowMs);
    }
    this.buckets.set(client, b);
    this.evictPastMax();
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) * 1000) / perSecond) };
  }

  private evictPastMax(): void {
    while (this.buckets.size > this.limits.clientsMax) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
      this.evicted++;
    }
    assert(this.buckets.size <= this.limits.clientsMax, 'bucket table within clientsMax');
  }
}
