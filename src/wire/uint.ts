/**
 * The bound on every counter that travels or is stored: Raft terms, indexes
 * and commit points, gossip incarnations, Lamport times and sequence numbers.
 *
 * 2^48 - 1, far below 2^53 (Number.MAX_SAFE_INTEGER). Why this value:
 *  - headroom: the sum of two bounded values (term + 1, index + count,
 *    offset + length) stays below 2^49, an exact safe integer, so no
 *    arithmetic on a number from the network can lose precision or reach a
 *    value an encoder refuses;
 *  - it is never reached honestly: a new term every millisecond, or a
 *    million log entries a second, take 9 years to count to 2^48; the control
 *    plane writes thousands a second at most (centuries);
 *  - it fits in 7 varint bytes.
 * Decoders refuse a larger value (DecodeDropReason.OutOfRange); the cores
 * never compute one (a campaign past it is refused, gossip incarnations wrap
 * modulo 2^48, Lamport clocks stop at it); encoders assert it.
 */
export const wireUintMax = 2 ** 48 - 1;

/** A non-negative integer no larger than wireUintMax. */
export function isWireUint(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= wireUintMax;
}
