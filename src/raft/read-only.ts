/**
 * ReadIndex bookkeeping on the leader (etcd's readOnly): each request
 * records the commit index when it arrived; a heartbeat round carrying its
 * context, acknowledged by a quorum, confirms leadership for it and for
 * every request queued before it. Contexts must be unique cluster-wide.
 */
import type { NodeId } from './types.js';

export interface ReadIndexRequest {
  index: number;
  /** Who asked: the leader itself or a follower that forwarded the request. */
  from: NodeId;
  context: Uint8Array;
  acks: Set<NodeId>;
}

export function contextKey(context: Uint8Array): string {
  return Buffer.from(context.buffer, context.byteOffset, context.byteLength).toString('hex');
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexRequest>();
  private queue: string[] = [];

  constructor(readonly maxPending: number) {}

  get size(): number {
    return this.queue.length;
  }

  /** Returns false if the request is refused: queue full or context already pending. */
  add(index: number, from: NodeId, context: Uint8Array): boolean {
    const key = contextKey(context);
    if (this.pending.has(key) || this.queue.length >= this.maxPending) return false;
    this.pending.set(key, { index, from, context, acks: new Set() });
    this.queue.push(key);
    return true;
  }

  /** Records `from`'s heartbeat ack for `context`; returns the acks so far, if pending. */
  recvAck(from: NodeId, context: Uint8Array): Set<NodeId> | undefined {
    const req = this.pending.get(contextKey(context));
    if (req === undefined) return undefined;
    req.acks.add(from);
    return req.acks;
  }

  /** Removes and returns every request up to and including `context`, in order. */
  advance(context: Uint8Array): ReadIndexRequest[] {
    const key = contextKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadIndexRequest[] = [];
    for (const k of done) {
      const req = this.pending.get(k);
      if (req !== undefined) out.push(req);
      this.pending.delete(k);
    }
    return out;
  }

  /** Removes and returns every pending request (the leader is stepping down). */
  drain(): ReadIndexRequest[] {
    const out: ReadIndexRequest[] = [];
    for (const k of this.queue) {
      const req = this.pending.get(k);
      if (req !== undefined) out.push(req);
    }
    this.queue = [];
    this.pending.clear();
    return out;
  }

  lastPendingContext(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])?.context;
  }
}
