/**
 * Reads at the current revision or a past one not yet compacted. Every read
 * costs what it returns, not what the store or its history holds:
 *  - get: a map lookup; at a past revision, a binary search of the key's
 *    changes (History.valueAt);
 *  - range: a page of at most `limit` keys and `limitBytes` bytes (both
 *    capped by readLimits), from a search to the first key; at a past
 *    revision it walks the live and deleted keys of the prefix and examines
 *    at most readLimits.rangeScanKeysMax of them (a page may then be short,
 *    with more: true);
 *  - count: exact, like etcd's, and cheap: at the current revision
 *    O(log n + n/512) from the sorted key chunks; at a past revision that
 *    minus the creations and deletions of the range since (O(1) for the
 *    whole keyspace, else O(creations + deletions since that revision)).
 *
 * Pagination: a result with more: true carries a continuation; pass it back
 * for the next page. It pins the revision of the first page, so the pages
 * are one consistent snapshot (as etcd's clients do with the first page's
 * header revision); if that revision is compacted meanwhile, the next page
 * fails with ERR_COMPACTED. `after` (the last key seen) is the older form:
 * it does not pin the revision.
 */
import { Buffer } from 'node:buffer';
import { ErrorCode, ShoalError } from '../../util/errors.js';
import { assert } from '../../util/assert.js';
import type { History } from './history.js';
import type { KeyIndex } from './key-index.js';
import { compareKeys, utf8Bytes } from './keys.js';
import { readLimits, storeLimits } from './limits.js';
import type { KeyValue } from './types.js';
import { validateKey } from './validate.js';
import { compactedError } from './watch.js';

export interface RangeOptions {
  /** At most this many keys (and at most readLimits.rangeKeysMax); more: true if there were more. */
  limit?: number;
  /** At most this many bytes of keys plus values (and at most readLimits.rangeBytesMax); at least one key is always returned. */
  limitBytes?: number;
  /** Read the state at this revision (>= compactedRevision); default: the current one. */
  revision?: number;
  /** Only keys after this one (exclusive): the last key of the previous page. Not with `continuation`. */
  after?: string;
  /** The continuation of the previous page: the next page, at the same revision. */
  continuation?: string;
}

export interface RangeResult {
  /** In key order (Unicode code point = UTF-8 byte order). */
  readonly kvs: KeyValue[];
  /** Keys of the range at its revision, from this page on (after `after` or the continuation): this page and the ones after. */
  readonly count: number;
  /** More keys follow this page. */
  readonly more: boolean;
  /** The revision the range was read at. */
  readonly revision: number;
  /** Present when more: pass it back for the next page. */
  readonly continuation?: string;
}

export interface ReadSource {
  readonly keys: KeyIndex;
  readonly history: History;
  readonly revision: number;
}

/** The revision to read at; throws ERR_COMPACTED or ERR_INVALID_ARGUMENT (future revision). */
export function readRevision(src: ReadSource, revision: number | undefined): number {
  if (revision === undefined) return src.revision;
  if (!Number.isSafeInteger(revision) || revision < 0) {
    throw new ShoalError(ErrorCode.InvalidArgument, `revision ${revision} is not a non-negative integer`, { details: { field: 'revision' } });
  }
  if (revision > src.revision) {
    throw new ShoalError(ErrorCode.InvalidArgument, `revision ${revision} is in the future (current ${src.revision})`, {
      details: { field: 'revision', revision, currentRevision: src.revision },
    });
  }
  if (revision < src.history.compactedRevision) throw compactedError(revision, src.history.compactedRevision);
  return revision;
}

export function getAt(src: ReadSource, key: string, revision: number | undefined): KeyValue | undefined {
  const at = readRevision(src, revision);
  const live = src.keys.get(key);
  return at === src.revision ? live : src.history.valueAt(key, at, live);
}

