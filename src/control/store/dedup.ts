/**
 * Client sessions for at-most-once apply of retried requests (Ongaro's
 * dissertation, §6.3). A client numbers its requests 1, 2, 3... and has one
 * outstanding at a time; the store remembers per client the last sequence
 * applied and its result and answers a retry of it from there.
 *
 * Bounded by count and by bytes, the same way on every replica (apply order
 * is log order):
 *  - past sessionsMax the least recently used session is evicted. A client
 *    unknown to the table whose seq is not 1 was evicted (or is confused): its
 *    request is refused with ERR_SESSION_EXPIRED rather than risking a double
 *    apply;
 *  - past sessionResultsBytesMax (space.ts: resultBytes) the least recently
 *    used results are shed, and a result larger than that alone is never
 *    kept. The session stays (its client goes on with seq + 1 as usual); only
 *    a retry of exactly that request is refused, with ERR_STALE_REQUEST and
 *    details.applied = true naming the revision it was applied at: the answer
 *    is lost, never invented, and the request is never applied twice.
 */
import { ErrorCode } from '../../util/errors.js';
import { resultBytes } from './space.js';
import type { ApplyResult, RequestId } from './types.js';

export interface Session {
  readonly client: string;
  readonly lastSeq: number;
  /** The store's revision after the last request was applied. */
  readonly lastRevision: number;
  /** Its result; absent once shed. */
  readonly lastResult?: ApplyResult;
}

export type DedupVerdict =
  /** New request: apply it, then record(). */
  | { readonly kind: 'apply' }
  /** A retry of the last request: answer this. */
  | { readonly kind: 'duplicate'; readonly result: ApplyResult }
  /** Not applied: answer with this error. */
  | {
      readonly kind: 'refuse';
      readonly code: ErrorCode;
      readonly message: string;
      readonly details?: Readonly<Record<string, string | number | boolean>>;
    };

export class SessionTable {
  /** Insertion order is recency order (least recent first). */
  private readonly sessions = new Map<string, Session>();
  /** Clients whose result is kept, with its accounted bytes, in the same recency order. */
  private readonly kept = new Map<string, number>();
  private keptBytesTotal = 0;

  constructor(
    private readonly sessionsMax: number,
    private readonly resultsBytesMax: number,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Accounted bytes of the results kept. */
  get resultsBytes(): number {
    return this.keptBytesTotal;
  }

  /** Results shed so far (local counter). */
  shed = 0;

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
    if (req.seq === s.lastSeq) {
      if (s.lastResult !== undefined) return { kind: 'duplicate', result: { ...s.lastResult, duplicate: true } };
      return {
        kind: 'refuse',
        code: ErrorCode.StaleRequest,
        message: `request ${req.seq} of client ${req.client} was applied at revision ${s.lastRevision}, but its result was too large to keep for a retry: read the keys to see its effect`,
        details: { applied: true, revision: s.lastRevision },
      };
    }
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
    this.forget(req.client);
    const bytes = resultBytes(result);
    const keep = bytes <= this.resultsBytesMax;
    this.sessions.set(req.client, { client: req.client, lastSeq: req.seq, lastRevision: result.revision, ...(keep ? { lastResult: result } : {}) });
    if (keep) this.keep(req.client, bytes);
    else this.shed++;
    while (this.sessions.size > this.sessionsMax) this.forget(this.sessions.keys().next().value as string);
    this.shedPastBound();
  }

  /** Restore support: a session as a snapshot holds it, most recent last; call shedPastBound() after the last. */
  restore(session: Session): void {
    this.forget(session.client);
    this.sessions.set(session.client, session);
    if (session.lastResult !== undefined) this.keep(session.client, resultBytes(session.lastResult));
  }

  /** Shed least recently used results until the kept ones fit. */
  shedPastBound(): void {
    while (this.keptBytesTotal > this.resultsBytesMax) {
      const [client, bytes] = this.kept.entries().next().value as [string, number];
      this.kept.delete(client);
      this.keptBytesTotal -= bytes;
      const s = this.sessions.get(client) as Session;
      this.sessions.set(client, { client, lastSeq: s.lastSeq, lastRevision: s.lastRevision }); // same position: set() of an existing key keeps its order
      this.shed++;
    }
  }

  /** Sessions least recently used first (snapshots preserve the eviction order). */
  all(): Session[] {
    return [...this.sessions.values()];
  }

  private keep(client: string, bytes: number): void {
    this.kept.set(client, bytes);
    this.keptBytesTotal += bytes;
  }

  private forget(client: string): void {
    this.sessions.delete(client);
    const bytes = this.kept.get(client);
    if (bytes !== undefined) {
      this.kept.delete(client);
      this.keptBytesTotal -= bytes;
    }
  }
}
