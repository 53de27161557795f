/**
 * The listening side: every accepted TCP connection first proves who it is.
 * Until its handshake is through it is a stranger, bounded per remote IP and
 * in total (the oldest stranger is closed to make room, so a flood of idle
 * connections cannot lock members out) and closed after handshakeTimeoutMs.
 * A refused handshake gets a refusal with the reason, is counted, and
 * nothing it sent reaches a plane. Established connections are bounded per
 * member and in total.
 */
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { encrypt } from '../wire/crypto.js';
import { EMPTY_BYTES } from '../wire/pb-read.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { ClusterConnection, type StreamCiphers } from './connection.js';
import type { FrameHeader } from './frame-header.js';
import { decodeHandshake, encodeHandshake, handshakeNonceBytes, protocolVersion } from './handshake-codec.js';
import { handshakeFrame, readHandshakeFrame } from './handshake-io.js';
import { checkPeer, type PeerCheckContext, type PeerVerdict } from './identity.js';
import { RefuseReason } from './kinds.js';
import type { ClusterLimits } from './limits.js';
import type { ClusterSecurity } from './security.js';
import { certificateNames, isTlsSocket } from './tls.js';
import { deriveSessionKeys, FrameCipher } from './session-cipher.js';
import type { ClusterTransportStats } from './stats.js';

const plainBody = (body: Uint8Array): Uint8Array => body;

export interface ListenerContext extends PeerCheckContext {
  limits: Readonly<ClusterLimits>;
  security: ClusterSecurity;
  stats: ClusterTransportStats;
  frame(conn: ClusterConnection, head: FrameHeader, payload: Uint8Array): void;
  closed(conn: ClusterConnection, reason: ShoalError): void;
  /** Requests being served on this connection (it is not idle while there are any). */
  busy?(conn: ClusterConnection): boolean;
}

export class Listener {
  /** Sockets before their handshake, oldest first. */
  private readonly strangers = new Set<net.Socket>();
  private readonly strangersByIp = new Map<string, Set<net.Socket>>();
  /** Established inbound connections by member name, oldest first. */
  private readonly byPeer = new Map<string, ClusterConnection[]>();
  private established = 0;
  private closed = false;

  constructor(private readonly ctx: ListenerContext) {}

  get handshaking(): number {
    return this.strangers.size;
  }

  get inboundConnections(): number {
    return this.established;
  }

