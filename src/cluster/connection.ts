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
  private readonly innerDecoder: FrameDecoder | undefined;

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
    // With session keys the outer decoder reads sealed records and an inner one the frames inside them.
    this.decoder = new FrameDecoder(ciphers === undefined ? limits.frameMaxBytes : limits.frameMaxBytes + 4 + sessionTagBytes);
    this.innerDecoder = ciphers === undefined ? undefined : new FrameDecoder(limits.frameMaxBytes);
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
    this.queue.push({ head: encodeFrameHead(type, kind, requestId, payload.length), payload, done });
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
    this.queuedBytes -= f.payload.length;
    if (this.queueHead >= queueCompactSlots || this.queueHead === this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return f;
  }

  private flush(): void {
    const s = this.socket;
    if (this.closedReason !== undefined || this.queuedFrames === 0) return;
    if (this.ciphers !== undefined) return this.flushSealed(this.ciphers.send);
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

  /**
   * With session keys: the frames queued in this turn (up to one record's
   * worth) are sealed together as one record, u32 length + AEAD(frames in
   * their plain wire form): one cipher per turn instead of one per frame.
   * Records are sealed in write order; both sides count them for the nonce.
   */
  private flushSealed(cipher: FrameCipher): void {
    const s = this.socket;
    while (this.queuedFrames > 0 && s.writableLength < this.limits.socketBufferMaxBytes) {
      const parts: Uint8Array[] = [];
      const dones: ((err: ShoalError | undefined) => void)[] = [];
      let bytes = 0;
      while (this.queuedFrames > 0) {
        const next = this.queue[this.queueHead]!;
        const size = next.head.length + next.payload.length;
        if (parts.length > 0 && bytes + size > this.recordPlainMaxBytes) break;
        const f = this.take();
        parts.push(f.head, f.payload);
        bytes += size;
        if (f.done !== undefined) dones.push(f.done);
        this.stats.framesSent++;
        this.stats.frameBytesSent += f.payload.length;
      }
      const sealed = cipher.seal(Buffer.concat(parts, bytes));
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeUInt32BE(sealed.length, 0);
      s.cork();
      s.write(prefix);
      if (dones.length === 0) s.write(sealed);
      else {
        s.write(sealed, (err) => {
          const e = err ? new ShoalError(ErrorCode.Unreachable, `write to ${this.peer.name} failed: ${err.message}`, { cause: err }) : undefined;
          for (const done of dones) done(e);
        });
      }
      s.uncork();
    }
    // Anything left waits for 'drain'.
  }

  /** Plaintext bytes of one sealed record: one maximal frame with its headers always fits. */
  private get recordPlainMaxBytes(): number {
    return this.limits.frameMaxBytes + 4;
  }

  private onData(chunk: Buffer): void {
    if (this.closedReason !== undefined) return;
    if (this.ciphers !== undefined) return this.onSealedData(chunk, this.ciphers.recv);
    this.onFrames(this.decoder.push(chunk));
  }

  /** Records open into the plain frame stream, which the inner decoder splits (bounded like any stream). */
  private onSealedData(chunk: Buffer, cipher: FrameCipher): void {
    const records = this.decoder.push(chunk);
    for (const record of records.frames) {
      if (this.closedReason !== undefined) return;
      const opened = cipher.open(record);
      if (opened instanceof ShoalError) {
        this.stats.framesUnauthenticated++;
        this.close(opened);
        return;
      }
      this.onFrames(this.innerDecoder!.push(Buffer.from(opened.buffer, opened.byteOffset, opened.byteLength)));
    }
    if (!records.ok) {
      this.stats.framesOversized++;
      this.close(new ShoalError(ErrorCode.FrameTooLarge, `sealed record of ${records.declaredBytes} bytes from ${this.peer.name} is too large`));
    }
  }

  private onFrames(res: ReturnType<FrameDecoder['push']>): void {
    for (const frame of res.frames) {
      if (this.closedReason !== undefined) return;
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
