/**
 * Request ids for the config store's dedup sessions. The store keeps one
 * session per client with one outstanding request (Ongaro §6.3), so
 * concurrent writes from one member each take a "lane": a client id of its
 * own whose seq moves on by one per request. A lane is free again once its
 * request is answered. Bounded: lanesMax lanes; past it a fresh lane id is
 * used and dropped after (the store's session table evicts least recently
 * used clients).
 */
import type { RequestId } from '../control/store/types.js';

export interface Lane {
  readonly index: number;
  readonly req: RequestId;
}

/** Concurrent writes per member beyond this share nothing and leave their sessions to eviction. */
export const lanesMax = 4096;

export class LanePool {
  private readonly free: number[] = [];
  private readonly seqs: number[] = [];
  private overflow = 0;

  constructor(private readonly clientBase: string) {}

  acquire(): Lane {
    let index = this.free.pop();
    if (index === undefined) {
      if (this.seqs.length >= lanesMax) {
        // A one-off client: seq 1 of a client no one else uses.
        return { index: -1, req: { client: `${this.clientBase}.x${++this.overflow}`, seq: 1 } };
      }
      index = this.seqs.length;
      this.seqs.push(0);
    }
    const seq = ++this.seqs[index]!;
    return { index, req: { client: `${this.clientBase}.${index}`, seq } };
  }

  release(lane: Lane): void {
    if (lane.index >= 0) this.free.push(lane.index);
  }
}
