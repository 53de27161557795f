import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as os from 'node:os';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { formatHostPort, parseHostPort, type Address, type HostPort } from '../util/address.js';
import { newTransportStats, TransportLimits, type Transport, type TransportStats } from './transport.js';
import { mergeLimits } from '../wire/limits.js';
import { FrameDecoder } from './frame.js';
import { PeerConnection, type PeerConnectionLimits } from './tcp-peer.js';

/** Limits of the real-socket transport, each with its reason. */
export const NetLimits = {
  /** A peer that does not accept a TCP connection in 2 s is treated as unreachable for this frame. */
  connectTimeoutMs: 2_000,
  /** Per-peer frames in flight; gossip sends a handful, so 256 means the peer is stuck. */
  writeQueueMaxFrames: 256,
  /** Per-peer bytes in flight: two maximal frames. */
  writeQueueMaxBytes: 2 * TransportLimits.frameMaxBytes,
  /** Idle pooled connections are closed after a minute and reopened lazily. */
  idleTimeoutMs: 60_000,
  /** Pooled outbound connections; past it the oldest is closed. */
  outboundConnsMax: 1_024,
  /** Accepted inbound connections; past it new ones are refused. */
  inboundConnsMax: 1_024,
  /** Attempts to find a port free for both UDP and TCP when binding port 0. */
  bindAttemptsMax: 20,
} as const;

export type NetLimitsConfig = { [K in keyof typeof NetLimits]: number };

export interface NetTransportOptions {
  bindHost: string;
  bindPort: number;
  /** Address other members use to reach us; defaults to the bind address (a private IP when bound to 0.0.0.0). */
  advertise?: Address;
  limits?: Partial<NetLimitsConfig>;
}

export interface NetTransportStats extends TransportStats {
  /** Outbound packets refused because they exceeded packetMaxBytes. */
  packetsOversized: number;
  /** Inbound datagrams over packetMaxBytes, dropped. */
  packetsOversizedReceived: number;
  /** Inbound connections refused past inboundConnsMax. */
  connectionsRefused: number;
  /** Exceptions thrown by the packet/frame handlers (bugs above us), swallowed so sockets survive. */
  handlerErrors: number;
}

/**
 * UDP packets and TCP frames on the same port number. Never throws into the
 * event loop: every socket error is handled and counted.
 */
export class UdpTcpTransport implements Transport {
  readonly localAddr: Address;
  readonly stats: NetTransportStats;
  /** The port actually bound (useful when listening on port 0). */
  readonly port: number;
  private readonly udp: dgram.Socket;
  private readonly server: net.Server;
  private readonly limits: NetLimitsConfig;
  private readonly peers = new Map<Address, PeerConnection>();
  private readonly inbound = new Set<net.Socket>();
  private packetHandler: (from: Address, data: Uint8Array) => void = () => {};
  private frameHandler: (from: Address, data: Uint8Array) => void = () => {};
  private closed = false;
  /** The last exception a handler threw, kept for diagnosis. */
  lastHandlerError: unknown = undefined;

