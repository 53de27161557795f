/**
 * Limits, counters and the reconnect backoff of Raft's peer links
 * (peer-links.ts): one outbound TCP connection per peer, length-prefixed frames.
 */
import type { Rng } from '../util/rng.js';
import { mergeLimits } from '../wire/limits.js';
import { TransportLimits } from './transport.js';

export interface PeerLinkLimits {
  /** Largest frame either way; an inbound frame declaring more closes its connection. */
  frameMaxBytes: number;
  /** Frames waiting per peer (while disconnected or the socket is full); past it the oldest is dropped. */
  sendQueueMaxFrames: number;
  /** Bytes waiting per peer; past it the oldest frames are dropped. */
  sendQueueMaxBytes: number;
  /** Bytes handed to the socket but not yet on the wire; past it frames wait in the send queue. */
  socketBufferMaxBytes: number;
  /** A connect that takes longer is abandoned and retried after backoff. */
  connectTimeoutMs: number;
  /** First reconnect delay; doubled per failed attempt. */
  reconnectBaseMs: number;
  /** Reconnect delay cap, before jitter. */
  reconnectMaxMs: number;
  /** Inbound connections held at once; more are closed on accept. */
  inboundConnectionsMax: number;
}

/** Defaults, each with its reason. */
export const peerLinkDefaults: Readonly<PeerLinkLimits> = Object.freeze({
  /** The codec's bound: a Raft batch or snapshot chunk (1 MiB) fits with room to spare. */
  frameMaxBytes: TransportLimits.frameMaxBytes,
  /** 4096 frames: several election timeouts of heartbeats and pipelined appends. Raft retransmits the rest. */
  sendQueueMaxFrames: 4096,
  /** 64 MiB: a few maximal frames; bounds memory per unreachable peer. */
  sendQueueMaxBytes: 64 * 1024 * 1024,
  /** 4 MiB in the kernel/socket: enough to keep a loopback or LAN link busy. */
  socketBufferMaxBytes: 4 * 1024 * 1024,
  /** 1 s: a LAN peer that does not answer a SYN in 1 s is as good as down. */
  connectTimeoutMs: 1000,
  /** 20 ms: a restarted peer is reached within a couple of heartbeats. */
  reconnectBaseMs: 20,
  /** 1 s: a long-dead peer costs one connect per second, and returns within ~1 s of restarting. */
  reconnectMaxMs: 1000,
  /** 64: voters and learners (a handful) plus slack for restarts; a flood of strangers is refused. */
  inboundConnectionsMax: 64,
});

/** Defaults overridden by `limits`; a limit given as undefined keeps its default (it would otherwise disable its bound). */
export function resolvePeerLinkLimits(limits: Partial<PeerLinkLimits> | undefined): Readonly<PeerLinkLimits> {
  return mergeLimits(peerLinkDefaults, limits);
}

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry):
 * min(max, base * 2^attempt), then "equal jitter" in [half, full] of it so
 * peers that lost each other at the same instant do not reconnect in lockstep.
 */
export function reconnectDelayMs(attempt: number, limits: Pick<PeerLinkLimits, 'reconnectBaseMs' | 'reconnectMaxMs'>, rng: Rng): number {
  const exp = Math.min(attempt, 30);
  const capped = Math.min(limits.reconnectMaxMs, limits.reconnectBaseMs * 2 ** exp);
  return capped / 2 + (capped / 2) * rng.next();
}

export interface PeerLinkStats {
  framesSent: number;
  frameBytesSent: number;
  framesReceived: number;
  frameBytesReceived: number;
  /** Outbound frames dropped (oldest first) because a peer's send queue was full. */
  framesDroppedQueueFull: number;
  /** Outbound frames refused for exceeding frameMaxBytes. */
  framesRefusedOversized: number;
  /** Outbound frames refused because the peer is unknown or the links are closed. */
  framesRefusedUnknownPeer: number;
  /** Inbound connections closed because a frame declared more than frameMaxBytes. */
  inboundOversized: number;
  /** Inbound connections closed because a frame did not decode. */
  inboundGarbled: number;
  /** Inbound connections refused past inboundConnectionsMax. */
  inboundRefused: number;
  inboundAccepted: number;
  /** The message handler threw (a bug in the caller; counted, never rethrown into the loop). */
  handlerErrors: number;
  connects: number;
  connectFailures: number;
  disconnects: number;
}

export function newPeerLinkStats(): PeerLinkStats {
  return {
    framesSent: 0,
    frameBytesSent: 0,
    framesReceived: 0,
    frameBytesReceived: 0,
    framesDroppedQueueFull: 0,
    framesRefusedOversized: 0,
    framesRefusedUnknownPeer: 0,
    inboundOversized: 0,
    inboundGarbled: 0,
    inboundRefused: 0,
    inboundAccepted: 0,
    handlerErrors: 0,
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
  };
}
