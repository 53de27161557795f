/**
 * The one node-to-node transport. Every byte between two agents goes
 * through it, on one port: UDP datagrams (gossip probes and gossip) and TCP
 * streams for everything else, each stream opened by a handshake that names
 * the cluster and the member (identity.ts, handshake-codec.ts). After the
 * handshake, frames are routed by their StreamKind to the handler that plane
 * registered.
 *
 *   transport.handle(StreamKind.Raft, { message: (peer, payload) => ... });
 *   transport.post(addr, StreamKind.Raft, bytes);                 // one-way, queued
 *   const answer = await transport.request(addr, StreamKind.Control, bytes, { timeoutMs: 5000, signal });
 *
 * Implementations: ClusterNetTransport (net-transport.ts, real sockets) and
 * the simulator's twin (src/sim/cluster-net.ts), so the same shells run in
 * both worlds.
 */
import type { Address } from '../util/address.js';
import type { NodeIdentity } from './identity.js';
import type { StreamKind } from './kinds.js';

/** A verified peer: what its handshake said, after checkPeer() accepted it. */
export type PeerInfo = Readonly<NodeIdentity>;

export interface StreamHandler {
  /** A one-way message. A throw is counted, never propagated. */
  message?(peer: PeerInfo, payload: Uint8Array): void;
  /**
   * A request: resolve with the answer's payload, or reject (a ShoalError's
   * code and message travel back). The signal aborts when the connection
   * closes or the transport stops.
   */
  request?(peer: PeerInfo, payload: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
}

export interface RequestOptions {
  /** The answer must arrive within this; otherwise ERR_TIMEOUT (the request may or may not have been served). */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ClusterTransport {
  /** The address this member advertises: UDP and TCP on one port. */
  readonly localAddr: Address;
  /** This member's identity as sent in handshakes (cluster id filled in once known). */
  readonly identity: Readonly<NodeIdentity>;
  /** The Raft cluster id, once this member has one: later handshakes carry it. */
  setClusterId(clusterId: string): void;

  /** Best-effort datagram. Never throws; errors are counted. */
  sendPacket(to: Address, data: Uint8Array): void;
  onPacket(handler: (from: Address, data: Uint8Array) => void): void;

  /** Register the handler of one stream kind (one per kind). Frames of a kind without a handler are counted and dropped. */
  handle(kind: StreamKind, handler: StreamHandler): void;
  /**
   * Queue a one-way message; false when it was refused at once (queue full,
   * frame too large, peer backing off after a failed connect, closed). A
   * queued message may still be lost if the connection breaks (counted).
   */
  post(to: Address, kind: StreamKind, payload: Uint8Array): boolean;
  /** A one-way message whose promise settles once it is written to the socket, or rejects (ERR_UNREACHABLE ...). */
  send(to: Address, kind: StreamKind, payload: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>;
  /** Request/response with a deadline: ERR_TIMEOUT, ERR_ABORTED, ERR_UNREACHABLE, or the peer's error. */
  request(to: Address, kind: StreamKind, payload: Uint8Array, options: RequestOptions): Promise<Uint8Array>;

  close(): Promise<void>;
}
