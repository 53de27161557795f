/**
 * The first byte of every shoal datagram and frame: what follows. The
 * transport has one frame handler for all planes, so a shell can route a
 * frame by its first byte before decoding it.
 *
 * ONLY APPEND TO WireKind. The numeric values are part of the protocol.
 */
export const WireKind = {
  /** Gossip over UDP: a compound Packet (gossip.proto) of one or more messages. */
  GossipPacket: 1,
  /** Gossip over a stream: one Gossip message (gossip.proto), e.g. push-pull. */
  GossipFrame: 2,
  /** Raft over a stream: one RaftMessage (raft.proto). */
  RaftMessage: 3,
  /** An encrypted packet or frame (crypto.ts): the plaintext starts with its own WireKind. */
  Encrypted: 4,
} as const;
export type WireKind = (typeof WireKind)[keyof typeof WireKind];

/** Bytes the leading WireKind takes. */
export const wireKindBytes = 1;

const knownKinds: ReadonlySet<number> = new Set(Object.values(WireKind));

/** The WireKind of a buffer (its first byte), or undefined when it is empty or unknown. */
export function peekWireKind(buf: Uint8Array): WireKind | undefined {
  return buf.length > 0 && knownKinds.has(buf[0]) ? (buf[0] as WireKind) : undefined;
}
