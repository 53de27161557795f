/**
 * The revision log: every revision's changes since the compacted revision,
 * in order. It serves watches (replay from a revision) and reads at a past
 * revision (undo the changes made after it). Revisions are contiguous: every
 * revision is one record with at least one event.
 *
 * Compaction to R keeps the records of revisions >= R, so the state at R can
 * still be read and a watch can still start at R; anything below R is gone
 * (ERR_COMPACTED). This is etcd's rule: reading or watching at exactly the
 * compact revision is allowed.
 */
import { assert } from '../../util/assert.js';
import type { KeyValue, RevisionRecord } from './types.js';

/** Dropped records are cut from the array only past this many (amortised O(1) compaction). */
const droppedRecordsCutMin = 1024;

export class History {
  /** records[head..] are held; records[0..head) are compacted away, not yet cut. */
  private records: RevisionRecord[] = [];
  private head = 0;
  private compacted = 0;

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

  append(record: RevisionRecord): void {
    assert(record.events.length > 0, 'history: a revision without events');
    const last = this.lastRevision;
    assert(last === undefined || record.revision === last + 1, `history: revision ${record.revision} after ${String(last)}`);
    assert(record.revision >= this.compacted, 'history: append below the compacted revision');
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
    if (first === undefined || revision <= first) return;
    this.head += Math.min(revision - first, this.length);
    if (this.head >= droppedRecordsCutMin && this.head * 2 >= this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * For every key changed after `revision`: its key/value as of `revision`
   * (undefined if it did not exist then). Keys not in the map are unchanged.
   */
  stateBefore(revision: number, keyFilter: (key: string) => boolean): Map<string, KeyValue | undefined> {
    const older = new Map<string, KeyValue | undefined>();
    for (const record of this.from(revision + 1)) {
      for (const event of record.events) {
        const key = event.kv.key;
        // The first change after `revision` knows the key's value at `revision`: its prevKv.
        if (!older.has(key) && keyFilter(key)) older.set(key, event.prevKv);
      }
    }
    return older;
  }

  /** Restore support: replace the whole log (records checked contiguous by the caller). */
  static restored(compactedRevision: number, records: RevisionRecord[]): History {
    const h = new History();
    h.compacted = compactedRevision;
    for (const r of records) h.append(r);
    return h;
  }

  /** All records, oldest first (for snapshots). */
  all(): readonly RevisionRecord[] {
    return this.records.slice(this.head);
  }
}
