/**
 * The cluster transport on real sockets: one UDP socket and one TCP listener
 * on the same port, a Listener for inbound streams and a Dialer for
 * outbound ones (see transport.ts for the contract). Never throws into the
 * event loop: socket errors and handler exceptions are counted.
 */
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { bindUdp, closeServer, listenTcp, listenTls } from '../transport/sockets.js';
import { formatHostPort, parseHostPort, type Address, type HostPort } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { ClusterConnection } from './connection.js';
import { decodeErrorPayload } from './error-payload.js';
import { serveRequest } from './serve.js';
import type { FrameHeader } from './frame-header.js';
import type { KnownMember, NodeIdentity } from './identity.js';
import { Dialer } from './outbound.js';
import { Listener } from './inbound.js';
import { FrameType, type RefuseReason, type StreamKind } from './kinds.js';
import { resolveClusterLimits, type ClusterLimits } from './limits.js';
import { ClusterSecurity, type SecurityOptions } from './security.js';
import { loadTlsMaterial, tlsOptions, type TlsFiles, type TlsMaterial } from './tls.js';
import { newClusterTransportStats, type ClusterTransportStats } from './stats.js';
import type { ClusterTransport, RequestOptions, StreamHandler } from './transport.js';

export interface ClusterNetOptions {
  bind: HostPort;
  /** Identity without the address: the address is the advertised one, known after binding. */
  identity: Omit<NodeIdentity, 'addr'>;
  /** The advertised address for a bound port (advertise.ts). */
  advertise(boundPort: number): Address;
  /** The member table's view of a name (node id, alive): handshakes of a live member under another node id are refused. */
  known?(name: string): KnownMember | undefined;
  /** Told of every peer this member refused after reading its identity (a hook, not a decision: it cannot undo the refusal). */
  onRefused?(peer: NodeIdentity, reason: RefuseReason): void;
  limits?: Partial<ClusterLimits>;
  /** Gossip encryption: a keyring and the verify switches (security.ts). None: plain. */
  security?: SecurityOptions;
  /** Mutual TLS on every TCP stream (tls.ts): certificate, key and the cluster CA, as files (reloadable). */
  tls?: TlsFiles;
}

/** Attempts to find a port free for both UDP and TCP when binding port 0. */
const bindAttemptsMax = 20;

export class ClusterNetTransport implements ClusterTransport {
  readonly stats: ClusterTransportStats = newClusterTransportStats();
  readonly limits: Readonly<ClusterLimits>;
  readonly port: number;
  private readonly local: NodeIdentity;
  private readonly handlers = new Map<StreamKind, StreamHandler>();
  private packetHandler: (from: Address, data: Uint8Array) => void = () => undefined;
  private readonly dialer: Dialer;
  private readonly listener: Listener;
  /** Requests being served per inbound connection, with the controller that aborts them when it closes. */
  private readonly serving = new Map<ClusterConnection, Set<AbortController>>();
  private closed = false;
  /** Gossip encryption in force: its keyring and switches change at run time (key rotation, migration). */
  readonly security: ClusterSecurity;
  /** The last exception a handler threw, kept for diagnosis. */
  lastHandlerError: unknown = undefined;

