/**
 * The dialing side: one pooled connection per peer address, opened lazily
 * by the first frame for it, through the handshake, and kept until it breaks
 * or idles. Frames queue (bounded) while the connection opens. A failed
 * connect or handshake fails what was queued and starts a backoff (capped
 * exponential, with jitter) during which frames for that peer are refused at
 * once; the next frame after it dials again.
 *
 * Requests go out on this connection and their answers come back on it;
 * each has a deadline and an AbortSignal, and settles exactly once.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { EMPTY_BYTES } from '../wire/pb-read.js';
import { WireKind } from '../wire/kind.js';
import { parseHostPort, type Address } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { ClusterConnection, type StreamCiphers } from './connection.js';
import type { FrameHeader } from './frame-header.js';
import { decodeHandshake, encodeHandshake, handshakeNonceBytes, protocolVersion } from './handshake-codec.js';
import { handshakeFrame, readHandshakeFrame } from './handshake-io.js';
import { checkPeer, type PeerCheckContext } from './identity.js';
import { FrameType, RefuseReason, type StreamKind } from './kinds.js';
import type { ClusterLimits } from './limits.js';
import type { ClusterSecurity } from './security.js';
import { deriveSessionKeys, FrameCipher } from './session-cipher.js';
import { certificateNames, tlsOptions, type TlsMaterial } from './tls.js';
import type { ClusterTransportStats } from './stats.js';

interface PendingRequest {
  resolve(payload: Uint8Array): void;
  reject(err: ShoalError): void;
}

interface WaitingFrame {
  type: FrameType;
  kind: StreamKind;
  requestId: number;
  payload: Uint8Array;
  done: ((err: ShoalError | undefined) => void) | undefined;
}

/** The error a request fails with when its answer cannot come back. */
export type ErrorDecoder = (payload: Uint8Array) => ShoalError;

class OutboundPeer {
  conn: ClusterConnection | undefined;
  connecting = false;
  /** The socket of a dial in progress (connect and handshake), destroyed by close(). */
  dialing: net.Socket | undefined;
  waiting: WaitingFrame[] = [];
  waitingBytes = 0;
  readonly pending = new Map<number, PendingRequest>();
  attempt = 0;
  retryAtMs = 0;
  lastError: ShoalError | undefined;
  nextRequestId = 1;

  constructor(readonly addr: Address) {}

  takeRequestId(): number {
    const id = this.nextRequestId;
    this.nextRequestId = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }
}

/**
 * The listener's answer, opened: sealed with our key when we sealed, or a
 * plain refusal (a listener that cannot open our hello, or wants a sealed
 * one, refuses in plain so we learn why).
 */
function openAnswer(security: ClusterSecurity, frame: Uint8Array, addr: string): { plain: Uint8Array; sealed: boolean; keyIndex: number } {
  if (frame.length > 0 && frame[0] === WireKind.Encrypted) {
    const opened = security.open(frame);
    if (!opened.ok) throw new ShoalError(ErrorCode.Unreachable, `${addr} answered with a handshake no key of ours opens (another key or cluster label)`, { details: { reason: RefuseReason.Key } });
    return opened;
  }
  // Plain: with a key in force, readable only as a refusal, never as an acceptance (checked by the caller).
  return { plain: frame, sealed: false, keyIndex: -1 };
}

export interface DialerContext extends PeerCheckContext {
  limits: Readonly<ClusterLimits>;
  security: ClusterSecurity;
  /** Mutual TLS material in force (it changes on reload), or undefined for plain TCP. */
  tls?(): TlsMaterial | undefined;
  stats: ClusterTransportStats;
  decodeError: ErrorDecoder;
  /** A frame other than an answer arrived on an outbound connection: counted, the connection closed. */
  nowMs(): number;
  random(): number;
}

export class Dialer {
  private readonly peers = new Map<Address, OutboundPeer>();
  private closed = false;

  constructor(private readonly ctx: DialerContext) {}

  get size(): number {
    return this.peers.size;
  }

