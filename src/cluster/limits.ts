/**
 * Limits of the cluster transport, each with its reason. Every queue,
 * connection table and wait is bounded; past a limit the transport refuses
 * or drops, and counts it (ClusterTransportStats).
 */
import { TransportLimits } from '../transport/transport.js';
import { mergeLimits } from '../wire/limits.js';

export interface ClusterLimits {
  /** Largest frame (header and payload): a push-pull of ~10k members, a Raft batch or snapshot chunk. */
  frameMaxBytes: number;
  /** Largest UDP payload: fits a 1500-byte Ethernet MTU with headers to spare (memberlist uses 1400). */
  packetMaxBytes: number;
  /** A connect that takes longer is abandoned (the peer is unreachable for now). */
  connectTimeoutMs: number;
  /** A connection that has not completed its handshake by then is closed: reaps strangers and half-open sockets. */
  handshakeTimeoutMs: number;
  /** An established connection with no frame either way for this long is closed (reopened lazily). */
  idleTimeoutMs: number;
  /** Frames waiting per peer (while connecting, or while the socket is full); past it a send is refused. */
  sendQueueMaxFrames: number;
  /** Bytes waiting per peer. */
  sendQueueMaxBytes: number;
  /** Bytes handed to the socket but not yet on the wire; past it frames wait in the send queue. */
  socketBufferMaxBytes: number;
  /** Requests awaiting an answer per peer. */
  pendingRequestsMax: number;
  /** Requests a listener serves at once on one connection; more are answered ERR_UNAVAILABLE at once. */
  servingRequestsMax: number;
  /** Connections accepted but not yet through the handshake, per remote IP; past it the oldest is closed. */
  handshakingPerAddrMax: number;
  /** Connections not yet through the handshake, in total; past it the oldest is closed. */
  handshakingMax: number;
  /** Established inbound connections per member name; past it the oldest of that member is closed (a restarted peer). */
  inboundPerPeerMax: number;
  /** Established inbound connections in total; past it new ones are refused. */
  inboundMax: number;
  /** Outbound peers (one pooled connection each); past it the least recently used is closed. */
  outboundMax: number;
  /** First delay before dialing a peer again after a failed connect; doubled per failure. */
  reconnectBaseMs: number;
  /** Reconnect delay cap, before jitter. */
  reconnectMaxMs: number;
  /** TCP keepalive probes start after this much silence: detects a peer host that vanished without a FIN. */
  keepAliveInitialDelayMs: number;
}

export const clusterLimitDefaults: Readonly<ClusterLimits> = Object.freeze({
  frameMaxBytes: TransportLimits.frameMaxBytes,
  packetMaxBytes: TransportLimits.packetMaxBytes,
  /** 2 s: a LAN or WAN peer that does not answer a SYN in 2 s is as good as down (memberlist's TCP timeout is 10 s for WAN). */
  connectTimeoutMs: 2_000,
  /** 5 s: a handshake is one round trip; 5 s covers a loaded peer across a WAN. */
  handshakeTimeoutMs: 5_000,
  /** 60 s: Raft heartbeats keep its links busy; push-pull connections are reused for a minute, then closed. */
  idleTimeoutMs: 60_000,
  /** 4,096 frames: several election timeouts of pipelined appends and heartbeats; Raft retransmits the rest. */
  sendQueueMaxFrames: 4_096,
  /** 64 MiB: a few maximal frames; bounds memory per unreachable peer. */
  sendQueueMaxBytes: 64 * 1024 * 1024,
  /** 4 MiB in the socket: keeps a LAN link busy without hiding a stuck peer. */
  socketBufferMaxBytes: 4 * 1024 * 1024,
  /** 4,096: forwarded requests of many concurrent clients; more means the peer is stuck. */
  pendingRequestsMax: 4_096,
  /** 4,096 per connection, matching pendingRequestsMax on the other side. */
  servingRequestsMax: 4_096,
  /** 32 per IP: a member dials each peer once; a host opening more is a flood. */
  handshakingPerAddrMax: 32,
  /** 256 in total. */
  handshakingMax: 256,
  /** 8 per member: one pooled connection each way, plus restarts the old one has not noticed. */
  inboundPerPeerMax: 8,
  /** 1,024: each member dials each other member it talks to (Raft peers, push-pull partners, replicas). */
  inboundMax: 1_024,
  /** 1,024 pooled outbound peers. */
  outboundMax: 1_024,
  /** 20 ms: a restarted peer is reached within a couple of Raft heartbeats. */
  reconnectBaseMs: 20,
  /** 1 s: a long-dead peer costs one connect attempt per second. */
  reconnectMaxMs: 1_000,
  /** 5 s of silence before the kernel probes the peer. */
  keepAliveInitialDelayMs: 5_000,
});

export function resolveClusterLimits(limits: Partial<ClusterLimits> | undefined): Readonly<ClusterLimits> {
  return mergeLimits(clusterLimitDefaults, limits);
}
