import type { Entry, HardState } from '../../../src/raft/types.js';
import type { WalWrite } from '../../../src/storage/wal.js';
import { summary } from './helpers.js';

/** One logical WAL record, in the order the WAL writes them. */
export type ModelRecord = { kind: 'hs'; hs: HardState } | { kind: 'entry'; e: Entry } | { kind: 'marker'; index: number; term: number };

export function recordsOf(w: WalWrite): ModelRecord[] {
  const out: ModelRecord[] = [];
  if (w.snapshotMarker) out.push({ kind: 'marker', ...w.snapshotMarker });
  if (w.hardState) out.push({ kind: 'hs', hs: w.hardState });
  for (const e of w.entries) out.push({ kind: 'entry', e });
  return out;
}

/** The simplest possible replay: a map from index to entry, "later record wins". */
export function replayModel(records: ModelRecord[]): { hardState?: HardState; entries: string[] } {
  const m = modelState(records);
  return { hardState: m.hardState, entries: summary(m.entries) };
}

export function modelState(records: ModelRecord[]): { hardState?: HardState; entries: Entry[]; base: number } {
  let hardState: HardState | undefined;
  let base = 0;
  let log = new Map<number, Entry>();
  for (const r of records) {
    if (r.kind === 'hs') hardState = r.hs;
    else if (r.kind === 'entry') {
      for (const k of [...log.keys()]) if (k >= r.e.index) log.delete(k);
      log.set(r.e.index, r.e);
    } else {
      // Raft §7: keep the suffix if the log holds the snapshot's last entry, or already starts right after it.
      const at = log.get(r.index);
      const first = Math.min(...log.keys());
      const keep = (at !== undefined && at.term === r.term) || first > r.index;
      const next = new Map<number, Entry>();
      if (keep) for (const [k, v] of log) if (k > r.index) next.set(k, v);
      // A marker older than the whole log (its entries compacted away) does not move the base.
      if (!(log.size > 0 && first > r.index + 1)) base = r.index;
      log = next;
    }
  }
  return { hardState, base, entries: [...log.values()].sort((a, b) => a.index - b.index) };
}

/**
 * The recovered state must equal the model after some prefix of the records
 * that contains every acknowledged one. Returns that prefix length, or -1.
 */
export function matchingPrefix(
  records: ModelRecord[],
  ackedRecords: number,
  got: { hardState?: HardState; entries: Entry[]; snapshotMarker?: { index: number } },
): number {
  const canon = (h: HardState | undefined, e: Entry[], base: number): string =>
    JSON.stringify([h === undefined ? null : [h.term, h.vote, h.commit], summary(e), base]);
  const want = canon(got.hardState, got.entries, got.snapshotMarker?.index ?? 0);
  for (let p = records.length; p >= ackedRecords; p--) {
    const m = modelState(records.slice(0, p));
    if (canon(m.hardState, m.entries, m.base) === want) return p;
  }
  return -1;
}