  accept(socket: net.Socket): void {
    const { limits, stats } = this.ctx;
    socket.on('error', () => undefined);
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, limits.keepAliveInitialDelayMs);
    const ip = socket.remoteAddress ?? '?';
    let fromIp = this.strangersByIp.get(ip);
    if (fromIp === undefined) {
      fromIp = new Set();
      this.strangersByIp.set(ip, fromIp);
    }
    if (fromIp.size >= limits.handshakingPerAddrMax) this.evict(fromIp.values().next().value);
    if (this.strangers.size >= limits.handshakingMax) this.evict(this.strangers.values().next().value);
    this.strangers.add(socket);
    fromIp.add(socket);
    let reaped = false;
    const timer = setTimeout(() => {
      reaped = true;
      stats.handshakeTimeouts++;
      socket.destroy();
    }, limits.handshakeTimeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      this.forget(socket, ip);
    });
    readHandshakeFrame(socket).then(
      ({ frame, leftover }) => {
        clearTimeout(timer);
        this.forget(socket, ip);
        this.onHello(socket, frame, leftover);
      },
      () => {
        clearTimeout(timer);
        // A stranger reaped by the timer or evicted is counted there, not again as a bad hello.
        const counted = reaped || !this.strangers.has(socket);
        this.forget(socket, ip);
        if (!counted) stats.refusedInbound[RefuseReason.BadHello]++;
        socket.destroy();
      },
    );
  }

  close(): void {
    this.closed = true;
    for (const s of this.strangers) s.destroy();
    this.strangers.clear();
    this.strangersByIp.clear();
    const err = new ShoalError(ErrorCode.TransportClosed, 'cluster transport closed');
    for (const conns of [...this.byPeer.values()]) for (const c of [...conns]) c.close(err);
    this.byPeer.clear();
  }

  private evict(socket: net.Socket | undefined): void {
    if (socket === undefined) return;
    this.ctx.stats.handshakingEvicted++;
    socket.destroy();
    this.forget(socket, socket.remoteAddress ?? '?');
  }

  private forget(socket: net.Socket, ip: string): void {
    this.strangers.delete(socket);
    const set = this.strangersByIp.get(ip);
    if (set !== undefined) {
      set.delete(socket);
      if (set.size === 0) this.strangersByIp.delete(ip);
    }
  }

  private onHello(socket: net.Socket, frame: Uint8Array, leftover: Buffer | undefined): void {
    const { stats, limits, local, security } = this.ctx;
    if (socket.destroyed) return;
    const refuse = (reason: RefuseReason, message: string, seal: (body: Uint8Array) => Uint8Array): void => {
      stats.refusedInbound[reason]++;
      // Tell the peer why (it logs and counts it), then hang up; nothing it sent goes further.
      socket.end(handshakeFrame(seal(encodeHandshake({ version: protocolVersion, identity: local, refuseReason: reason, refuseMessage: message, nonce: EMPTY_BYTES }))));
      setTimeout(() => socket.destroy(), 1_000).unref();
    };
    // Under TLS the stream is already private and authenticated: the hello travels plain inside it.
    const overTls = isTlsSocket(socket);
    const opened = overTls ? ({ ok: true, plain: frame, sealed: false, keyIndex: -1 } as const) : security.open(frame);
    if (!opened.ok) {
      // Answered in plain: this member cannot (wrong key) or will not (plain) speak the peer's way.
      if (opened.reason === 'plain-refused') refuse(RefuseReason.Plain, `${local.name} requires an encrypted handshake (gossip encryption is on)`, plainBody);
      else refuse(RefuseReason.Key, `no key of ${local.name}'s keyring opens the handshake (wrong key, or another cluster label)`, plainBody);
      return;
    }
    // Answer the way the peer spoke: sealed with the key it used, or plain.
    const keyring = security.keyring;
    const seal = opened.sealed && keyring !== undefined ? (body: Uint8Array) => encrypt(keyring, local.clusterLabel, body, opened.keyIndex) : plainBody;
    const decoded = decodeHandshake(opened.plain);
    let verdict: PeerVerdict;
    if (!decoded.ok) verdict = { ok: false, reason: RefuseReason.BadHello, message: decoded.error.message };
    else if (decoded.handshake.version !== protocolVersion) {
      verdict = { ok: false, reason: RefuseReason.Version, message: `protocol version ${decoded.handshake.version} is not ${protocolVersion}` };
    } else if (opened.sealed && decoded.handshake.nonce.length !== handshakeNonceBytes) {
      verdict = { ok: false, reason: RefuseReason.BadHello, message: `an encrypted handshake needs a ${handshakeNonceBytes}-byte nonce` };
    } else if (overTls && !certificateNames(socket as tls.TLSSocket).includes(decoded.handshake.identity.name)) {
      verdict = { ok: false, reason: RefuseReason.Certificate, message: `the certificate does not name ${decoded.handshake.identity.name} (CN or DNS alternative name)` };
    } else if (this.closed) verdict = { ok: false, reason: RefuseReason.Closing, message: `${local.name} is shutting down` };
    else if (this.established >= limits.inboundMax) {
      stats.inboundRefused++;
      verdict = { ok: false, reason: RefuseReason.Capacity, message: `${local.name} holds ${this.established} connections (inboundMax)` };
    } else verdict = checkPeer(decoded.handshake.identity, this.ctx);
    if (!verdict.ok) {
      if (decoded.ok) this.ctx.onRefused?.(decoded.handshake.identity, verdict.reason);
      refuse(verdict.reason, verdict.message, seal);
      return;
    }
    if (!decoded.ok) return; // unreachable: a verdict of ok needs a decoded handshake
    const peer = { ...decoded.handshake.identity };
    const nonce = opened.sealed ? new Uint8Array(randomBytes(handshakeNonceBytes)) : EMPTY_BYTES;
    socket.write(handshakeFrame(seal(encodeHandshake({ version: protocolVersion, identity: local, refuseReason: '', refuseMessage: '', nonce }))));
    let ciphers: StreamCiphers | undefined;
    if (opened.sealed && keyring !== undefined) {
      const keys = deriveSessionKeys(keyring.decryptKeys()[opened.keyIndex]!, local.clusterLabel, decoded.handshake.nonce, nonce);
      ciphers = { send: new FrameCipher(keys.listenerToDialer), recv: new FrameCipher(keys.dialerToListener) };
    }
    const conns = this.byPeer.get(peer.name) ?? [];
    this.byPeer.set(peer.name, conns);
    const conn = new ClusterConnection(socket, peer, 'in', limits, stats, {
      frame: (c, head, payload) => this.ctx.frame(c, head, payload),
      busy: (c) => this.ctx.busy?.(c) === true,
      closed: (c, reason) => {
        const list = this.byPeer.get(c.peer.name);
        const i = list?.indexOf(c) ?? -1;
        if (list !== undefined && i >= 0) {
          list.splice(i, 1);
          this.established--;
          if (list.length === 0) this.byPeer.delete(c.peer.name);
        }
        this.ctx.closed(c, reason);
      },
    }, leftover, ciphers);
    // The bytes read past the handshake may already have closed it (a bad frame in the same packet):
    // its closed hook found nothing to remove, so it must not be counted now.
    if (conn.isClosed) {
      if (conns.length === 0) this.byPeer.delete(peer.name);
      return;
    }
    conns.push(conn);
    this.established++;
    while (conns.length > limits.inboundPerPeerMax) {
      stats.inboundEvicted++;
      conns[0]!.close(new ShoalError(ErrorCode.Unavailable, `more than ${limits.inboundPerPeerMax} connections from ${peer.name}`));
    }
  }
}
