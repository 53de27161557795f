import { assert } from '../util/assert.js';

/** The cell array doubles when more than this fraction of it would be in use (linear probing stays short below it). */
const LOAD_MAX = 0.75;
const CAPACITY_MIN = 16;

/** FNV-1a over the UTF-16 code units, then a final mix so linear probing sees spread-out low bits. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * Name -> slot (a small non-negative integer) for the member table: open
 * addressing with linear probing in one Int32Array (at most 11 bytes per name,
 * against about 45 for a Map<string, number>). Every GossipCore holds one entry
 * per member, so a simulation of 10,000 cores holds 10^8 of them. The names
 * stay with the caller (nameAt), so nothing is stored twice; deletion shifts
 * entries back instead of leaving tombstones.
 */
export class NameIndex {
  /** slot + 1 per cell; 0 = empty. */
  private cells: Int32Array;
  private mask: number;
  private count = 0;

  constructor(
    private readonly nameAt: (slot: number) => string,
    capacity = CAPACITY_MIN,
  ) {
    let c = CAPACITY_MIN;
    while (c * LOAD_MAX < capacity) c *= 2;
    this.cells = new Int32Array(c);
    this.mask = c - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The slot of name, or -1. */
  get(name: string): number {
    const cells = this.cells;
    for (let i = hashName(name) & this.mask; ; i = (i + 1) & this.mask) {
      const v = cells[i];
      if (v === 0) return -1;
      if (this.nameAt(v - 1) === name) return v - 1;
    }
  }

  /** Maps name to slot, replacing any slot it had. */
  set(name: string, slot: number): void {
    assert(Number.isInteger(slot) && slot >= 0 && slot < 0x7fffffff, 'slot out of range');
    if ((this.count + 1) > this.cells.length * LOAD_MAX) this.rehash(this.cells.length * 2);
    const cells = this.cells;
    for (let i = hashName(name) & this.mask; ; i = (i + 1) & this.mask) {
      const v = cells[i];
      if (v === 0) {
        cells[i] = slot + 1;
        this.count++;
        return;
      }
      if (this.nameAt(v - 1) === name) {
        cells[i] = slot + 1;
        return;
      }
    }
  }

  /** Removes name (while nameAt still answers for every slot in the index). */
  delete(name: string): void {
    const cells = this.cells;
    const mask = this.mask;
    let i = hashName(name) & mask;
    for (; ; i = (i + 1) & mask) {
      const v = cells[i];
      if (v === 0) return;
      if (this.nameAt(v - 1) === name) break;
    }
    cells[i] = 0;
    this.count--;
    // Backward shift: move later entries of the probe run into the hole when their home allows it.
    for (let j = (i + 1) & mask; cells[j] !== 0; j = (j + 1) & mask) {
      const home = hashName(this.nameAt(cells[j] - 1)) & mask;
      // The entry at j may move to i iff its home is not in the cyclic range (i, j].
      const homeInRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (homeInRange) continue;
      cells[i] = cells[j];
      cells[j] = 0;
      i = j;
    }
  }

  private rehash(capacity: number): void {
    const old = this.cells;
    this.cells = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let k = 0; k < old.length; k++) {
      const v = old[k];
      if (v === 0) continue;
      let i = hashName(this.nameAt(v - 1)) & this.mask;
      while (this.cells[i] !== 0) i = (i + 1) & this.mask;
      this.cells[i] = v;
    }
  }
}
