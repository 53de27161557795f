import type { Address } from '../util/address.js';

/**
 * The network as the agent shells see it. Two services on one port number:
 *  - packets: best-effort datagrams (UDP), at most `packetMaxBytes` each;
 *  - frames: reliable, ordered per peer, length-prefixed messages (TCP), one
 *    pooled connection per peer, at most `frameMaxBytes` each.
 * Handlers receive the sender's address: for packets, the UDP source; for
 * frames, the remote address of the connection (an ephemeral port for inbound
 * connections: protocols that need to answer carry their own return address).
 *
 * Implementations: UdpTcpTransport (src/transport/net.ts) and the in-memory
 * twin MemoryTransport (src/transport/memory.ts) for tests.
 */
export interface Transport {
  readonly localAddr: Address;
  /** Best effort: never throws for an unreachable peer; errors are counted. */
  sendPacket(to: Address, data: Uint8Array): void;
  /** Reliable frame to a peer; rejects (ShoalError ERR_UNREACHABLE / ERR_TIMEOUT) if it cannot be delivered. */
  sendFrame(to: Address, data: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>;
  onPacket(handler: (from: Address, data: Uint8Array) => void): void;
  onFrame(handler: (from: Address, data: Uint8Array) => void): void;
  close(): Promise<void>;
  readonly stats: TransportStats;
}

export interface TransportStats {
  packetsSent: number;
  packetsReceived: number;
  packetBytesSent: number;
  packetBytesReceived: number;
  packetSendErrors: number;
  framesSent: number;
  framesReceived: number;
  frameBytesSent: number;
  frameBytesReceived: number;
  frameErrors: number;
  /** Frames refused because they exceeded frameMaxBytes. */
  framesOversized: number;
}

export function newTransportStats(): TransportStats {
  return {
    packetsSent: 0,
    packetsReceived: 0,
    packetBytesSent: 0,
    packetBytesReceived: 0,
    packetSendErrors: 0,
    framesSent: 0,
    framesReceived: 0,
    frameBytesSent: 0,
    frameBytesReceived: 0,
    frameErrors: 0,
    framesOversized: 0,
  };
}

/** Limits shared by transports and decoders. */
export const TransportLimits = {
  /** UDP payload that fits a 1500-byte Ethernet MTU with headers to spare (memberlist uses 1400). */
  packetMaxBytes: 1400,
  /** Largest frame on a stream: push-pull of ~10k members or a Raft batch/snapshot chunk. */
  frameMaxBytes: 8 * 1024 * 1024,
} as const;
