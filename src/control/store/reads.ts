/**
 * Reads at the current revision or a past one not yet compacted. A past
 * revision's state is the live state with the changes made after it undone
 * (History.stateBefore).
 */
import { ErrorCode, ShoalError } from '../../util/errors.js';
import type { History } from './history.js';
import type { KeyIndex } from './key-index.js';
import { compareKeys } from './keys.js';
import { readLimits } from './limits.js';
import type { KeyValue } from './types.js';
import { compactedError } from './watch.js';

export interface RangeOptions {
  /** At most this many keys (and at most readLimits.rangeKeysMax); more: true if there were more. */
  limit?: number;
  /** Read the state at this revision (>= compactedRevision); default: the current one. */
  revision?: number;
  /** Only keys after this one (exclusive): the last key of the previous page. */
  after?: string;
}

export interface RangeResult {
  /** In key order (Unicode code point = UTF-8 byte order). */
  readonly kvs: KeyValue[];
  /** Keys in the whole range (after `after`), not just the ones returned. */
  readonly count: number;
  readonly more: boolean;
  /** The revision the range was read at. */
  readonly revision: number;
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
  const current = src.keys.get(key);
  if (at === src.revision) return current;
  const older = src.history.stateBefore(at, (k) => k === key);
  return older.has(key) ? older.get(key) : current;
}

export function rangeAt(src: ReadSource, prefix: string, options: RangeOptions = {}): RangeResult {
  const at = readRevision(src, options.revision);
  const limit = Math.min(options.limit ?? readLimits.rangeKeysMax, readLimits.rangeKeysMax);
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new ShoalError(ErrorCode.InvalidArgument, `range limit must be a positive integer`, { details: { field: 'limit' } });
  }
  const after = options.after;
  if (at === src.revision) {
    const kvs: KeyValue[] = [];
    let count = 0;
    for (const key of src.keys.keysWithPrefix(prefix, after)) {
      if (kvs.length < limit) kvs.push(src.keys.get(key) as KeyValue);
      count++;
    }
    return { kvs, count, more: count > kvs.length, revision: at };
  }
  const older = src.history.stateBefore(at, (k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0));
  const all: KeyValue[] = [];
  for (const key of src.keys.keysWithPrefix(prefix, after)) {
    const kv = older.has(key) ? older.get(key) : src.keys.get(key);
    if (kv !== undefined) all.push(kv);
  }
  for (const [key, kv] of older) {
    if (kv !== undefined && src.keys.get(key) === undefined) all.push(kv);
  }
  all.sort((a, b) => compareKeys(a.key, b.key));
  const kvs = all.slice(0, limit);
  return { kvs, count: all.length, more: all.length > kvs.length, revision: at };
}
