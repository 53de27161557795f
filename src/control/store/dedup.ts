/**
 * Client sessions for at-most-once apply of retried requests (Ongaro's
 * dissertation, §6.3). A client numbers its requests 1, 2, 3... and has one
 * outstanding at a time; the store remembers per client the last sequence
 * applied and its result and answers a retry of it from there.
 *
 * Bounded: past sessionsMax the least recently used session is evicted, the
 * same one on every replica (apply order is log order). A client unknown to
 * the table whose seq is not 1 was evicted (or is confused): its request is
 * refused with ERR_SESSION_EXPIRED rather than risking a double apply.
 */
import { ErrorCode } from '../../util/errors.js';
import type { ApplyResult, RequestId } from './types.js';

export interface Session {
  readonly client: string;
  readonly lastSeq: number;
  readonly lastResult: ApplyResult;
}

export type DedupVerdict =
  /** New request: apply it, then record(). */
  | { readonly kind: 'apply' }
  /** A retry of the last request: answer this. */
  | { readonly kind: 'duplicate'; readonly result: ApplyResult }
  /** Not applied: answer with this error. */
  | { readonly kind: 'refuse'; readonly code: ErrorCode; readonly message: string };

export class SessionTable {
  /** Insertion order is recency order (least recent first). */
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly sessionsMax: number) {}

  get size(): number {
    return this.sessions.size;
  }

  check(req: RequestId): DedupVerdict {
    const s = this.sessions.get(req.client);
    if (s === undefined) {
      if (req.seq === 1) return { kind: 'apply' };
      return {
        kind: 'refuse',
        code: ErrorCode.SessionExpired,
        message: `no session for client ${req.client} (seq ${req.seq}): it was evicted; retry under a new client id`,
      };
    }
    if (req.seq === s.lastSeq) return { kind: 'duplicate', result: { ...s.lastResult, duplicate: true } };
    if (req.seq < s.lastSeq) {
      return {
        kind: 'refuse',
        code: ErrorCode.StaleRequest,
        message: `stale request ${req.seq} of client ${req.client}: it has moved on to ${s.lastSeq}`,
      };
    }
    return { kind: 'apply' };
  }

  record(req: RequestId, result: ApplyResult): void {
    this.sessions.delete(req.client);
    this.sessions.set(req.client, { client: req.client, lastSeq: req.seq, lastResult: result });
    while (this.sessions.size > this.sessionsMax) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
  }

  /** Sessions least recently used first (snapshots preserve the eviction order). */
  all(): Session[] {
    return [...this.sessions.values()];
  }
}
