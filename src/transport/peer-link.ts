/**
 * One outbound TCP link to one Raft peer: connects eagerly, reconnects with
 * capped exponential backoff and jitter, and writes length-prefixed frames
 * from a bounded send queue. Frames are fire-and-forget (Raft retransmits):
 * past the queue's bound the oldest frame is dropped and counted; frames still
 * in the socket when a connection breaks are lost.
 *
 * Outbound links only write. A peer answers on its own outbound link to us, so
 * bytes arriving on this socket are discarded.
 */
import * as net from 'node:net';
import type { HostPort } from '../util/address.js';
import type { Rng } from '../util/rng.js';
import { encodeFrameHeader } from './frame.js';
import { reconnectDelayMs, type PeerLinkLimits, type PeerLinkStats } from './peer-link-config.js';

export const PeerLinkState = {
  Connecting: 'connecting',
  Connected: 'connected',
  /** Waiting before the next connect attempt. */
  Backoff: 'backoff',
  Closed: 'closed',
} as const;
export type PeerLinkState = (typeof PeerLinkState)[keyof typeof PeerLinkState];

/** TCP keepalive starts probing an idle connection after this long. */
const keepAliveInitialDelayMs = 5000;
/** Compact the queue array once this many slots at its head are consumed. */
const queueCompactSlots = 1024;

export class PeerLink {
  private socket: net.Socket | undefined = undefined;
  private linkState: PeerLinkState = PeerLinkState.Backoff;
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private flushScheduled = false;
  /** Delays chosen for the reconnects so far (tests check the bound); only the last few are kept. */
  readonly recentBackoffMs: number[] = [];

  constructor(
    readonly peerId: string,
    readonly target: HostPort,
    private readonly limits: PeerLinkLimits,
    private readonly stats: PeerLinkStats,
    private readonly rng: Rng,
  ) {}

  get state(): PeerLinkState {
    return this.linkState;
  }

  get queuedFrames(): number {
    return this.queue.length - this.queueHead;
  }

  start(): void {
    if (this.linkState === PeerLinkState.Closed) return;
    this.connect();
  }

  /** Queue a frame. False when it was refused (oversized, closed); a full queue drops its oldest frame instead. */
  send(frame: Uint8Array): boolean {
    if (this.linkState === PeerLinkState.Closed) {
      this.stats.framesRefusedUnknownPeer++;
      return false;
    }
    if (frame.length > this.limits.frameMaxBytes) {
      this.stats.framesRefusedOversized++;
      return false;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    while (this.queuedFrames > this.limits.sendQueueMaxFrames || this.queuedBytes > this.limits.sendQueueMaxBytes) {
      const dropped = this.take();
      this.stats.framesDroppedQueueFull++;
      if (dropped === frame) return false;
    }
    if (this.linkState === PeerLinkState.Connected && !this.flushScheduled) {
      // Coalesce everything sent in this turn of the event loop into one corked write.
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  close(): void {
    if (this.linkState === PeerLinkState.Closed) return;
    this.linkState = PeerLinkState.Closed;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
  }

  private take(): Uint8Array {
    const f = this.queue[this.queueHead];
    this.queue[this.queueHead] = undefined as unknown as Uint8Array;
    this.queueHead++;
    this.queuedBytes -= f.length;
    if (this.queueHead >= queueCompactSlots || this.queueHead === this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return f;
  }

  private connect(): void {
    this.timer = undefined;
    this.linkState = PeerLinkState.Connecting;
    const s = net.connect({ host: this.target.host, port: this.target.port });
    this.socket = s;
    s.setNoDelay(true);
    // Detects a peer host that vanished without a FIN (the OS's probe schedule applies after this delay).
    s.setKeepAlive(true, keepAliveInitialDelayMs);
    let connected = false;
    const connectTimer = setTimeout(() => s.destroy(), this.limits.connectTimeoutMs);
    s.once('connect', () => {
      clearTimeout(connectTimer);
      if (this.socket !== s) return;
      connected = true;
      this.linkState = PeerLinkState.Connected;
      this.attempt = 0;
      this.stats.connects++;
      this.flush();
    });
    s.on('drain', () => {
      if (this.socket === s) this.flush();
    });
    s.on('data', () => undefined); // peers never answer on this connection
    s.on('error', () => undefined); // 'close' follows; handled there
    s.once('close', () => {
      clearTimeout(connectTimer);
      if (this.socket !== s) return;
      this.socket = undefined;
      if (connected) this.stats.disconnects++;
      else this.stats.connectFailures++;
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.linkState === PeerLinkState.Closed) return;
    this.linkState = PeerLinkState.Backoff;
    const delayMs = reconnectDelayMs(this.attempt, this.limits, this.rng);
    this.attempt++;
    this.recentBackoffMs.push(delayMs);
    if (this.recentBackoffMs.length > 32) this.recentBackoffMs.shift();
    this.timer = setTimeout(() => this.connect(), delayMs);
    this.timer.unref();
  }

  private flush(): void {
    const s = this.socket;
    if (s === undefined || this.linkState !== PeerLinkState.Connected || this.queuedFrames === 0) return;
    s.cork();
    while (this.queuedFrames > 0 && s.writableLength < this.limits.socketBufferMaxBytes) {
      const f = this.take();
      s.write(encodeFrameHeader(f.length));
      s.write(f);
      this.stats.framesSent++;
      this.stats.frameBytesSent += f.length;
    }
    s.uncork();
    // Anything left waits for 'drain'.
  }
}
