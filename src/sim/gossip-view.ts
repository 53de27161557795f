import { assert } from '../util/assert.js';
import { MemberState } from '../gossip/messages.js';

/**
 * What every simulated observer believes about every subject, kept outside the
 * cores so that cluster-wide questions ("does every live node see X alive?")
 * cost O(1) or O(N) instead of O(N^2) calls into the cores.
 *
 * Rows are observers (one per simulated node slot; a restarted node reuses its
 * slot with a fresh row), columns are subjects (member names). A cell holds
 * `Seen`: 0 = unknown (never heard of, or reaped), else MemberState + 1.
 * Per-subject counters (how many tracked observers see it in each state) are
 * updated on every change, so `countSeeing` is O(1).
 *
 * Memory: one byte per (observer, subject): 10,000 x 10,000 = 100 MB.
 */
export const Seen = {
  Unknown: 0,
  Alive: 1 + MemberState.Alive,
  Suspect: 1 + MemberState.Suspect,
  Dead: 1 + MemberState.Dead,
  Left: 1 + MemberState.Left,
} as const;
export type Seen = (typeof Seen)[keyof typeof Seen];

export type SeenName = 'unknown' | 'alive' | 'suspect' | 'dead' | 'left';
const seenNames: readonly SeenName[] = ['unknown', 'alive', 'suspect', 'dead', 'left'];
export const seenName = (s: Seen): SeenName => seenNames[s];
export const seenFromName = (n: SeenName): Seen => seenNames.indexOf(n) as Seen;
export const seenFromState = (s: MemberState): Seen => (1 + s) as Seen;

/** Limit on subjects and observers: the table is square-ish and preallocated in chunks. */
export const viewLimits = { maxSubjects: 1 << 20, maxObservers: 1 << 20 } as const;

const stateCount = 5;

export class MembershipView {
  private readonly subjectIndex = new Map<string, number>();
  private readonly subjectNames: string[] = [];
  private rows: (Uint8Array | undefined)[] = [];
  private capacity: number;
  /** counts[state * capacity + subject] = tracked observers that see subject in state. */
  private counts: Int32Array;

  constructor(expectedSubjects = 64) {
    this.capacity = Math.max(16, expectedSubjects);
    this.counts = new Int32Array(stateCount * this.capacity);
  }

  subjectId(name: string): number {
    let id = this.subjectIndex.get(name);
    if (id === undefined) {
      id = this.subjectNames.length;
      assert(id < viewLimits.maxSubjects, 'too many subjects');
      if (id >= this.capacity) this.grow(this.capacity * 2);
      this.subjectIndex.set(name, id);
      this.subjectNames.push(name);
    }
    return id;
  }

  /** Start tracking an observer slot with an empty row (all unknown). */
  openRow(slot: number): void {
    assert(slot < viewLimits.maxObservers, 'too many observers');
    assert(this.rows[slot] === undefined, `row ${slot} already open`);
    this.rows[slot] = new Uint8Array(this.capacity);
  }

  /** Stop tracking an observer (crash, shutdown): its beliefs no longer count. */
  closeRow(slot: number): void {
    const row = this.rows[slot];
    if (row === undefined) return;
    const n = this.subjectNames.length;
    for (let s = 0; s < n; s++) if (row[s] !== 0) this.counts[row[s] * this.capacity + s]--;
    this.rows[slot] = undefined;
  }

  set(slot: number, subject: string, seen: Seen): void {
    if (this.rows[slot] === undefined) return;
    const s = this.subjectId(subject);
    const r = this.rows[slot]!; // read after subjectId(): grow() reallocates rows
    const old = r[s];
    if (old === seen) return;
    if (old !== 0) this.counts[old * this.capacity + s]--;
    if (seen !== 0) this.counts[seen * this.capacity + s]++;
    r[s] = seen;
  }

  get(slot: number, subject: string): Seen {
    const row = this.rows[slot];
    const s = this.subjectIndex.get(subject);
    if (row === undefined || s === undefined) return Seen.Unknown;
    return row[s] as Seen;
  }

  /** Tracked observers that see `subject` in state `seen` (unknown is not counted). O(1). */
  countSeeing(subject: string, seen: Seen): number {
    assert(seen !== Seen.Unknown, 'countSeeing(unknown) is not tracked');
    const s = this.subjectIndex.get(subject);
    return s === undefined ? 0 : this.counts[seen * this.capacity + s];
  }

  /** Subjects (by name) that `slot` sees in `seen`. O(subjects). */
  subjectsSeenBy(slot: number, seen: Seen): string[] {
    const row = this.rows[slot];
    if (row === undefined) return [];
    const out: string[] = [];
    for (let s = 0; s < this.subjectNames.length; s++) if (row[s] === seen) out.push(this.subjectNames[s]);
    return out;
  }

  private grow(newCapacity: number): void {
    const counts = new Int32Array(stateCount * newCapacity);
    for (let st = 0; st < stateCount; st++) {
      counts.set(this.counts.subarray(st * this.capacity, (st + 1) * this.capacity), st * newCapacity);
    }
    this.counts = counts;
    this.rows = this.rows.map((r) => {
      if (r === undefined) return undefined;
      const nr = new Uint8Array(newCapacity);
      nr.set(r);
      return nr;
    });
    this.capacity = newCapacity;
  }
}
