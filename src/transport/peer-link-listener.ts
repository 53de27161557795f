/**
 * The inbound side of Raft's peer links: a TCP listener whose connections carry
 * length-prefixed frames one way, from a peer's outbound link to us. Each frame
 * is decoded by the caller's `decode` and handed up. An oversized frame or one
 * that does not decode closes its connection (the peer reconnects) and is
 * counted; nothing is thrown into the event loop.
 */
import * as net from 'node:net';
import { formatHostPort, type HostPort } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { FrameDecoder } from './frame.js';
import type { PeerLinkLimits, PeerLinkStats } from './peer-link-config.js';

export interface PeerLinkListenerOptions<T> {
  limits: PeerLinkLimits;
  stats: PeerLinkStats;
  /** Decode one frame; undefined means garbled (the connection is closed). Must not throw. */
  decode(frame: Uint8Array): T | undefined;
  onMessage(msg: T): void;
}

export class PeerLinkListener<T> {
  private readonly connections = new Set<net.Socket>();
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    readonly address: HostPort,
    private readonly options: PeerLinkListenerOptions<T>,
  ) {
    server.on('connection', (s) => this.accept(s));
    server.on('error', () => undefined); // after listen, errors only concern single accepts
  }

  static listen<T>(at: HostPort, options: PeerLinkListenerOptions<T>): Promise<PeerLinkListener<T>> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ noDelay: true });
      const onError = (err: Error): void => {
        reject(new ShoalError(ErrorCode.BindFailed, `cannot listen for raft peers on ${formatHostPort(at)}: ${err.message}`, { cause: err }));
      };
      server.once('error', onError);
      server.listen(at.port, at.host, () => {
        server.off('error', onError);
        const a = server.address() as net.AddressInfo;
        resolve(new PeerLinkListener(server, { host: a.address, port: a.port }, options));
      });
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(s: net.Socket): void {
    const { limits, stats } = this.options;
    if (this.closed || this.connections.size >= limits.inboundConnectionsMax) {
      stats.inboundRefused++;
      s.destroy();
      return;
    }
    stats.inboundAccepted++;
    this.connections.add(s);
    s.setNoDelay(true);
    const decoder = new FrameDecoder(limits.frameMaxBytes);
    s.on('error', () => undefined);
    s.once('close', () => this.connections.delete(s));
    s.on('data', (chunk: Buffer) => {
      if (s.destroyed) return;
      const res = decoder.push(chunk);
      for (const frame of res.frames) {
        if (!this.deliver(frame)) {
          stats.inboundGarbled++;
          s.destroy();
          return;
        }
      }
      if (!res.ok) {
        stats.inboundOversized++;
        s.destroy();
      }
    });
  }

  /** False when the frame did not decode. */
  private deliver(frame: Uint8Array): boolean {
    const { stats } = this.options;
    const msg = this.options.decode(frame);
    if (msg === undefined) return false;
    stats.framesReceived++;
    stats.frameBytesReceived += frame.length;
    try {
      this.options.onMessage(msg);
    } catch {
      stats.handlerErrors++;
    }
    return true;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const s of this.connections) s.destroy();
    this.connections.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
