import { wireUintMax } from '../wire/uint.js';

/**
 * Incarnation numbers as serial numbers (RFC 1982) in a ring of 2^48 values
 * (every value the wire carries, 0 .. wireUintMax): "newer" means ahead by
 * less than half the ring, and the successor of wireUintMax is 0.
 *
 * Why a ring and not a cap: with a largest incarnation, an accusation (Suspect,
 * Dead, Leave) or a forged Alive at that value could never be beaten, so a
 * member could not refute it, ever (memberlist's uint32 has the same trap).
 * In a ring every value has a newer one: a member can always refute whatever
 * is said about it, at any incarnation, and the number never leaves what the
 * wire carries. Honest members move by +1 (tag changes, refutations); only a
 * hostile peer jumps far, and two values exactly half the ring apart are
 * ordered by their plain value, so "newer" is antisymmetric.
 */
const ringSize = wireUintMax + 1;
const halfRing = ringSize / 2;

/** The incarnation after `n` (wraps from wireUintMax to 0). */
export function nextIncarnation(n: number): number {
  return n >= wireUintMax ? 0 : n + 1;
}

/** Whether incarnation `a` is newer than `b`. */
export function incarnationNewer(a: number, b: number): boolean {
  const d = a >= b ? a - b : a - b + ringSize;
  return d !== 0 && (d < halfRing || (d === halfRing && a > b));
}
