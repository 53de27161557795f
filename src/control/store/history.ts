/**
 * The revision log: every revision's changes since the compacted revision,
 * in order. It serves watches (replay from a revision) and reads at a past
 * revision. Revisions are contiguous: every revision is one record with at
 * least one event.
 *
 * Compaction to R keeps the records of revisions >= R, so the state at R can
 * still be read and a watch can still start at R; anything below R is gone
 * (ERR_COMPACTED). This is etcd's rule: reading or watching at exactly the
 * compact revision is allowed. The record of R keeps its events but drops
 * their previous values (the state at R - 1, which nothing can read any
 * more): a watch from R gets those events without prevKv, as etcd's does,
 * and compacting at the current revision frees every value superseded or
 * deleted before it.
 *
 * Indexes, so that no read scans the history:
 *  - per key, the (revision, event) of each change held, oldest first (etcd's
 *    keyIndex): a key's value at a past revision is the prevKv of its first
 *    change after that revision, found by binary search;
 *  - the keys whose last held change is a delete ("dead" keys): with the live
 *    keys they are every key that may have existed at a readable revision;
 *  - the existence log (creations +1, deletions -1, in revision order), so the
 *    number of keys of a range at a past revision is the live count minus the
 *    creations and deletions since, without touching overwrites;
 *  - the accounted bytes of each record, summed (space.ts), for the quota and
 *    for compaction by bytes.
 */
import { assert } from '../../util/assert.js';
import { ExistenceLog } from './existence-log.js';
import { compareKeys } from './keys.js';
import { SortedKeys } from './sorted-keys.js';
import { eventBytes, recordOverheadBytes, versionBytes } from './space.js';
import type { KeyValue, RevisionRecord, StoreEvent } from './types.js';

/** Dropped entries are cut from an array only past this many (amortised O(1) compaction). */
const droppedCutMin = 1024;

/** What a compacted record's slot holds until the array is cut. */
const droppedRecord: RevisionRecord = Object.freeze({ revision: 0, events: Object.freeze([]) as readonly StoreEvent[] });

/**
 * The revisions at which a key changed, oldest first: one revision as a
 * number (most keys: no array), else [head, revision0, revision1, ...] with
 * the entries before 1 + head compacted.
 */
type KeyChanges = number | number[];

/** Records with more events than this find a key's event through a lazily built map (deleteRange, lease expiry). */
const scanEventsMax = 32;

export class History {
  /** records[head..] are held; records[0..head) are compacted away, not yet cut. */
  private records: RevisionRecord[] = [];
  /** cumBytes[i]: accounted bytes of records[0..i], plus cutBytes. */
  private cumBytes: number[] = [];
  private cutBytes = 0;
  /** Bytes freed from records[head] by dropping its previous values. */
  private headFreedBytes = 0;
  private head = 0;
  private compacted = 0;
  private readonly changes = new Map<string, KeyChanges>();
  /** Large records: key -> event index, built on first lookup. */
  private readonly eventIndexes = new WeakMap<RevisionRecord, Map<string, number>>();
  private readonly dead = new SortedKeys();
  private readonly existence = new ExistenceLog();

  get compactedRevision(): number {
    return this.compacted;
  }

  get length(): number {
    return this.records.length - this.head;
  }

  /** Revision of the oldest record held, or undefined when empty. */
  get firstRevision(): number | undefined {
    return this.length === 0 ? undefined : this.records[this.head].revision;
  }

  get lastRevision(): number | undefined {
    return this.length === 0 ? undefined : this.records[this.records.length - 1].revision;
  }

  /** Accounted bytes of the records held (space.ts). */
  get spaceBytes(): number {
    return this.length === 0 ? 0 : this.cumBytes[this.records.length - 1] - this.bytesBefore(this.head) - this.headFreedBytes;
  }

  /** Keys with changes held. */
  get keysChanged(): number {
    return this.changes.size;
  }

