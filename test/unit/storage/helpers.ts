import type { Entry, HardState } from '../../../src/raft/types.js';

export function entry(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, type: 0, data: new TextEncoder().encode(text) };
}

export function entries(from: number, to: number, term: number, tag = ''): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, `e${i}t${term}${tag}`));
  return out;
}

export function hs(term: number, vote: string, commit: number): HardState {
  return { term, vote, commit };
}

/** Entries as comparable plain values. */
export function summary(list: Entry[]): string[] {
  return list.map((e) => `${e.index}/${e.term}/${e.type}/${new TextDecoder().decode(e.data)}`);
}

/** A promise's settled state without waiting for it. */
export function track<T>(p: Promise<T>): { done: () => boolean; failed: () => boolean; promise: Promise<void> } {
  let ok = false;
  let bad = false;
  const promise = p.then(
    () => {
      ok = true;
    },
    () => {
      bad = true;
    },
  );
  return { done: () => ok, failed: () => bad, promise };
}
