/**
 * Flow control for one follower in replicate state: the App messages sent
 * and not yet acknowledged, as (last index, bytes) pairs in a ring buffer.
 * Full when either `maxCount` messages or `maxBytes` bytes are in flight
 * (the message that crosses maxBytes is still allowed: a single entry larger
 * than the budget must not stall replication forever).
 */
import { assert } from '../util/assert.js';

export class Inflights {
  private readonly indexes: number[];
  private readonly sizes: number[];
  private start = 0;
  private countValue = 0;
  private bytesValue = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {
    assert(maxCount > 0 && maxBytes > 0, 'inflight limits must be positive');
    this.indexes = new Array<number>(maxCount).fill(0);
    this.sizes = new Array<number>(maxCount).fill(0);
  }

  get count(): number {
    return this.countValue;
  }

  get bytes(): number {
    return this.bytesValue;
  }

  full(): boolean {
    return this.countValue >= this.maxCount || this.bytesValue >= this.maxBytes;
  }

  /** Records an App whose last entry is `index`. Indexes must increase. */
  add(index: number, sizeBytes: number): void {
    assert(!this.full(), 'add to full inflights');
    if (this.countValue > 0) {
      const lastSlot = (this.start + this.countValue - 1) % this.maxCount;
      assert(index > this.indexes[lastSlot], `inflight index ${index} not increasing`);
    }
    const slot = (this.start + this.countValue) % this.maxCount;
    this.indexes[slot] = index;
    this.sizes[slot] = sizeBytes;
    this.countValue++;
    this.bytesValue += sizeBytes;
  }

  /** Frees every message whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.countValue > 0 && this.indexes[this.start] <= index) {
      this.bytesValue -= this.sizes[this.start];
      this.start = (this.start + 1) % this.maxCount;
      this.countValue--;
    }
    if (this.countValue === 0) this.start = 0;
  }

  reset(): void {
    this.start = 0;
    this.countValue = 0;
    this.bytesValue = 0;
  }
}