  private constructor(udp: dgram.Socket, server: net.Server, localAddr: Address, port: number, limits: NetLimitsConfig) {
    this.udp = udp;
    this.server = server;
    this.localAddr = localAddr;
    this.port = port;
    this.limits = limits;
    this.stats = { ...newTransportStats(), packetsOversized: 0, packetsOversizedReceived: 0, connectionsRefused: 0, handlerErrors: 0 };
    udp.on('message', (msg, rinfo) => this.receivePacket(msg, rinfo));
    udp.on('error', () => {
      this.stats.packetSendErrors++;
    });
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', () => {
      this.stats.frameErrors++;
    });
  }

  static async listen(options: NetTransportOptions): Promise<UdpTcpTransport> {
    // A limit given as undefined keeps its default (a spread would leave the bound undefined, i.e. off).
    const limits: NetLimitsConfig = mergeLimits<NetLimitsConfig>(NetLimits, options.limits);
    const attempts = options.bindPort === 0 ? limits.bindAttemptsMax : 1;
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      let server: net.Server | undefined;
      try {
        server = await listenTcp(options.bindHost, options.bindPort);
        const port = (server.address() as net.AddressInfo).port;
        const udp = await bindUdp(options.bindHost, port);
        const localAddr = options.advertise ?? formatHostPort({ host: advertiseHost(options.bindHost), port });
        return new UdpTcpTransport(udp, server, localAddr, port, limits);
      } catch (e) {
        lastError = e;
        if (server) await closeServer(server);
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new ShoalError(
      ErrorCode.BindFailed,
      `cannot bind UDP and TCP on ${formatHostPort({ host: options.bindHost, port: options.bindPort })}: ${reason}`,
      { cause: lastError },
    );
  }

  onPacket(handler: (from: Address, data: Uint8Array) => void): void {
    this.packetHandler = handler;
  }

  onFrame(handler: (from: Address, data: Uint8Array) => void): void {
    this.frameHandler = handler;
  }

  sendPacket(to: Address, data: Uint8Array): void {
    if (this.closed) {
      this.stats.packetSendErrors++;
      return;
    }
    if (data.length > TransportLimits.packetMaxBytes) {
      this.stats.packetsOversized++;
      this.stats.packetSendErrors++;
      return;
    }
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

  sendFrame(to: Address, data: Uint8Array, options?: { signal?: AbortSignal }): Promise<void> {
    if (this.closed) return Promise.reject(new ShoalError(ErrorCode.TransportClosed, 'transport closed'));
    if (data.length > TransportLimits.frameMaxBytes) {
      this.stats.framesOversized++;
      return Promise.reject(
        new ShoalError(ErrorCode.FrameTooLarge, `frame of ${data.length} bytes exceeds ${TransportLimits.frameMaxBytes}`),
      );
    }
    let conn = this.peers.get(to);
    if (!conn || conn.isClosed) {
      let target: HostPort;
      try {
        target = parseHostPort(to);
      } catch (e) {
        this.stats.frameErrors++;
        return Promise.reject(e);
      }
      this.evictIfFull();
      conn = new PeerConnection(to, target, this.peerLimits(), {
        onFrame: (from, f) => this.deliverFrame(from, f),
        onSent: (bytes) => {
          this.stats.framesSent++;
          this.stats.frameBytesSent += bytes;
        },
        onError: () => {
          this.stats.frameErrors++;
        },
        onOversized: () => {
          this.stats.framesOversized++;
        },
        onClosed: (c) => {
          if (this.peers.get(c.peer) === c) this.peers.delete(c.peer);
        },
      });
      this.peers.set(to, conn);
    }
    return conn.send(data, options?.signal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const conn of [...this.peers.values()]) conn.close();
    this.peers.clear();
    for (const s of this.inbound) s.destroy();
    this.inbound.clear();
    await Promise.all([closeServer(this.server), new Promise<void>((resolve) => this.udp.close(() => resolve()))]);
  }

  /** Open pooled outbound connections (for tests and metrics). */
  get outboundConnections(): number {
    return this.peers.size;
  }

  private peerLimits(): PeerConnectionLimits {
    return {
      connectTimeoutMs: this.limits.connectTimeoutMs,
      writeQueueMaxFrames: this.limits.writeQueueMaxFrames,
      writeQueueMaxBytes: this.limits.writeQueueMaxBytes,
      idleTimeoutMs: this.limits.idleTimeoutMs,
      frameMaxBytes: TransportLimits.frameMaxBytes,
    };
  }

  private evictIfFull(): void {
    if (this.peers.size < this.limits.outboundConnsMax) return;
    // Map iteration order is insertion order: the first entry is the oldest.
    const oldest = this.peers.values().next().value;
    if (oldest) oldest.close();
  }

  private receivePacket(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length > TransportLimits.packetMaxBytes) {
      this.stats.packetsOversizedReceived++;
      return;
    }
    this.stats.packetsReceived++;
    this.stats.packetBytesReceived += msg.length;
    this.safeCall(this.packetHandler, formatHostPort({ host: rinfo.address, port: rinfo.port }), msg);
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => {
      // Counted through 'close' below when it cut a frame short; nothing else to do.
    });
    if (this.closed || this.inbound.size >= this.limits.inboundConnsMax) {
      this.stats.connectionsRefused++;
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.limits.idleTimeoutMs, () => socket.destroy());
    const from = formatHostPort({ host: socket.remoteAddress ?? 'unknown', port: socket.remotePort ?? 0 });
    const decoder = new FrameDecoder(TransportLimits.frameMaxBytes);
    socket.on('data', (chunk: Buffer) => {
      const result = decoder.push(chunk);
      for (const f of result.frames) this.deliverFrame(from, f);
      if (!result.ok) {
        this.stats.framesOversized++;
        socket.destroy();
      }
    });
    socket.on('close', () => {
      this.inbound.delete(socket);
      if (decoder.pendingBytes > 0) this.stats.frameErrors++;
    });
  }

  private deliverFrame(from: Address, data: Uint8Array): void {
    this.stats.framesReceived++;
    this.stats.frameBytesReceived += data.length;
    this.safeCall(this.frameHandler, from, data);
  }

  /** A handler that throws is a bug in the layer above; it must not take the sockets down. */
  private safeCall(handler: (from: Address, data: Uint8Array) => void, from: Address, data: Uint8Array): void {
    try {
      handler(from, data);
    } catch (e) {
      this.stats.handlerErrors++;
      this.lastHandlerError = e;
    }
  }
}

function listenTcp(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The address to advertise for a bind host: a wildcard bind advertises the first private IPv4. */
export function advertiseHost(bindHost: string): string {
  if (bindHost !== '0.0.0.0' && bindHost !== '::') return bindHost;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}
