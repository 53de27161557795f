import { compoundOverheadBytes, encodedSize } from '../wire/gossip-codec.js';
import type { GossipMessage, Tags } from './messages.js';

/**
 * Encoded sizes, used to pack packets <= packetMaxBytes. The wire codec gives
 * exact figures: a packet of messages M takes compoundOverheadBytes +
 * sum(encodedSize(m)) bytes. The rest of the core only calls these functions.
 */

const enc = new TextEncoder();
function utf8Bytes(s: string): number {
  // Fast path for ASCII, exact count otherwise.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return enc.encode(s).length;
  return s.length;
}

/** UTF-8 bytes of all keys and values: what metaMaxBytes bounds (as the decoder's tagsBytesMax). */
export function tagsSizeBytes(tags: Tags): number {
  let n = 0;
  for (const [k, v] of Object.entries(tags)) n += utf8Bytes(k) + utf8Bytes(v);
  return n;
}

/** Bytes one message adds to a compound packet (framing included). */
export function messageSizeBytes(m: GossipMessage): number {
  return encodedSize(m);
}

/** Fixed bytes of a compound packet besides its messages. */
export const PACKET_OVERHEAD_BYTES: number = compoundOverheadBytes;
/** Extra bytes per message inside a compound packet (already in messageSizeBytes). */
export const PACKET_PER_MESSAGE_BYTES = 0;

/** Encoded size of the compound packet holding msgs. */
export function packetSizeBytes(msgs: readonly GossipMessage[]): number {
  let n = PACKET_OVERHEAD_BYTES;
  for (const m of msgs) n += messageSizeBytes(m);
  return n;
}
