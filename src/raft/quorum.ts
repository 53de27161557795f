/** Majority quorums over a voter set (single-server changes: never joint). */
import type { NodeId } from './types.js';

export const VoteResult = {
  Pending: 'pending',
  Won: 'won',
  Lost: 'lost',
} as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest index acknowledged by a majority of `voters`, given each
 * voter's match index. An empty voter set commits nothing.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[majority(voters.length) - 1];
}

/** Outcome of an election given the votes received so far (only voters count). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    const got = votes.get(v);
    if (got === true) granted++;
    else if (got === false) rejected++;
  }
  const need = majority(voters.length);
  if (granted >= need) return VoteResult.Won;
  if (voters.length - rejected < need) return VoteResult.Lost;
  return VoteResult.Pending;
}

/** True if `active` holds for a majority of voters. */
export function quorumActive(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  let n = 0;
  for (const v of voters) if (active(v)) n++;
  return n >= majority(voters.length);
}
