/**
 * Client requests in flight on one member, keyed by their entry/read tag
 * (entry-envelope.ts), and their answers. Each request is answered exactly
 * once: when this member applies its entry (writes), when the store has
 * applied the read index (linearizable reads), when the conf change is
 * applied (peer removal), when it is refused, or at its deadline with
 * ERR_NO_QUORUM (no leader known) or ERR_TIMEOUT. Dropped proposals and
 * reads, and everything in flight when the leader changes, are asked again
 * (re-proposing a write is safe: the store's dedup applies a request id
 * once); so is anything unanswered for retryIntervalMs.
 * Bounded by maxPendingRequests.
 */
import type { ConfChange } from '../raft/types.js';
import { ConfChangeType } from '../raft/types.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { ControlCounters, ControlResult, ReadQuery } from './control-types.js';
import { tagBytes } from './entry-envelope.js';

export type PendingRequest =
  | (PendingBase & { kind: 'write'; data: Uint8Array })
  | (PendingBase & { kind: 'read'; query: ReadQuery; attempt: number; readIndex: number | undefined })
  | (PendingBase & { kind: 'remove-peer'; node: string });

interface PendingBase {
  requestId: string;
  tag: string;
  deadlineMs: number;
  /** When it was last proposed / asked of the leader. */
  lastAttemptMs: number;
  /** Ask again at the next tick: it was dropped or the leader changed. */
  retryDue: boolean;
  /** Internal requests (the leader's own lease expiries) are not answered to a client. */
  internal: boolean;
}

/** How the tracker (re)sends requests: the member's RaftNode. */
export interface RequestSender {
  propose(data: Uint8Array, context: Uint8Array): void;
  readIndex(context: Uint8Array): void;
  proposeConfChange(cc: ConfChange, context: Uint8Array): void;
}

/** Read contexts are `tag \u0001 attempt`: a retried read gets a fresh context (ReadIndex contexts must be unique). */
export function readContext(tag: string, attempt: number): string {
  return `${tag}\u0001${attempt}`;
}

export function tagOfReadContext(context: string): string {
  const at = context.lastIndexOf('\u0001');
  return at < 0 ? context : context.slice(0, at);
}

const retryableDrops: ReadonlySet<string> = new Set([ErrorCode.NotLeader, ErrorCode.ProposalDropped, ErrorCode.Unavailable]);
const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Retries are looked for at most this often (and at once after a drop or a leader change). */
export const retryScanIntervalMs = 50;