  /** Open (established) outbound connections. */
  get openConnections(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.conn !== undefined && !p.conn.isClosed) n++;
    return n;
  }

  /** Queue a frame for `to`; returns an error when refused at once. */
  write(to: Address, type: FrameType, kind: StreamKind, requestId: number, payload: Uint8Array, done?: (err: ShoalError | undefined) => void): ShoalError | undefined {
    if (this.closed) return new ShoalError(ErrorCode.TransportClosed, 'cluster transport closed');
    if (payload.length + 6 > this.ctx.limits.frameMaxBytes) {
      return new ShoalError(ErrorCode.FrameTooLarge, `frame of ${payload.length} bytes exceeds ${this.ctx.limits.frameMaxBytes}`);
    }
    const peer = this.peer(to);
    if (peer instanceof ShoalError) return peer;
    if (peer.conn !== undefined && !peer.conn.isClosed) return peer.conn.write(type, kind, requestId, payload, done);
    if (!peer.connecting && this.ctx.nowMs() < peer.retryAtMs) {
      return new ShoalError(ErrorCode.Unreachable, `${to} is unreachable (retrying in ${Math.ceil(peer.retryAtMs - this.ctx.nowMs())} ms): ${peer.lastError?.message ?? ''}`);
    }
    const { sendQueueMaxFrames, sendQueueMaxBytes } = this.ctx.limits;
    if (peer.waiting.length >= sendQueueMaxFrames || peer.waitingBytes + payload.length > sendQueueMaxBytes) {
      return new ShoalError(ErrorCode.Unavailable, `send queue to ${to} is full`);
    }
    peer.waiting.push({ type, kind, requestId, payload, done });
    peer.waitingBytes += payload.length;
    if (!peer.connecting) void this.dial(peer);
    return undefined;
  }

  /** Send a request and await its answer (deadline and signal handled by the caller through `cancel`). */
  request(to: Address, kind: StreamKind, payload: Uint8Array): { id: number; answer: Promise<Uint8Array>; cancel(err: ShoalError): void } {
    const peer = this.peer(to);
    let settle!: PendingRequest;
    const answer = new Promise<Uint8Array>((resolve, reject) => {
      settle = { resolve, reject };
    });
    if (peer instanceof ShoalError) {
      settle.reject(peer);
      return { id: 0, answer, cancel: () => undefined };
    }
    const id = peer.takeRequestId();
    const cancel = (err: ShoalError): void => {
      if (peer.pending.delete(id)) settle.reject(err);
    };
    if (peer.pending.size >= this.ctx.limits.pendingRequestsMax) {
      settle.reject(new ShoalError(ErrorCode.Unavailable, `${peer.pending.size} requests to ${to} already await an answer`));
      return { id, answer, cancel };
    }
    peer.pending.set(id, settle);
    const refused = this.write(to, FrameType.Request, kind, id, payload);
    if (refused !== undefined) cancel(refused);
    return { id, answer, cancel };
  }

  close(): void {
    this.closed = true;
    const err = new ShoalError(ErrorCode.TransportClosed, 'cluster transport closed');
    for (const p of this.peers.values()) {
      this.fail(p, err, false);
      // Close what is open or opening too: a closed transport holds no sockets (and its peers see it go).
      p.conn?.close(err);
      p.dialing?.destroy();
    }
    this.peers.clear();
  }

  /** The peer entry of `to`, or an error when outboundMax entries are all busy (connecting or awaiting answers). */
  private peer(to: Address): OutboundPeer | ShoalError {
    let p = this.peers.get(to);
    if (p === undefined) {
      if (this.closed) return new ShoalError(ErrorCode.TransportClosed, 'cluster transport closed');
      if (this.peers.size >= this.ctx.limits.outboundMax && !this.evictOldest()) {
        return new ShoalError(ErrorCode.Unavailable, `${this.peers.size} outbound peers are busy (outboundMax): cannot dial ${to} now`);
      }
      p = new OutboundPeer(to);
      this.peers.set(to, p);
    }
    // Oldest first: eviction (past outboundMax, rare) takes the longest-known idle peer; no reordering on the hot path.
    return p;
  }

  /** Drop the oldest idle peer entry; false when every entry is busy. */
  private evictOldest(): boolean {
    for (const p of this.peers.values()) {
      if (p.connecting || p.pending.size > 0) continue;
      p.conn?.close(new ShoalError(ErrorCode.Unavailable, 'outbound connection evicted (outboundMax)'));
      this.peers.delete(p.addr);
      return true;
    }
    return false;
  }

  private async dial(peer: OutboundPeer): Promise<void> {
    peer.connecting = true;
    const { limits, stats } = this.ctx;
    let socket: net.Socket | undefined;
    try {
      const target = parseHostPort(peer.addr);
      const material = this.ctx.tls?.();
      // Under TLS the chain is checked against the cluster CA; the name is checked against our handshake (certificates name members, not IPs).
      socket = material === undefined
        ? net.connect({ host: target.host, port: target.port })
        : tls.connect({ host: target.host, port: target.port, ...tlsOptions(material), checkServerIdentity: () => undefined });
      const connectEvent = material === undefined ? 'connect' : 'secureConnect';
      peer.dialing = socket;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, limits.keepAliveInitialDelayMs);
      // Errors are handled where they matter (connect, handshake, connection); none may escape to the event loop.
      socket.on('error', () => undefined);
      const s = socket;
      const timer = setTimeout(() => s.destroy(new Error(`no handshake with ${peer.addr} within ${limits.connectTimeoutMs + limits.handshakeTimeoutMs} ms`)), limits.connectTimeoutMs + limits.handshakeTimeoutMs);
      try {
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error): void => {
            s.off('close', onClose);
            reject(err);
          };
          const onClose = (): void => {
            s.off('error', onError);
            reject(new Error('closed while connecting'));
          };
          s.once(connectEvent, () => {
            s.off('error', onError);
            s.off('close', onClose);
            resolve();
          });
          s.once('error', onError);
          s.once('close', onClose);
        });
        const { security, local } = this.ctx;
        const overTls = material !== undefined;
        const sealOut = !overTls && security.enabled && security.verifyOutgoing;
        const nonce = sealOut ? new Uint8Array(randomBytes(handshakeNonceBytes)) : EMPTY_BYTES;
        s.write(handshakeFrame(security.seal(encodeHandshake({ version: protocolVersion, identity: local, refuseReason: '', refuseMessage: '', nonce }))));
        const { frame, leftover } = await readHandshakeFrame(s);
        const answer = overTls ? { plain: frame, sealed: false, keyIndex: -1 } : openAnswer(security, frame, peer.addr);
        const decoded = decodeHandshake(answer.plain);
        if (!decoded.ok) throw new ShoalError(ErrorCode.DecodeFailed, `bad handshake from ${peer.addr}: ${decoded.error.message}`);
        const h = decoded.handshake;
        if (h.refuseReason !== '') {
          stats.refusedOutbound[h.refuseReason]++;
          throw new ShoalError(ErrorCode.Unreachable, `${peer.addr} (${h.identity.name}) refused the connection: ${h.refuseMessage}`, { details: { reason: h.refuseReason } });
        }
        if (!overTls && (sealOut || (security.enabled && security.verifyIncoming)) && !answer.sealed) {
          // A plain acceptance of a sealed hello: the peer has not proved it holds the key.
          stats.refusedOutbound[RefuseReason.Plain]++;
          throw new ShoalError(ErrorCode.Unreachable, `${peer.addr} (${h.identity.name}) answered an encrypted handshake in plain: it does not hold the cluster key`, { details: { reason: RefuseReason.Plain } });
        }
        let verdict = h.version !== protocolVersion ? { ok: false as const, reason: RefuseReason.Version, message: `protocol version ${h.version}` } : checkPeer(h.identity, this.ctx);
        if (verdict.ok && answer.sealed && h.nonce.length !== handshakeNonceBytes) verdict = { ok: false, reason: RefuseReason.BadHello, message: 'an encrypted handshake without its nonce' };
        if (verdict.ok && overTls && !certificateNames(s as tls.TLSSocket).includes(h.identity.name)) {
          verdict = { ok: false, reason: RefuseReason.Certificate, message: `its certificate does not name ${h.identity.name}` };
        }
        if (!verdict.ok) {
          stats.refusedOutbound[verdict.reason]++;
          this.ctx.onRefused?.(h.identity, verdict.reason);
          throw new ShoalError(ErrorCode.Unreachable, `refused ${peer.addr} (${h.identity.name}): ${verdict.message}`, { details: { reason: verdict.reason } });
        }
        let ciphers: StreamCiphers | undefined;
        if (answer.sealed && security.keyring !== undefined) {
          const keys = deriveSessionKeys(security.keyring.decryptKeys()[answer.keyIndex]!, local.clusterLabel, nonce, h.nonce);
          ciphers = { send: new FrameCipher(keys.dialerToListener), recv: new FrameCipher(keys.listenerToDialer) };
        }
        clearTimeout(timer);
        if (this.closed) throw new ShoalError(ErrorCode.TransportClosed, 'cluster transport closed');
        const conn = new ClusterConnection(s, { ...h.identity }, 'out', limits, stats, {
          frame: (c, head, payload) => this.onFrame(peer, c, head, payload),
          closed: (c, reason) => this.onClosed(peer, c, reason),
          busy: () => peer.pending.size > 0,
        }, leftover, ciphers);
        stats.connects++;
        peer.conn = conn;
        peer.connecting = false;
        peer.attempt = 0;
        peer.lastError = undefined;
        const waiting = peer.waiting;
        peer.waiting = [];
        peer.waitingBytes = 0;
        for (const w of waiting) {
          const err = conn.write(w.type, w.kind, w.requestId, w.payload, w.done);
          if (err !== undefined) this.failFrame(peer, w, err);
        }
      } finally {
        clearTimeout(timer);
      }
    } catch (e) {
      socket?.destroy();
      stats.connectFailures++;
      const err = e instanceof ShoalError ? e : new ShoalError(ErrorCode.Unreachable, `cannot reach ${peer.addr}: ${(e as Error).message}`, { cause: e });
      peer.connecting = false;
      this.fail(peer, err, true);
    } finally {
      peer.dialing = undefined;
    }
  }

  private failFrame(peer: OutboundPeer, w: WaitingFrame, err: ShoalError): void {
    this.ctx.stats.framesLost++;
    w.done?.(err);
    if (w.type === FrameType.Request) {
      const p = peer.pending.get(w.requestId);
      if (p !== undefined) {
        peer.pending.delete(w.requestId);
        p.reject(err);
      }
    }
  }

  /** Fail everything waiting for or on this peer; with backoff, refuse frames for a while. */
  private fail(peer: OutboundPeer, err: ShoalError, backoff: boolean): void {
    const waiting = peer.waiting;
    peer.waiting = [];
    peer.waitingBytes = 0;
    for (const w of waiting) this.failFrame(peer, w, err);
    for (const p of peer.pending.values()) p.reject(err);
    peer.pending.clear();
    peer.lastError = err;
    if (backoff) {
      const { reconnectBaseMs, reconnectMaxMs } = this.ctx.limits;
      const capped = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** Math.min(peer.attempt, 30));
      // Equal jitter: peers that lost each other at the same instant do not redial in lockstep.
      peer.retryAtMs = this.ctx.nowMs() + capped / 2 + (capped / 2) * this.ctx.random();
      peer.attempt++;
    }
  }

  private onFrame(peer: OutboundPeer, conn: ClusterConnection, head: FrameHeader, payload: Uint8Array): void {
    if (head.type !== FrameType.Response && head.type !== FrameType.ErrorResponse) {
      this.ctx.stats.framesMalformed++;
      conn.close(new ShoalError(ErrorCode.DecodeFailed, `frame type ${head.type} on an outbound connection`));
      return;
    }
    const p = peer.pending.get(head.requestId);
    if (p === undefined) return; // timed out or aborted already
    peer.pending.delete(head.requestId);
    if (head.type === FrameType.Response) p.resolve(payload);
    else p.reject(this.ctx.decodeError(payload));
  }

  private onClosed(peer: OutboundPeer, conn: ClusterConnection, reason: ShoalError): void {
    if (peer.conn !== conn) return;
    peer.conn = undefined;
    // Requests written on it may or may not have been served: their outcome is unknown to the caller.
    for (const p of peer.pending.values()) p.reject(reason);
    peer.pending.clear();
  }
}