  private tlsMaterial: TlsMaterial | undefined;

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly server: net.Server,
    port: number,
    private readonly options: ClusterNetOptions,
    tlsMaterial: TlsMaterial | undefined,
  ) {
    this.tlsMaterial = tlsMaterial;
    this.port = port;
    this.limits = resolveClusterLimits(options.limits);
    this.local = { ...options.identity, addr: options.advertise(port) };
    const known = options.known ?? (() => undefined);
    const onRefused = (peer: NodeIdentity, reason: RefuseReason): void => {
      try {
        options.onRefused?.(peer, reason);
      } catch (e) {
        this.stats.handlerErrors++;
        this.lastHandlerError = e;
      }
    };
    this.security = new ClusterSecurity(options.identity.clusterLabel, options.security);
    const base = { local: this.local, known, onRefused, limits: this.limits, stats: this.stats, security: this.security };
    this.dialer = new Dialer({ ...base, tls: () => this.tlsMaterial, decodeError: decodeErrorPayload, nowMs: () => performance.now(), random: Math.random });
    this.listener = new Listener({
      ...base,
      frame: (conn, head, payload) => this.onInboundFrame(conn, head, payload),
      closed: (conn) => {
        for (const ac of this.serving.get(conn) ?? []) ac.abort();
        this.serving.delete(conn);
      },
      busy: (conn) => (this.serving.get(conn)?.size ?? 0) > 0,
    });
    udp.on('message', (msg, rinfo) => this.receivePacket(msg, rinfo));
    udp.on('error', () => {
      this.stats.packetSendErrors++;
    });
    if (tlsMaterial === undefined) server.on('connection', (socket) => this.listener.accept(socket));
    else {
      // Only peers whose certificate chains to the cluster CA get this far; the rest fail the TLS handshake.
      server.on('secureConnection', (socket) => this.listener.accept(socket));
      server.on('tlsClientError', () => {
        this.stats.tlsRefused++;
      });
    }
    server.on('error', () => undefined); // after listen, errors concern single accepts
  }

  /** Bind UDP and TCP on one port (port 0: a port free for both). Rejects ERR_BIND_FAILED naming the address. */
  static async listen(options: ClusterNetOptions): Promise<ClusterNetTransport> {
    const attempts = options.bind.port === 0 ? bindAttemptsMax : 1;
    let lastError: unknown;
    const material = options.tls === undefined ? undefined : await loadTlsMaterial(options.tls);
    for (let i = 0; i < attempts; i++) {
      let server: net.Server | undefined;
      try {
        server =
          material === undefined
            ? await listenTcp(options.bind.host, options.bind.port)
            : await listenTls(options.bind.host, options.bind.port, { ...tlsOptions(material), requestCert: true, rejectUnauthorized: true });
        const port = (server.address() as net.AddressInfo).port;
        const udp = await bindUdp(options.bind.host, port);
        try {
          return new ClusterNetTransport(udp, server, port, options, material);
        } catch (e) {
          udp.close();
          throw e;
        }
      } catch (e) {
        lastError = e;
        if (server) await closeServer(server);
        if (e instanceof ShoalError) throw e;
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new ShoalError(ErrorCode.BindFailed, `cannot bind UDP and TCP on ${formatHostPort(options.bind)}: ${reason}`, { cause: lastError });
  }

  /** Whether TCP streams run under mutual TLS. */
  get tlsEnabled(): boolean {
    return this.tlsMaterial !== undefined;
  }

  /**
   * Read the certificate files again (SIGHUP): new connections, both ways,
   * use the new certificates; established ones carry on. A file that cannot
   * be read keeps the old certificates and rejects with the reason.
   */
  async reloadTls(): Promise<void> {
    if (this.options.tls === undefined || this.tlsMaterial === undefined) return;
    const material = await loadTlsMaterial(this.options.tls);
    (this.server as tls.Server).setSecureContext(tlsOptions(material));
    this.tlsMaterial = material;
  }

  get localAddr(): Address {
    return this.local.addr;
  }

  get identity(): Readonly<NodeIdentity> {
    return this.local;
  }

  setClusterId(clusterId: string): void {
    this.local.clusterId = clusterId;
  }

  /** Established inbound connections, connections still in their handshake, and open outbound connections. */
  connections(): { inbound: number; handshaking: number; outbound: number } {
    return { inbound: this.listener.inboundConnections, handshaking: this.listener.handshaking, outbound: this.dialer.openConnections };
  }

  onPacket(handler: (from: Address, data: Uint8Array) => void): void {
    this.packetHandler = handler;
  }

  handle(kind: StreamKind, handler: StreamHandler): void {
    this.handlers.set(kind, handler);
  }

  sendPacket(to: Address, data: Uint8Array): void {
    if (this.closed) {
      this.stats.packetSendErrors++;
      return;
    }
    const sealed = this.security.seal(data);
    if (sealed.length > this.limits.packetMaxBytes) {
      this.stats.packetsOversized++;
      this.stats.packetSendErrors++;
      return;
    }
    data = sealed;
    let target: HostPort;
    try {
      target = parseHostPort(to);
    } catch {
      this.stats.packetSendErrors++;
      return;
    }
    this.stats.packetsSent++;
    this.stats.packetBytesSent += data.length;
    try {
      this.udp.send(data, target.port, target.host, (err) => {
        if (err) this.stats.packetSendErrors++;
      });
    } catch {
      this.stats.packetSendErrors++;
    }
  }

  post(to: Address, kind: StreamKind, payload: Uint8Array): boolean {
    const refused = this.dialer.write(to, FrameType.Message, kind, 0, payload);
    if (refused !== undefined) this.stats.framesRefused++;
    return refused === undefined;
  }

  send(to: Address, kind: StreamKind, payload: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new ShoalError(ErrorCode.Aborted, 'send aborted'));
    return new Promise<void>((resolve, reject) => {
      // An abort settles the wait at once; the frame may still be written (its outcome is unknown).
      const onAbort = (): void => reject(new ShoalError(ErrorCode.Aborted, `send to ${to} aborted: it may or may not be written`));
      signal?.addEventListener('abort', onAbort, { once: true });
      const refused = this.dialer.write(to, FrameType.Message, kind, 0, payload, (err) => {
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      });
      if (refused !== undefined) {
        signal?.removeEventListener('abort', onAbort);
        this.stats.framesRefused++;
        reject(refused);
      }
    });
  }

  request(to: Address, kind: StreamKind, payload: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (options.signal?.aborted) return Promise.reject(new ShoalError(ErrorCode.Aborted, 'request aborted before it was sent'));
    this.stats.requestsSent++;
    const { answer, cancel } = this.dialer.request(to, kind, payload);
    const timer = setTimeout(() => {
      this.stats.requestTimeouts++;
      cancel(new ShoalError(ErrorCode.Timeout, `no answer from ${to} within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const onAbort = (): void => cancel(new ShoalError(ErrorCode.Aborted, `request to ${to} aborted: its outcome is unknown`));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    return answer.then(
      (v) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        return v;
      },
      (e: unknown) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.stats.requestsFailed++;
        throw e;
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dialer.close();
    this.listener.close();
    await Promise.all([closeServer(this.server), new Promise<void>((resolve) => this.udp.close(() => resolve()))]);
  }

  private receivePacket(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length > this.limits.packetMaxBytes) {
      this.stats.packetsOversizedReceived++;
      return;
    }
    this.stats.packetsReceived++;
    this.stats.packetBytesReceived += msg.length;
    const opened = this.security.open(msg);
    if (!opened.ok) {
      const refused = this.stats.packetsRefused;
      if (opened.reason === 'plain-refused') refused.plain++;
      else if (opened.reason === 'no-keyring') refused.noKeyring++;
      else refused.key++;
      return;
    }
    try {
      this.packetHandler(formatHostPort({ host: rinfo.address, port: rinfo.port }), opened.plain);
    } catch (e) {
      this.stats.handlerErrors++;
      this.lastHandlerError = e;
    }
  }

  private onInboundFrame(conn: ClusterConnection, head: FrameHeader, payload: Uint8Array): void {
    if (head.type !== FrameType.Message && head.type !== FrameType.Request) {
      this.stats.framesMalformed++;
      conn.close(new ShoalError(ErrorCode.DecodeFailed, `frame type ${head.type} on an inbound connection`));
      return;
    }
    const handler = this.handlers.get(head.kind);
    if (head.type === FrameType.Message) {
      if (handler?.message === undefined) {
        this.stats.framesUnrouted++;
        return;
      }
      try {
        handler.message(conn.peer, payload);
      } catch (e) {
        this.stats.handlerErrors++;
        this.lastHandlerError = e;
      }
      return;
    }
    this.serve(conn, head, payload, handler);
  }

  private serve(conn: ClusterConnection, head: FrameHeader, payload: Uint8Array, handler: StreamHandler | undefined): void {
    let inProgress = this.serving.get(conn);
    if (inProgress === undefined) {
      inProgress = new Set();
      this.serving.set(conn, inProgress);
    }
    serveRequest(handler, payload, {
      selfName: this.local.name,
      kind: head.kind,
      peer: conn.peer,
      stats: this.stats,
      servingMax: this.limits.servingRequestsMax,
      inProgress,
      answer: (type, body) => {
        if (conn.write(type, head.kind, head.requestId, body) !== undefined) this.stats.framesRefused++;
      },
      bug: (e) => {
        this.lastHandlerError = e;
      },
    });
  }

}
