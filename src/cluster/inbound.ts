/**
 * The listening side: every accepted TCP connection first proves who it is.
 * Until its handshake is through it is a stranger, bounded per remote IP and
 * in total (the oldest stranger is closed to make room, so a flood of idle
 * connections cannot lock members out) and closed after handshakeTimeoutMs.
 * A refused handshake gets a refusal with the reason, is counted, and
 * nothing it sent reaches a plane. Established connections are bounded per
 * member and in total.
 */
import type * as net from 'node:net';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { ClusterConnection } from './connection.js';
import type { FrameHeader } from './frame-header.js';
import { decodeHandshake, encodeHandshake, protocolVersion } from './handshake-codec.js';
import { handshakeFrame, readHandshakeFrame } from './handshake-io.js';
import { checkPeer, type PeerCheckContext, type PeerVerdict } from './identity.js';
import { RefuseReason } from './kinds.js';
import type { ClusterLimits } from './limits.js';
import type { ClusterTransportStats } from './stats.js';

export interface ListenerContext extends PeerCheckContext {
  limits: Readonly<ClusterLimits>;
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
    const { stats, limits, local } = this.ctx;
    if (socket.destroyed) return;
    const decoded = decodeHandshake(frame);
    let verdict: PeerVerdict;
    if (!decoded.ok) verdict = { ok: false, reason: RefuseReason.BadHello, message: decoded.error.message };
    else if (decoded.handshake.version !== protocolVersion) {
      verdict = { ok: false, reason: RefuseReason.Version, message: `protocol version ${decoded.handshake.version} is not ${protocolVersion}` };
    } else if (this.closed) verdict = { ok: false, reason: RefuseReason.Closing, message: `${local.name} is shutting down` };
    else if (this.established >= limits.inboundMax) {
      stats.inboundRefused++;
      verdict = { ok: false, reason: RefuseReason.Capacity, message: `${local.name} holds ${this.established} connections (inboundMax)` };
    } else verdict = checkPeer(decoded.handshake.identity, this.ctx);
    if (!verdict.ok) {
      stats.refusedInbound[verdict.reason]++;
      if (decoded.ok) this.ctx.onRefused?.(decoded.handshake.identity, verdict.reason);
      // Tell the peer why (it logs and counts it), then hang up; nothing it sent goes further.
      socket.end(handshakeFrame(encodeHandshake({ version: protocolVersion, identity: local, refuseReason: verdict.reason, refuseMessage: verdict.message })));
      setTimeout(() => socket.destroy(), 1_000).unref();
      return;
    }
    if (!decoded.ok) return; // unreachable: a verdict of ok needs a decoded handshake
    const peer = { ...decoded.handshake.identity };
    socket.write(handshakeFrame(encodeHandshake({ version: protocolVersion, identity: local, refuseReason: '', refuseMessage: '' })));
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
    }, leftover);
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
