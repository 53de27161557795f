/**
 * The Raft log in memory: entries after a snapshot offset, the commit and
 * applied indexes, and what is not yet persisted (etcd's raftLog + unstable
 * in one small class). Entries with index <= snapshotIndex are compacted.
 */
import { assert } from '../util/assert.js';
import type { Entry, Snapshot, SnapshotMeta } from './types.js';

/** Per-entry framing counted against message size limits, so empty entries cannot batch without bound. */
export const entryOverheadBytes = 16;

export function entrySizeBytes(e: Entry): number {
  return e.data.length + entryOverheadBytes;
}

export function entriesSizeBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += entrySizeBytes(e);
  return n;
}

export class RaftLog {
  private snapshotIndexValue: number;
  private snapshotTermValue: number;
  /** entries[i] has index snapshotIndex + 1 + i. */
  private entries: Entry[];
  committed: number;
  /** Highest index the shell has applied (acknowledged by advance()). */
  applied: number;
  /** Highest index persisted by the shell; entries above are in the next Ready. */
  stableIndex: number;
  /** A snapshot received from the leader and not yet persisted/applied by the shell. */
  pendingSnapshot: Snapshot | undefined = undefined;
  /** Bumped whenever entries after the applied index may change (append, truncate, restore): a cache key. */
  version = 0;

  constructor(snapshot: SnapshotMeta | undefined, entries: readonly Entry[], committed: number) {
    this.snapshotIndexValue = snapshot?.index ?? 0;
    this.snapshotTermValue = snapshot?.term ?? 0;
    this.entries = [];
    for (const e of entries) {
      assert(e.index === this.snapshotIndexValue + 1 + this.entries.length, `log entry ${e.index} not contiguous`);
      this.entries.push(e);
    }
    this.stableIndex = this.lastIndex();
    this.applied = this.snapshotIndexValue;
    assert(
      committed >= this.snapshotIndexValue && committed <= this.lastIndex(),
      `commit ${committed} outside log [${this.snapshotIndexValue}, ${this.lastIndex()}]`,
    );
    this.committed = committed;
  }

  get snapshotIndex(): number {
    return this.snapshotIndexValue;
  }

  firstIndex(): number {
    return this.snapshotIndexValue + 1;
  }

  lastIndex(): number {
    return this.snapshotIndexValue + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Term of the entry at `index`; undefined if compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndexValue) return this.snapshotTermValue;
    if (index < this.snapshotIndexValue || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndexValue - 1].term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entryAt(index: number): Entry | undefined {
    if (index <= this.snapshotIndexValue || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndexValue - 1];
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries in [lo, hi) up to `maxBytes` (at least one), or undefined if lo
   * is compacted.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    if (lo <= this.snapshotIndexValue) return undefined;
    const end = Math.min(hi, this.lastIndex() + 1);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < end; i++) {
      const e = this.entries[i - this.snapshotIndexValue - 1];
      size += entrySizeBytes(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Appends (overwriting from the first entry's index). Returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const first = ents[0].index;
    assert(first > this.committed, `append at ${first} would overwrite committed ${this.committed}`);
    assert(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    this.entries.length = first - this.snapshotIndexValue - 1;
    for (const e of ents) this.entries.push(e);
    this.version++;
    this.stableIndex = Math.min(this.stableIndex, first - 1);
    return this.lastIndex();
  }

  /**
   * Follower side of App: if our log matches (prevIndex, prevTerm), append the
   * new part of `ents` and advance commit; returns the last new index,
   * undefined on a mismatch, or 'conflicts-with-committed' (refused).
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, ents: readonly Entry[]): number | undefined | 'conflicts-with-committed' {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    // Committed entries never change (Raft's core guarantee): only a corrupt or buggy peer can ask.
    if (conflict !== 0 && conflict <= this.committed) return 'conflicts-with-committed';
    if (conflict !== 0) this.append(ents.slice(conflict - ents[0].index));
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Index of the first entry of `ents` absent or with another term here; 0 if all present. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (e.index <= this.snapshotIndexValue) continue; // compacted: committed, so it matches
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast back-off: the largest index <= `index` whose term is <= `term`
   * (entries above cannot match a leader entry of `term`), and its term.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.snapshotIndexValue; i--) {
      const t = this.term(i) ?? 0;
      if (t <= term) return { index: i, term: t };
    }
    return { index: i, term: this.term(i) ?? 0 };
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Leader: commit `index` only if its entry is of `term` (§5.4.2, figure 8). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  unstableEntries(): Entry[] {
    const from = Math.max(this.stableIndex, this.snapshotIndexValue) + 1;
    return this.entries.slice(from - this.snapshotIndexValue - 1);
  }

  /** The shell persisted entries up to `index` (of `term`); ignored if since overwritten. */
  stableTo(index: number, term: number): void {
    if (this.matchTerm(index, term) && index > this.stableIndex) this.stableIndex = index;
  }

  hasNextCommittedEntries(): boolean {
    return this.pendingSnapshot === undefined && this.committed > Math.max(this.applied, this.snapshotIndexValue);
  }

  nextCommittedEntries(maxBytes: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const lo = Math.max(this.applied, this.snapshotIndexValue) + 1;
    return this.slice(lo, this.committed + 1, maxBytes) ?? [];
  }

  appliedTo(index: number): void {
    assert(index <= this.committed, `applied ${index} beyond commit ${this.committed}`);
    if (index > this.applied) this.applied = index;
  }

  /** Follower: replace the log with a snapshot from the leader. */
  restore(snapshot: Snapshot): void {
    this.snapshotIndexValue = snapshot.meta.index;
    this.snapshotTermValue = snapshot.meta.term;
    this.entries = [];
    this.version++;
    this.committed = snapshot.meta.index;
    this.stableIndex = snapshot.meta.index;
    this.pendingSnapshot = snapshot;
  }

  /** The shell persisted and applied the pending snapshot. */
  snapshotApplied(index: number): void {
    if (this.pendingSnapshot?.meta.index === index) this.pendingSnapshot = undefined;
    if (index > this.applied) this.applied = index;
  }

  /** Drops entries up to `index` (must be applied). */
  compact(index: number): void {
    assert(index <= this.applied, `compact ${index} beyond applied ${this.applied}`);
    if (index <= this.snapshotIndexValue) return;
    const term = this.term(index);
    assert(term !== undefined, `compact ${index}: no such entry`);
    this.entries = this.entries.slice(index - this.snapshotIndexValue);
    this.snapshotIndexValue = index;
    this.snapshotTermValue = term;
    this.stableIndex = Math.max(this.stableIndex, index);
  }
}
