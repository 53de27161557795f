/**
 * The log as rebuilt from WAL records, with the two rules replay applies:
 *  - an entry with index i discards every entry >= i read before it (the later record wins);
 *  - a snapshot marker (index S, term T) makes S the log's base: if the log holds
 *    entry S with term T, entries <= S are dropped and the rest kept (Raft §7);
 *    if the log is contiguous with S (starts at S+1) it is kept; otherwise
 *    the whole log is replaced by the snapshot.
 */
import type { Entry } from '../raft/types.js';

export interface LogBase {
  index: number;
  term: number;
}

export type BaseOutcome = 'kept-suffix' | 'contiguous' | 'replaced' | 'gap';

/**
 * Applies snapshot base (index, term) to contiguous `entries`; returns the
 * entries after the base and how they relate. 'gap': entries start after
 * index+1 (entries in between are missing); they are returned unchanged.
 */
export function entriesAfterBase(entries: Entry[], base: LogBase): { entries: Entry[]; outcome: BaseOutcome } {
  if (entries.length === 0) return { entries, outcome: 'contiguous' };
  const first = entries[0].index;
  const last = entries[entries.length - 1].index;
  if (first <= base.index && base.index <= last) {
    const at = entries[base.index - first];
    if (at.term === base.term) return { entries: entries.slice(base.index - first + 1), outcome: 'kept-suffix' };
    return { entries: [], outcome: 'replaced' };
  }
  if (first === base.index + 1) return { entries, outcome: 'contiguous' };
  if (first > base.index + 1) return { entries, outcome: 'gap' };
  return { entries: [], outcome: 'replaced' };
}

export type AppendOutcome = 'ok' | 'covered-by-base' | 'gap';

export class ReplayLog {
  private entries: Entry[] = [];
  private base: LogBase | undefined;

  get baseMarker(): LogBase | undefined {
    return this.base;
  }

  get lastIndex(): number {
    if (this.entries.length > 0) return this.entries[this.entries.length - 1].index;
    return this.base?.index ?? 0;
  }

  append(e: Entry): AppendOutcome {
    if (this.base !== undefined && e.index <= this.base.index) return 'covered-by-base';
    if (this.entries.length === 0) {
      if (this.base !== undefined && e.index !== this.base.index + 1) return 'gap';
      this.entries.push(e);
      return 'ok';
    }
    const first = this.entries[0].index;
    if (e.index > this.lastIndex + 1) return 'gap';
    if (e.index < first) this.entries.length = 0;
    else this.entries.length = e.index - first;
    this.entries.push(e);
    return 'ok';
  }

  applyMarker(marker: LogBase): void {
    const { entries, outcome } = entriesAfterBase(this.entries, marker);
    // A gap here means the marker is older than the retained log (its segments were compacted): keep the log.
    this.entries = entries;
    if (outcome !== 'gap') this.base = { index: marker.index, term: marker.term };
  }

  toEntries(): Entry[] {
    return this.entries.slice();
  }
}
