/** Counters of the cluster transport: every drop, refusal and timeout is counted here. */
import { RefuseReason } from './kinds.js';

export type RefuseCounts = Record<RefuseReason, number>;

function refuseCounts(): RefuseCounts {
  const out = {} as RefuseCounts;
  for (const r of Object.values(RefuseReason)) out[r] = 0;
  return out;
}

export function newClusterTransportStats() {
  return {
    packetsSent: 0,
    packetBytesSent: 0,
    packetsReceived: 0,
    packetBytesReceived: 0,
    packetSendErrors: 0,
    /** Outbound datagrams over packetMaxBytes, refused. */
    packetsOversized: 0,
    /** Inbound datagrams over packetMaxBytes, dropped. */
    packetsOversizedReceived: 0,
    framesSent: 0,
    frameBytesSent: 0,
    framesReceived: 0,
    frameBytesReceived: 0,
    /** Sends refused at once: queue full, frame too large, peer backing off, closed. */
    framesRefused: 0,
    /** Queued frames lost because their connection broke before they were written. */
    framesLost: 0,
    /** Frames of a kind no plane registered. */
    framesUnrouted: 0,
    /** Frames with a bad header, or of a type not allowed in their direction: the connection is closed. */
    framesMalformed: 0,
    /** Frames whose declared length exceeds frameMaxBytes: the connection is closed. */
    framesOversized: 0,
    /** Sealed frames that failed authentication (tampered, replayed, reordered): the connection is closed. */
    framesUnauthenticated: 0,
    /** Datagrams dropped by gossip encryption: plain while encryption is required, sealed with no key that opens them, sealed without a keyring. */
    packetsRefused: { plain: 0, key: 0, noKeyring: 0 },
    connects: 0,
    connectFailures: 0,
    /** Inbound handshakes this member refused, by reason. */
    refusedInbound: refuseCounts(),
    /** Outbound handshakes refused, by reason (by the peer, or by this member after reading the peer's identity). */
    refusedOutbound: refuseCounts(),
    handshakeTimeouts: 0,
    /** Under mutual TLS: connections that failed the TLS handshake (no certificate, or not from the cluster CA). */
    tlsRefused: 0,
    /** Connections closed before their handshake because more arrived from the same address or in total. */
    handshakingEvicted: 0,
    /** Established inbound connections refused past inboundMax. */
    inboundRefused: 0,
    /** Older inbound connections of a member closed when it opened more than inboundPerPeerMax. */
    inboundEvicted: 0,
    idleClosed: 0,
    requestsSent: 0,
    requestTimeouts: 0,
    /** Requests that failed: the peer answered an error, or the connection broke. */
    requestsFailed: 0,
    requestsServed: 0,
    /** Requests refused at once because too many were being served on the connection. */
    requestsRefusedBusy: 0,
    /** Handlers that threw (a bug above the transport; counted, never propagated). */
    handlerErrors: 0,
  };
}
export type ClusterTransportStats = ReturnType<typeof newClusterTransportStats>;
