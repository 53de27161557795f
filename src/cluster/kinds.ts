/**
 * What travels on a cluster-transport stream after the handshake.
 *
 * ONLY APPEND TO THESE LISTS. The numeric values are part of the protocol.
 */

/** Which plane a frame belongs to: each plane's shell registers a handler for its kinds. */
export const StreamKind = {
  /** Gossip over a stream: push-pull state sync and the TCP fallback ping (gossip.proto frames). */
  Gossip: 1,
  /** Raft messages between voters and learners (raft.proto). */
  Raft: 2,
  /** The control plane's member-to-member requests: forwarding, config follow, leadership (control-rpc). */
  Control: 3,
  /** The data plane's replica traffic. */
  Data: 4,
  /** Agent-level requests between members: keyring list/install/use/remove across the cluster. */
  Admin: 5,
} as const;
export type StreamKind = (typeof StreamKind)[keyof typeof StreamKind];

const knownKinds: ReadonlySet<number> = new Set(Object.values(StreamKind));
export function isStreamKind(n: number): n is StreamKind {
  return knownKinds.has(n);
}

/** The role of a frame on an established connection. */
export const FrameType = {
  /** One-way: no answer expected. */
  Message: 1,
  /** A request; the answer carries the same request id. */
  Request: 2,
  /** The successful answer to a request. */
  Response: 3,
  /** The failed answer to a request: a JSON {code, message} body. */
  ErrorResponse: 4,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export function isFrameType(n: number): n is FrameType {
  return n >= FrameType.Message && n <= FrameType.ErrorResponse;
}

/** Why a handshake was refused (sent to the peer and counted locally). */
export const RefuseReason = {
  BadHello: 'bad-hello',
  Version: 'version',
  ClusterLabel: 'cluster-label',
  ClusterId: 'cluster-id',
  NodeId: 'node-id',
  SelfName: 'self-name',
  Closing: 'closing',
  Capacity: 'capacity',
  /** A plain handshake while this member requires encryption (verify incoming). */
  Plain: 'plain',
  /** A sealed handshake that no key of this member's keyring opens. */
  Key: 'key',
  /** Under mutual TLS: the name the handshake claims is not in the peer's certificate. */
  Certificate: 'certificate',
} as const;
export type RefuseReason = (typeof RefuseReason)[keyof typeof RefuseReason];
