/**
 * Adoption of a committed candidate set. A member whose candidate set moved on
 * (its view grew) after others committed to an older set would otherwise leave
 * those others waiting forever. Tags carry only a hash, so the member finds the
 * set by search: the committed advertisers T plus itself plus `need` more of
 * the members it sees, hashed and compared. The search is bounded.
 */
import { candidateHash } from './hash.js';

/** At most this many distinct committed hashes are searched per decision (more means a split to report, not to solve). */
export const adoptSearchMaxHashes = 8;
/** At most this many subsets are hashed per committed hash (C(19,3) = 969 fits; views beyond ~20 members may miss). */
export const adoptSearchMaxSubsets = 4096;

export interface AdoptionSearch {
  self: string;
  setSize: number;
  /** The committed hash and the alive members advertising it. */
  hash: string;
  committed: readonly string[];
  /** Eligible members seen alive or suspect, not committed to anything, excluding self. */
  pool: readonly string[];
}

/** The sorted set containing `self` and all of `committed` whose hash is `hash`, or undefined. */
export function findAdoptableSet(s: AdoptionSearch): string[] | undefined {
  const base = [...s.committed, s.self];
  const need = s.setSize - base.length;
  if (need < 0 || s.committed.includes(s.self)) return undefined;
  const pool = [...s.pool].filter((n) => !base.includes(n)).sort();
  if (pool.length < need) return undefined;
  let budget = adoptSearchMaxSubsets;
  const pick: string[] = [];
  const search = (from: number): string[] | undefined => {
    if (pick.length === need) {
      budget -= 1;
      const set = [...base, ...pick].sort();
      return candidateHash(set) === s.hash ? set : undefined;
    }
    for (let i = from; i <= pool.length - (need - pick.length) && budget > 0; i++) {
      pick.push(pool[i]!);
      const found = search(i + 1);
      pick.pop();
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return search(0);
}