export function rangeAt(src: ReadSource, prefix: string, options: RangeOptions = {}): RangeResult {
  let after = options.after;
  let revision = options.revision;
  if (after !== undefined && typeof after !== 'string') throw invalid('after must be a string', 'after');
  if (options.continuation !== undefined) {
    if (after !== undefined) throw invalid('give either after or continuation, not both', 'continuation');
    const c = decodeContinuation(options.continuation);
    if (revision !== undefined && revision !== c.revision) {
      throw invalid(`the continuation reads at revision ${c.revision}, not ${revision}`, 'revision');
    }
    after = c.after;
    revision = c.revision;
  }
  const at = readRevision(src, revision);
  const limit = bounded(options.limit, readLimits.rangeKeysMax, 'limit');
  const limitBytes = bounded(options.limitBytes, readLimits.rangeBytesMax, 'limitBytes');
  const kvs: KeyValue[] = [];
  let bytes = 0;
  /** Adds kv unless the page is full. */
  const fits = (kv: KeyValue): boolean => {
    const size = utf8Bytes(kv.key) + kv.value.length;
    if (kvs.length >= limit || (kvs.length > 0 && bytes + size > limitBytes)) return false;
    kvs.push(kv);
    bytes += size;
    return true;
  };
  let count = src.keys.countPrefix(prefix, after);
  let last: string | undefined;
  if (at === src.revision) {
    for (const key of src.keys.keysWithPrefix(prefix, after)) {
      if (!fits(src.keys.get(key) as KeyValue)) break;
      last = key;
    }
  } else {
    count -= src.history.existenceDeltaSince(at, prefix, after);
    let examined = 0;
    for (const key of merged(src.keys.keysWithPrefix(prefix, after), src.history.deadKeysWithPrefix(prefix, after))) {
      if (examined >= readLimits.rangeScanKeysMax) break;
      const kv = src.history.valueAt(key, at, src.keys.get(key));
      if (kv !== undefined && !fits(kv)) break;
      examined++;
      last = key;
    }
  }
  assert(count >= kvs.length, `range: count ${count} below the ${kvs.length} keys found`);
  const more = count > kvs.length;
  if (!more) return { kvs, count, more, revision: at };
  assert(last !== undefined, 'range: more keys but none examined');
  return { kvs, count, more, revision: at, continuation: encodeContinuation(at, last) };
}

function bounded(value: number | undefined, max: number, field: string): number {
  if (value === undefined) return max;
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(`range ${field} must be a positive integer`, field);
  return Math.min(value, max);
}

/** Two sorted, disjoint key streams as one. */
function* merged(a: Iterator<string>, b: Iterator<string>): Generator<string> {
  let x = a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && compareKeys(x.value, y.value) < 0)) {
      yield x.value as string;
      x = a.next();
    } else {
      yield y.value;
      y = b.next();
    }
  }
}

function invalid(message: string, field: string): ShoalError {
  return new ShoalError(ErrorCode.InvalidArgument, message, { details: { field } });
}

const continuationVersion = 1;
/** A key of keyBytesMax escaped in JSON, a revision, in base64url. */
const continuationLengthMax = Math.ceil(((storeLimits.keyBytesMax * 6 + 64) * 4) / 3);

/** An opaque, URL-safe token: the revision of the pages and the last key examined. */
export function encodeContinuation(revision: number, after: string): string {
  return Buffer.from(JSON.stringify([continuationVersion, revision, after]), 'utf8').toString('base64url');
}

export function decodeContinuation(token: string): { revision: number; after: string } {
  const bad = (): ShoalError => invalid('continuation is not one this store issued', 'continuation');
  if (typeof token !== 'string' || token.length === 0 || token.length > continuationLengthMax || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== continuationVersion) throw bad();
  const [, revision, after] = parsed as unknown[];
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) throw bad();
  if (typeof after !== 'string' || validateKey(after) !== undefined) throw bad();
  return { revision, after };
}