  append(record: RevisionRecord): void {
    assert(record.events.length > 0, 'history: a revision without events');
    const last = this.lastRevision;
    assert(last === undefined || record.revision === last + 1, `history: revision ${record.revision} after ${String(last)}`);
    assert(record.revision >= this.compacted, 'history: append below the compacted revision');
    let bytes = recordOverheadBytes;
    for (const e of record.events) {
      bytes += eventBytes(e);
      this.index(record.revision, e);
    }
    this.cumBytes.push(this.bytesBefore(this.records.length) + bytes);
    this.records.push(record);
  }

  /** The record of a revision, if held. */
  at(revision: number): RevisionRecord | undefined {
    const first = this.firstRevision;
    if (first === undefined || revision < first) return undefined;
    return this.records[this.head + revision - first];
  }

  /** Records with revision >= fromRevision, oldest first. */
  *from(fromRevision: number): Generator<RevisionRecord> {
    const first = this.firstRevision;
    if (first === undefined) return;
    for (let i = this.head + Math.max(0, fromRevision - first); i < this.records.length; i++) yield this.records[i];
  }

  /** Drop records below revision; the caller checked revision is above the compacted one. */
  compact(revision: number): void {
    assert(revision > this.compacted, 'history: compaction must move forward');
    this.compacted = revision;
    const first = this.firstRevision;
    if (first !== undefined && revision > first) {
      const end = this.head + Math.min(revision - first, this.length);
      for (let i = this.head; i < end; i++) {
        this.unindex(this.records[i]);
        this.records[i] = droppedRecord; // its values are freed now, not when the array is cut
      }
      this.head = end;
      this.headFreedBytes = 0;
      if (this.head >= droppedCutMin && this.head * 2 >= this.records.length) {
        this.cutBytes = this.cumBytes[this.head - 1];
        this.records = this.records.slice(this.head);
        this.cumBytes = this.cumBytes.slice(this.head);
        this.head = 0;
      }
    }
    if (this.length > 0 && this.records[this.head].revision === revision) this.dropPreviousValues();
    this.existence.compact(revision);
  }

  /**
   * The key's key/value at `revision` (>= the compacted revision), given
   * its live one: the previous value of its first change after `revision`,
   * or the live one if it has not changed since. O(log changes of the key).
   */
  valueAt(key: string, revision: number, live: KeyValue | undefined): KeyValue | undefined {
    const e = this.firstChangeAfter(key, revision);
    return e === undefined ? live : e.prevKv;
  }

