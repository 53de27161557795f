import { assert } from '../util/assert.js';
import type { GossipMessage } from './messages.js';
import { messageSizeBytes, PACKET_PER_MESSAGE_BYTES } from './size.js';

/** How often each update is sent: retransmitMult * ceil(log10(n + 1)). */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** Counters the queue keeps (GossipStats has them). */
export interface QueueCounters {
  broadcastsQueued: number;
  broadcastsInvalidated: number;
  broadcastsDropped: number;
  broadcastsTransmitted: number;
}

interface Item {
  readonly key: string;
  readonly msg: GossipMessage;
  /** Bytes this message adds to a compound packet. */
  readonly sizeBytes: number;
  transmits: number;
}

/** Below this many free bytes no message can fit: stop scanning. */
const SMALLEST_MESSAGE_BYTES = 12;
/** Items in a row that did not fit before take() gives up filling the packet. */
const MISFITS_MAX = 32;

/**
 * memberlist's TransmitLimitedQueue, bounded: pending broadcasts bucketed by
 * transmit count. take() prefers the fewest transmits (oldest first within a
 * count), a newer update for the same key (member name) replaces the older
 * one, and past maxItems the most transmitted are dropped and counted.
 */
export class BroadcastQueue {
  /** buckets[t] holds the items sent t times, in insertion order. */
  private readonly buckets: Map<string, Item>[] = [];
  private readonly byKey = new Map<string, Item>();

  constructor(
    readonly maxItems: number,
    private readonly counters: QueueCounters,
  ) {
    assert(Number.isInteger(maxItems) && maxItems >= 1, 'queue bound must be >= 1');
  }

  get length(): number {
    return this.byKey.size;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Transmit count of the pending item under key (undefined if none). */
  transmitsOf(key: string): number | undefined {
    return this.byKey.get(key)?.transmits;
  }

  /** Drops the pending item under key (not counted as dropped: nobody needs it); false if none. */
  remove(key: string): boolean {
    const item = this.byKey.get(key);
    if (item === undefined) return false;
    this.removeItem(item);
    return true;
  }

  /** Queues msg under key, replacing any older item with the same key. */
  push(key: string, msg: GossipMessage): void {
    const old = this.byKey.get(key);
    if (old !== undefined) {
      this.removeItem(old);
      this.counters.broadcastsInvalidated++;
    }
    const item: Item = { key, msg, sizeBytes: messageSizeBytes(msg) + PACKET_PER_MESSAGE_BYTES, transmits: 0 };
    this.bucket(0).set(key, item);
    this.byKey.set(key, item);
    this.counters.broadcastsQueued++;
    while (this.byKey.size > this.maxItems) this.dropMostTransmitted();
  }

  /**
   * Messages that fit into budgetBytes (each costs its size plus the per-message
   * packet overhead), fewest transmits first. Each is counted as transmitted
   * once; an item reaching transmitLimit leaves the queue.
   */
  take(budgetBytes: number, transmitLimit: number): GossipMessage[] {
    const picked: Item[] = [];
    let free = budgetBytes;
    let misfits = 0;
    for (let t = 0; t < this.buckets.length && free >= SMALLEST_MESSAGE_BYTES && misfits < MISFITS_MAX; t++) {
      const b = this.buckets[t];
      for (const item of b.values()) {
        if (t >= transmitLimit) {
          // The cluster shrank: this one has been sent often enough.
          this.removeItem(item);
          continue;
        }
        if (item.sizeBytes > free) {
          if (++misfits >= MISFITS_MAX) break;
          continue;
        }
        misfits = 0;
        free -= item.sizeBytes;
        picked.push(item);
        if (free < SMALLEST_MESSAGE_BYTES) break;
      }
    }
    for (const item of picked) {
      this.buckets[item.transmits].delete(item.key);
      item.transmits++;
      this.counters.broadcastsTransmitted++;
      if (item.transmits >= transmitLimit) this.byKey.delete(item.key);
      else this.bucket(item.transmits).set(item.key, item);
    }
    return picked.map((i) => i.msg);
  }

  private bucket(t: number): Map<string, Item> {
    while (this.buckets.length <= t) this.buckets.push(new Map());
    return this.buckets[t];
  }

  private removeItem(item: Item): void {
    this.buckets[item.transmits].delete(item.key);
    this.byKey.delete(item.key);
  }

  private dropMostTransmitted(): void {
    for (let t = this.buckets.length - 1; t >= 0; t--) {
      const first = this.buckets[t].values().next();
      if (first.done === true) continue;
      this.removeItem(first.value);
      this.counters.broadcastsDropped++;
      return;
    }
  }
}
