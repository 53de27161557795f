/**
 * The live keys: a map for point lookups beside a sorted key set for prefix
 * ranges (search to the first key of a prefix, then a scan) and counts
 * (O(log n + chunks), without visiting keys).
 */
import { assert } from '../../util/assert.js';
import { compareKeys, utf8Bytes } from './keys.js';
import { SortedKeys } from './sorted-keys.js';
import { liveBytes } from './space.js';
import type { KeyValue } from './types.js';

export class KeyIndex {
  private readonly kvs = new Map<string, KeyValue>();
  private sorted = new SortedKeys();
  /** Keys plus values of all live keys, in bytes. */
  private dataBytesTotal = 0;
  /** Accounted bytes of the live keys (space.ts: liveBytes). */
  private accountedBytes = 0;

  get size(): number {
    return this.kvs.size;
  }

  /** Restore: key/values in strictly increasing key order (the caller checked) into an empty index. */
  static fromSorted(kvs: readonly KeyValue[]): KeyIndex {
    const index = new KeyIndex();
    for (const kv of kvs) {
      index.kvs.set(kv.key, kv);
      index.dataBytesTotal += utf8Bytes(kv.key) + kv.value.length;
      index.accountedBytes += liveBytes(kv);
    }
    assert(index.kvs.size === kvs.length, 'key index: keys repeated');
    index.sorted = SortedKeys.fromSorted(kvs.map((kv) => kv.key));
    return index;
  }

  /** Keys plus values of all live keys, in bytes. */
  get dataBytes(): number {
    return this.dataBytesTotal;
  }

  /** The live keys' share of the space quota (space.ts). */
  get spaceBytes(): number {
    return this.accountedBytes;
  }

  get(key: string): KeyValue | undefined {
    return this.kvs.get(key);
  }

  set(kv: KeyValue): void {
    const prev = this.kvs.get(kv.key);
    if (prev === undefined) {
      this.sorted.insert(kv.key);
    } else {
      this.dataBytesTotal -= utf8Bytes(prev.key) + prev.value.length;
      this.accountedBytes -= liveBytes(prev);
    }
    this.dataBytesTotal += utf8Bytes(kv.key) + kv.value.length;
    this.accountedBytes += liveBytes(kv);
    this.kvs.set(kv.key, kv);
  }

  delete(key: string): KeyValue | undefined {
    const prev = this.kvs.get(key);
    if (prev === undefined) return undefined;
    const found = this.sorted.delete(key);
    assert(found, 'key index: map and sorted keys disagree');
    this.kvs.delete(key);
    this.dataBytesTotal -= utf8Bytes(key) + prev.value.length;
    this.accountedBytes -= liveBytes(prev);
    return prev;
  }

  /** Live keys starting with prefix, in key order, from the first key > after (if given). */
  *keysWithPrefix(prefix: string, after?: string): Generator<string> {
    const from = after !== undefined && compareKeys(after, prefix) >= 0 ? after : prefix;
    for (const key of this.sorted.from(from)) {
      if (key === after) continue;
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }

  /** How many live keys start with prefix and sort after `after` (if given). */
  countPrefix(prefix: string, after?: string): number {
    return this.sorted.countPrefix(prefix, after);
  }

  /** Every live key/value in key order. */
  all(): KeyValue[] {
    const out = new Array<KeyValue>(this.kvs.size);
    let i = 0;
    this.sorted.forEach((key) => {
      out[i++] = this.kvs.get(key) as KeyValue;
    });
    return out;
  }
}
