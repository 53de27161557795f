/**
 * Deterministic digests of voter sets. A candidate hash names a bootstrap
 * candidate set in the shoal.boot tag; a cluster id names the cluster formed
 * from a voter set, so members that bootstrap independently with the same set
 * agree on the id. Both are pure functions of the sorted names.
 */
import { createHash } from 'node:crypto';

/** 64 bits: a collision between two of the handful of sets a bootstrap sees has odds near 2^-64. */
const candidateHashHexChars = 16;
/** 128 bits: cluster ids are compared across the cluster's whole life. */
const clusterIdHexChars = 32;

function digest(domain: string, names: readonly string[], hexChars: number): string {
  // JSON encoding keeps the input unambiguous whatever characters names hold.
  const canonical = JSON.stringify([domain, [...names].sort()]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, hexChars);
}

export const candidateHash = (names: readonly string[]): string => digest('shoal.boot', names, candidateHashHexChars);

export const clusterIdFor = (voters: readonly string[]): string => digest('shoal.cluster', voters, clusterIdHexChars);
