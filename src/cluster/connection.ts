/**
 * One established cluster-transport connection (after the handshake), in
 * either direction. Writes go through a bounded queue and are coalesced into
 * one corked write per turn of the event loop; reads are split into frames
 * (bounded by frameMaxBytes) and handed up with their header. An idle
 * connection is closed after idleTimeoutMs. close() is idempotent and tells
 * the owner once, with the reason.
 */
import type * as net from 'node:net';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { FrameDecoder } from '../transport/frame.js';
import { decodeFrameHead, encodeFrameHead, frameHeaderBytes, type FrameHeader } from './frame-header.js';
import type { FrameType, StreamKind } from './kinds.js';
import type { ClusterLimits } from './limits.js';
import type { ClusterTransportStats } from './stats.js';
import type { PeerInfo } from './transport.js';
import { sessionTagBytes, type FrameCipher } from './session-cipher.js';

export interface ConnectionHooks {
  frame(conn: ClusterConnection, head: FrameHeader, payload: Uint8Array): void;
  closed(conn: ClusterConnection, reason: ShoalError): void;
  /** Requests awaiting an answer on this connection: while there are any, it is not idle. */
  busy?(conn: ClusterConnection): boolean;
}

/** With a key: the stream's two directions, each sealing frames in order (session-cipher.ts). */
export interface StreamCiphers {
  send: FrameCipher;
  recv: FrameCipher;
}

interface QueuedFrame {
  head: Buffer;
  payload: Uint8Array;
  /** Settled once written (or lost); undefined for posts. */
  done: ((err: ShoalError | undefined) => void) | undefined;
}

/** Compact the queue array once this many slots at its head are consumed. */
const queueCompactSlots = 1024;

export class ClusterConnection {
  private queue: QueuedFrame[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private flushScheduled = false;
  private closedReason: ShoalError | undefined;
  private readonly decoder: FrameDecoder;

  constructor(
    readonly socket: net.Socket,
    readonly peer: PeerInfo,
    readonly direction: 'in' | 'out',
    private readonly limits: Readonly<ClusterLimits>,
    private readonly stats: ClusterTransportStats,
    private readonly hooks: ConnectionHooks,
    /** Bytes already read past the handshake frame. */
    leftover: Buffer | undefined,
    /** Set when the handshake was sealed: every frame after it is too. */
    private readonly ciphers?: StreamCiphers,
  ) {
    this.decoder = new FrameDecoder(limits.frameMaxBytes + (ciphers === undefined ? 0 : sessionTagBytes));
    socket.setTimeout(limits.idleTimeoutMs);
    socket.on('timeout', () => {
      // A long request (a watch poll) is activity even when no byte moves.
      if (hooks.busy?.(this) === true) return;
      stats.idleClosed++;
      this.close(new ShoalError(ErrorCode.Timeout, `connection to ${peer.name} idle for ${limits.idleTimeoutMs} ms`));
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.flush());
    socket.on('error', (err) => this.close(new ShoalError(ErrorCode.Unreachable, `connection to ${peer.name} failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.close(new ShoalError(ErrorCode.Unreachable, `connection to ${peer.name} (${peer.addr}) closed`)));
    if (leftover !== undefined && leftover.length > 0) this.onData(leftover);
    // The handshake reader paused the socket: flow from here on.
    socket.resume();
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  get queuedFrames(): number {
    return this.queue.length - this.queueHead;
  }

  /**
   * Queue a frame. Returns an error (nothing queued) when the connection is
   * closed or the queue is full; `done` is called once the frame is written
   * or lost.
   */
  write(type: FrameType, kind: StreamKind, requestId: number, payload: Uint8Array, done?: (err: ShoalError | undefined) => void): ShoalError | undefined {
    if (this.closedReason !== undefined) return this.closedReason;
    if (this.queuedFrames >= this.limits.sendQueueMaxFrames || this.queuedBytes + payload.length > this.limits.sendQueueMaxBytes) {
      return new ShoalError(ErrorCode.Unavailable, `send queue to ${this.peer.name} is full`, {
        details: { queuedFrames: this.queuedFrames, queuedBytes: this.queuedBytes },
      });
    }
    if (this.ciphers === undefined) this.queue.push({ head: encodeFrameHead(type, kind, requestId, payload.length), payload, done });
    else {
      // Sealed here, in write order: both sides count frames for the nonce.
      const head = encodeFrameHead(type, kind, requestId, payload.length);
      const sealed = this.ciphers.send.seal(Buffer.concat([head.subarray(4), payload]));
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeUInt32BE(sealed.length, 0);
      this.queue.push({ head: prefix, payload: sealed, done });
    }
    this.queuedBytes += payload.length;
    if (!this.flushScheduled) {
      // Everything written in this turn of the event loop leaves in one corked write.
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return undefined;
  }

  close(reason: ShoalError): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const lost = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.stats.framesLost += lost.length;
    for (const f of lost) f.done?.(reason);
    this.socket.destroy();
    this.hooks.closed(this, reason);
  }

  private take(): QueuedFrame {
    const f = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined as unknown as QueuedFrame;
    this.queueHead++;
    this.queuedBytes -= f.payload.length - (this.ciphers === undefined ? 0 : sessionTagBytes + frameHeaderBytes);
    if (this.queueHead >= queueCompactSlots || this.queueHead === this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return f;
  }

  private flush(): void {
    const s = this.socket;
    if (this.closedReason !== undefined || this.queuedFrames === 0) return;
    s.cork();
    while (this.queuedFrames > 0 && s.writableLength < this.limits.socketBufferMaxBytes) {
      const f = this.take();
      s.write(f.head);
      if (f.done === undefined) s.write(f.payload);
      else {
        const done = f.done;
        s.write(f.payload, (err) => done(err ? new ShoalError(ErrorCode.Unreachable, `write to ${this.peer.name} failed: ${err.message}`, { cause: err }) : undefined));
      }
      this.stats.framesSent++;
      this.stats.frameBytesSent += f.payload.length;
    }
    s.uncork();
    // Anything left waits for 'drain'.
  }

  private onData(chunk: Buffer): void {
    if (this.closedReason !== undefined) return;
    const res = this.decoder.push(chunk);
    for (const wire of res.frames) {
      if (this.closedReason !== undefined) return;
      let frame = wire;
      if (this.ciphers !== undefined) {
        const opened = this.ciphers.recv.open(wire);
        if (opened instanceof ShoalError) {
          this.stats.framesUnauthenticated++;
          this.close(opened);
          return;
        }
        frame = opened;
      }
      const head = decodeFrameHead(frame);
      if (head === undefined) {
        this.stats.framesMalformed++;
        this.close(new ShoalError(ErrorCode.DecodeFailed, `malformed frame header from ${this.peer.name}`));
        return;
      }
      this.stats.framesReceived++;
      this.stats.frameBytesReceived += frame.length - frameHeaderBytes;
      this.hooks.frame(this, head, frame.subarray(frameHeaderBytes));
    }
    if (!res.ok) {
      this.stats.framesOversized++;
      this.close(new ShoalError(ErrorCode.FrameTooLarge, `frame of ${res.declaredBytes} bytes from ${this.peer.name} exceeds ${this.limits.frameMaxBytes}`));
    }
  }
}
