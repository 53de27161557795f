/**
 * Client requests in flight on one member, keyed by their entry/read tag
 * (entry-envelope.ts). Bounded by maxPendingRequests; each has a deadline
 * after which the core answers it with ERR_TIMEOUT or ERR_NO_QUORUM.
 */
import type { ReadQuery } from './control-types.js';

export type PendingRequest =
  | PendingBase & { kind: 'write'; data: Uint8Array }
  | PendingBase & { kind: 'read'; query: ReadQuery; attempt: number; readIndex: number | undefined }
  | PendingBase & { kind: 'remove-peer'; node: string };

interface PendingBase {
  requestId: string;
  tag: string;
  deadlineMs: number;
  /** When it was last proposed / asked of the leader. */
  lastAttemptMs: number;
  /** Re-propose (or re-ask) at the next tick: it was dropped or the leader changed. */
  retryDue: boolean;
  /** Internal requests (the leader's own lease expiries) are not answered to a client. */
  internal: boolean;
}

/** Read contexts are `tag \u0001 attempt`: a retried read gets a fresh context (ReadIndex contexts must be unique). */
export function readContext(tag: string, attempt: number): string {
  return `${tag}\u0001${attempt}`;
}

export function tagOfReadContext(context: string): string {
  const at = context.lastIndexOf('\u0001');
  return at < 0 ? context : context.slice(0, at);
}

export class PendingRequests {
  private readonly byTag = new Map<string, PendingRequest>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.byTag.size;
  }

  get full(): boolean {
    return this.byTag.size >= this.max;
  }

  has(tag: string): boolean {
    return this.byTag.has(tag);
  }

  add(req: PendingRequest): void {
    this.byTag.set(req.tag, req);
  }

  get(tag: string): PendingRequest | undefined {
    return this.byTag.get(tag);
  }

  remove(tag: string): PendingRequest | undefined {
    const req = this.byTag.get(tag);
    if (req !== undefined) this.byTag.delete(tag);
    return req;
  }

  /** Removes and returns requests past their deadline. */
  takeExpired(nowMs: number): PendingRequest[] {
    const out: PendingRequest[] = [];
    for (const req of this.byTag.values()) if (req.deadlineMs <= nowMs) out.push(req);
    for (const req of out) this.byTag.delete(req.tag);
    return out;
  }

  values(): IterableIterator<PendingRequest> {
    return this.byTag.values();
  }

  /** Removes and returns everything (the Raft node went away). */
  drain(): PendingRequest[] {
    const out = [...this.byTag.values()];
    this.byTag.clear();
    return out;
  }
}
