/**
 * The live keys: a map for point lookups beside a sorted array for prefix
 * ranges (binary search to the first key of a prefix, then a scan). Inserts
 * and deletes move the array tail; at a config store's size (up to a
 * million keys) that is a memmove, cheaper than a tree's allocations.
 */
import { assert } from '../../util/assert.js';
import { compareKeys, utf8Bytes } from './keys.js';
import type { KeyValue } from './types.js';

export class KeyIndex {
  private readonly kvs = new Map<string, KeyValue>();
  private readonly sorted: string[] = [];
  /** Keys plus values of all live keys, in bytes (the quota's measure). */
  private dataBytesTotal = 0;

  get size(): number {
    return this.kvs.size;
  }

  get dataBytes(): number {
    return this.dataBytesTotal;
  }

  get(key: string): KeyValue | undefined {
    return this.kvs.get(key);
  }

  set(kv: KeyValue): void {
    const prev = this.kvs.get(kv.key);
    if (prev === undefined) {
      const at = this.lowerBound(kv.key);
      this.sorted.splice(at, 0, kv.key);
      this.dataBytesTotal += utf8Bytes(kv.key);
    } else {
      this.dataBytesTotal -= prev.value.length;
    }
    this.dataBytesTotal += kv.value.length;
    this.kvs.set(kv.key, kv);
  }

  delete(key: string): KeyValue | undefined {
    const prev = this.kvs.get(key);
    if (prev === undefined) return undefined;
    const at = this.lowerBound(key);
    assert(this.sorted[at] === key, 'key index: map and sorted array disagree');
    this.sorted.splice(at, 1);
    this.kvs.delete(key);
    this.dataBytesTotal -= utf8Bytes(key) + prev.value.length;
    return prev;
  }

  /** Live keys starting with prefix, in key order, from the first key > after (if given). */
  *keysWithPrefix(prefix: string, after?: string): Generator<string> {
    let at = this.lowerBound(after !== undefined && compareKeys(after, prefix) >= 0 ? after : prefix);
    if (after !== undefined && this.sorted[at] === after) at++;
    for (; at < this.sorted.length; at++) {
      const key = this.sorted[at];
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }

  /** Every live key/value in key order. */
  *all(): Generator<KeyValue> {
    for (const key of this.sorted) yield this.kvs.get(key) as KeyValue;
  }

  /** First index whose key is >= key. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.sorted[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
