/**
 * The existence log of the history: every creation (+1) and deletion (-1)
 * of a key, in revision order, so the number of keys of a range at a past
 * revision is its live count minus the creations and deletions since,
 * without visiting the keys and without touching overwrites.
 *
 * "How many of the range's keys were created or deleted after revision R"
 * is a two-dimensional count (revisions after R, keys in a range), answered
 * by square-root decomposition: the log is cut into blocks of blockEntries
 * entries in revision order; a full block is sealed with its keys sorted
 * and the prefix sums of their deltas, so it answers for a key range with
 * two binary searches. A query scans at most the block R falls in and the
 * open block, and binary-searches the others: O(blockEntries + blocks *
 * log blockEntries), a few hundred microseconds for a million entries.
 */
import { compareKeys } from './keys.js';

/** Entries per block: a block is sorted once (about a millisecond), and a query scans at most two. */
const blockEntries = 4096;

interface Block {
  readonly revs: number[];
  readonly keys: string[];
  readonly deltas: number[];
  /** Once sealed: the keys in key order, and sums[i] = the deltas of sortedKeys[0..i). */
  sortedKeys?: string[];
  sums?: number[];
}

export class ExistenceLog {
  private blocks: Block[] = [];
  private head = 0;

  /** Entries appended must come in revision order. */
  append(revision: number, key: string, delta: number): void {
    let open = this.blocks[this.blocks.length - 1];
    if (open === undefined || open.sortedKeys !== undefined) {
      open = { revs: [], keys: [], deltas: [] };
      this.blocks.push(open);
    }
    open.revs.push(revision);
    open.keys.push(key);
    open.deltas.push(delta);
    if (open.revs.length >= blockEntries) seal(open);
  }

  /** Entries of revisions below `revision` will not be asked for again: drop the blocks made only of them. */
  compact(revision: number): void {
    while (this.head < this.blocks.length) {
      const b = this.blocks[this.head];
      if (b.revs[b.revs.length - 1] >= revision) break;
      this.blocks[this.head] = emptyBlock;
      this.head++;
    }
    if (this.head >= 64 && this.head * 2 >= this.blocks.length) {
      this.blocks = this.blocks.slice(this.head);
      this.head = 0;
    }
  }

  /** The sum of the deltas of entries after `revision` whose key starts with prefix and sorts after `after` (if given). */
  deltaSince(revision: number, prefix: string, after: string | undefined): number {
    // The first block with an entry after `revision`.
    let lo = this.head;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.blocks[mid];
      if (b.revs[b.revs.length - 1] <= revision) lo = mid + 1;
      else hi = mid;
    }
    const inRange = (key: string): boolean => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0);
    let delta = 0;
    for (let i = lo; i < this.blocks.length; i++) {
      const b = this.blocks[i];
      if (i === lo || b.sortedKeys === undefined) {
        for (let j = 0; j < b.revs.length; j++) if (b.revs[j] > revision && inRange(b.keys[j])) delta += b.deltas[j];
        continue;
      }
      const sorted = b.sortedKeys;
      const sums = b.sums as number[];
      const start =
        after !== undefined && compareKeys(after, prefix) >= 0
          ? countWhile(sorted, (k) => compareKeys(k, after) <= 0)
          : countWhile(sorted, (k) => compareKeys(k, prefix) < 0);
      const end = countWhile(sorted, (k) => compareKeys(k, prefix) < 0 || k.startsWith(prefix));
      if (end > start) delta += sums[end] - sums[start];
    }
    return delta;
  }
}

const emptyBlock: Block = { revs: [0], keys: [''], deltas: [0] };

function seal(b: Block): void {
  const order = b.keys.map((_, i) => i).sort((x, y) => compareKeys(b.keys[x], b.keys[y]));
  b.sortedKeys = order.map((i) => b.keys[i]);
  const sums = [0];
  for (const i of order) sums.push(sums[sums.length - 1] + b.deltas[i]);
  b.sums = sums;
}

/** How many of the sorted keys, from the first, satisfy `below` (true for a leading run). */
function countWhile(sorted: readonly string[], below: (key: string) => boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (below(sorted[mid])) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