  /** The first change of key after revision, if held. */
  firstChangeAfter(key: string, revision: number): StoreEvent | undefined {
    const c = this.changes.get(key);
    if (c === undefined) return undefined;
    if (typeof c === 'number') return c > revision ? this.eventOf(c, key) : undefined;
    let lo = 1 + c[0];
    let hi = c.length;
    if (c[hi - 1] <= revision) return undefined;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid] <= revision) lo = mid + 1;
      else hi = mid;
    }
    return this.eventOf(c[lo], key);
  }

  /** The event of key in the record of revision (which changed it). */
  private eventOf(revision: number, key: string): StoreEvent {
    const record = this.at(revision);
    assert(record !== undefined, `history: change of ${key} at revision ${revision}, not held`);
    const events = record.events;
    if (events.length <= scanEventsMax) {
      for (const e of events) if (e.kv.key === key) return e;
    } else {
      let byKey = this.eventIndexes.get(record);
      if (byKey === undefined) {
        byKey = new Map(events.map((e, i) => [e.kv.key, i]));
        this.eventIndexes.set(record, byKey);
      }
      const i = byKey.get(key);
      if (i !== undefined) return events[i];
    }
    return assert(false, `history: no change of ${key} in revision ${revision}`) as never;
  }

  /** Keys whose last held change is a delete, starting with prefix, in key order, after `after` (if given). */
  *deadKeysWithPrefix(prefix: string, after?: string): Generator<string> {
    const from = after !== undefined && compareKeys(after, prefix) >= 0 ? after : prefix;
    for (const key of this.dead.from(from)) {
      if (key === after) continue;
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }

  /**
   * Keys created minus keys deleted after `revision`, among keys starting
   * with prefix and after `after`: the live count of a range minus this is
   * its count at `revision` (existence-log.ts: a few hundred microseconds
   * for a million creations; overwrites cost nothing).
   */
  existenceDeltaSince(revision: number, prefix: string, after: string | undefined): number {
    return this.existence.deltaSince(revision, prefix, after);
  }

  /** Accounted bytes of the records of revisions >= revision. */
  bytesFrom(revision: number): number {
    const first = this.firstRevision;
    if (first === undefined || revision > (this.lastRevision as number)) return 0;
    const i = this.head + Math.max(0, revision - first);
    return this.cumBytes[this.records.length - 1] - this.bytesBefore(i) - (i === this.head ? this.headFreedBytes : 0);
  }

  /**
   * The lowest revision R such that the records of revisions >= R hold at
   * most maxBytes (never above the last revision: compaction keeps the
   * current one). Undefined when empty.
   */
  revisionKeepingBytes(maxBytes: number): number | undefined {
    if (this.length === 0) return undefined;
    const total = this.cumBytes[this.records.length - 1];
    let lo = this.head;
    let hi = this.records.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (total - this.bytesBefore(mid) - (mid === this.head ? this.headFreedBytes : 0) <= maxBytes) hi = mid;
      else lo = mid + 1;
    }
    return this.records[lo].revision;
  }

  /** Restore support: replace the whole log (records checked contiguous by the caller). */
  static restored(compactedRevision: number, records: readonly RevisionRecord[]): History {
    const h = new History();
    h.compacted = compactedRevision;
    for (const r of records) h.append(r);
    return h;
  }

  /** All records, oldest first (for snapshots). */
  all(): readonly RevisionRecord[] {
    return this.records.slice(this.head);
  }

  /** The head record is at the compacted revision: nothing reads its previous values any more. */
  private dropPreviousValues(): void {
    const record = this.records[this.head];
    if (!record.events.some((e) => e.prevKv !== undefined)) return;
    let freed = 0;
    const events = record.events.map((e): StoreEvent => {
      if (e.prevKv === undefined) return e;
      freed += versionBytes(e.prevKv);
      return { type: e.type, kv: e.kv };
    });
    this.records[this.head] = { revision: record.revision, events };
    this.headFreedBytes += freed;
  }

  private bytesBefore(i: number): number {
    return i === 0 ? this.cutBytes : this.cumBytes[i - 1];
  }

  private index(revision: number, e: StoreEvent): void {
    const key = e.kv.key;
    const c = this.changes.get(key);
    if (c === undefined) this.changes.set(key, revision);
    else if (typeof c === 'number') this.changes.set(key, [0, c, revision]);
    else c.push(revision);
    if (e.type === 'delete') {
      if (!this.dead.has(key)) this.dead.insert(key);
      this.exist(revision, key, -1);
    } else {
      this.dead.delete(key);
      if (e.prevKv === undefined) this.exist(revision, key, 1);
    }
  }

  private exist(revision: number, key: string, delta: number): void {
    this.existence.append(revision, key, delta);
  }

  /** A record is compacted: its changes are each key's oldest. */
  private unindex(record: RevisionRecord): void {
    for (const e of record.events) {
      const key = e.kv.key;
      const c = this.changes.get(key);
      assert(c !== undefined && (typeof c === 'number' ? c : c[1 + c[0]]) === record.revision, `history: index of ${key} out of step`);
      if (typeof c === 'object') c[0]++;
      if (typeof c === 'number' || 1 + c[0] >= c.length) {
        // Nothing of the key is held: a dead key is now simply absent at every readable revision.
        this.changes.delete(key);
        this.dead.delete(key);
      } else if (c[0] >= 16 && 2 * c[0] >= c.length) {
        c.splice(1, c[0]);
        c[0] = 0;
      }
    }
  }
}