export class RequestTracker {
  /** Insertion order is deadline order: every request gets the same timeout from a clock that never goes back. */
  private readonly byTag = new Map<string, PendingRequest>();
  /** Linearizable reads that have their read index and wait for the store to apply it. */
  private readonly indexedReads = new Set<PendingRequest & { kind: 'read' }>();
  private results: ControlResult[] = [];
  private internalCount = 0;
  private retryScanDue = false;
  private lastRetryScanMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly max: number,
    private readonly retryIntervalMs: number,
    private readonly counters: ControlCounters,
    /** Called with the outcome of an internal request (error code, or undefined for ok/unknown). */
    private readonly onInternalResult: (code: string | undefined) => void,
  ) {}

  get size(): number {
    return this.byTag.size;
  }

  get full(): boolean {
    return this.byTag.size >= this.max;
  }

  get hasResults(): boolean {
    return this.results.length > 0;
  }

  get internalInFlight(): boolean {
    return this.internalCount > 0;
  }

  has(tag: string): boolean {
    return this.byTag.has(tag);
  }

  add(req: PendingRequest): void {
    this.byTag.set(req.tag, req);
    if (req.internal) this.internalCount++;
  }

  takeResults(): ControlResult[] {
    const out = this.results;
    this.results = [];
    return out;
  }

  /** Answer at once (a request refused before it was taken, or a serializable read). */
  answer(result: ControlResult): void {
    this.results.push(result);
  }

  refuse(requestId: string, error: ShoalError): void {
    this.counters.requestsRefused++;
    this.results.push({ requestId, ok: false, error });
  }

  /** The entry with this tag was applied here with `result`. */
  onApplied(tag: string, result: ControlResult): void {
    const req = this.byTag.get(tag);
    if (req !== undefined) this.finish(req, result);
  }

  /** A conf change removing `node` was applied. */
  onConfChangeApplied(cc: ConfChange): void {
    if (cc.type !== ConfChangeType.RemoveNode) return;
    for (const req of [...this.byTag.values()]) {
      if (req.kind === 'remove-peer' && req.node === cc.node) this.finish(req, { requestId: req.requestId, ok: true, value: { removed: cc.node } });
    }
  }

  onReadIndex(context: string, index: number): void {
    const req = this.byTag.get(tagOfReadContext(context));
    if (req?.kind === 'read' && req.readIndex === undefined) {
      req.readIndex = index;
      this.indexedReads.add(req);
    }
  }

  /** Answer linearizable reads whose read index the store has applied. */
  answerReads(appliedIndex: number, serve: (requestId: string, q: ReadQuery) => ControlResult): void {
    for (const req of [...this.indexedReads]) {
      if (req.readIndex !== undefined && req.readIndex <= appliedIndex) this.finish(req, serve(req.requestId, req.query));
    }
  }

  /** Raft refused a proposal or read of ours: ask again later if it may succeed, else answer the error. */
  onDropped(context: string, code: string): void {
    const req = this.byTag.get(tagOfReadContext(context));
    if (req === undefined) return;
    if (retryableDrops.has(code)) {
      req.retryDue = true;
      this.retryScanDue = true;
      return;
    }
    const errorCode = knownCodes.has(code) ? (code as ErrorCode) : ErrorCode.ProposalDropped;
    this.finish(req, { requestId: req.requestId, ok: false, error: new ShoalError(errorCode, `request ${req.requestId} refused: ${code}`) });
  }

  /**
   * This member stopped leading: forget its own commands (lease expiries decided
   * on its clock must not be re-proposed to the next leader, whose clock rules now).
   */
  forgetInternal(): void {
    for (const req of [...this.byTag.values()]) {
      if (!req.internal) continue;
      this.byTag.delete(req.tag);
      this.internalCount--;
      this.onInternalResult(undefined);
    }
  }

  /** A new leader (or none): whatever went to the old one may be lost. */
  onLeaderChanged(): void {
    for (const req of this.byTag.values()) req.retryDue = true;
    this.retryScanDue = true;
  }

  /** Answer requests past their deadline. */
  expire(nowMs: number, leader: string, timeoutMs: number): void {
    const expired: PendingRequest[] = [];
    for (const req of this.byTag.values()) {
      if (req.deadlineMs > nowMs) break; // deadline order
      expired.push(req);
    }
    for (const req of expired) {
      this.counters.requestsTimedOut++;
      const code = leader === '' ? ErrorCode.NoQuorum : ErrorCode.Timeout;
      const why = leader === '' ? 'no leader' : `leader ${leader}`;
      this.finish(req, {
        requestId: req.requestId,
        ok: false,
        error: new ShoalError(code, `request ${req.requestId} not answered within ${timeoutMs} ms (${why})`),
      });
    }
  }

  /** Ask again what was dropped, what may have gone to a leader that is gone, or what waited too long. */
  retry(nowMs: number, sender: RequestSender): void {
    if (!this.retryScanDue && nowMs - this.lastRetryScanMs < retryScanIntervalMs) return;
    this.retryScanDue = false;
    this.lastRetryScanMs = nowMs;
    for (const req of this.byTag.values()) {
      if (!req.retryDue && nowMs - req.lastAttemptMs < this.retryIntervalMs) continue;
      if (req.kind === 'read' && req.readIndex !== undefined) continue;
      req.retryDue = false;
      req.lastAttemptMs = nowMs;
      if (req.kind === 'write') {
        this.counters.proposalsRetried++;
        sender.propose(req.data, tagBytes(req.tag));
      } else if (req.kind === 'read') {
        this.counters.readsRetried++;
        req.attempt++;
        sender.readIndex(tagBytes(readContext(req.tag, req.attempt)));
      } else {
        sender.proposeConfChange({ type: ConfChangeType.RemoveNode, node: req.node }, tagBytes(req.tag));
      }
    }
  }

  private finish(req: PendingRequest, result: ControlResult): void {
    this.byTag.delete(req.tag);
    if (req.kind === 'read') this.indexedReads.delete(req);
    if (req.internal) {
      this.internalCount--;
      // A timeout says nothing about the outcome: only an applied error moves the internal client on.
      this.onInternalResult(result.ok || result.error.code === ErrorCode.Timeout || result.error.code === ErrorCode.NoQuorum ? undefined : result.error.code);
      return;
    }
    this.results.push(result);
  }
}
