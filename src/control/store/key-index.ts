/**
 * The live keys: a map for point lookups beside a sorted key set for prefix
 * ranges (search to the first key of a prefix, then a scan).
 */
import { assert } from '../../util/assert.js';
import { compareKeys, utf8Bytes } from './keys.js';
import { SortedKeys } from './sorted-keys.js';
import type { KeyValue } from './types.js';

export class KeyIndex {
  private readonly kvs = new Map<string, KeyValue>();
  private readonly sorted = new SortedKeys();
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
      this.sorted.insert(kv.key);
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
    const found = this.sorted.delete(key);
    assert(found, 'key index: map and sorted keys disagree');
    this.kvs.delete(key);
    this.dataBytesTotal -= utf8Bytes(key) + prev.value.length;
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

  /** Every live key/value in key order. */
  *all(): Generator<KeyValue> {
    for (const key of this.sorted.all()) yield this.kvs.get(key) as KeyValue;
  }
}
