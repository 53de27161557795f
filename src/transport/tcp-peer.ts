import * as net from 'node:net';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Address, HostPort } from '../util/address.js';
import { encodeFrameHeader, FrameDecoder } from './frame.js';

/** Limits of one pooled outbound TCP connection. */
export interface PeerConnectionLimits {
  connectTimeoutMs: number;
  /** Frames waiting for the connection or the socket; past it sendFrame rejects. */
  writeQueueMaxFrames: number;
  writeQueueMaxBytes: number;
  /** An outbound connection with no traffic for this long is closed (reopened lazily). */
  idleTimeoutMs: number;
  frameMaxBytes: number;
}

interface PendingWrite {
  data: Uint8Array;
  resolve: () => void;
  reject: (e: ShoalError) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  written: boolean;
}

export interface PeerConnectionHooks {
  onFrame(from: Address, data: Uint8Array): void;
  onSent(bytes: number): void;
  onError(): void;
  onOversized(): void;
  onClosed(conn: PeerConnection): void;
}

/**
 * One lazily opened, pooled outbound connection to a peer. Frames queue while
 * connecting (bounded); any error fails every queued frame and closes the
 * connection, and the pool opens a new one on the next send.
 */
export class PeerConnection {
  readonly peer: Address;
  private readonly socket: net.Socket;
  private readonly limits: PeerConnectionLimits;
  private readonly hooks: PeerConnectionHooks;
  private readonly queue: PendingWrite[] = [];
  private queuedBytes = 0;
  private connected = false;
  private closed = false;
  private readonly connectTimer: NodeJS.Timeout;
  private readonly decoder: FrameDecoder;

  constructor(peer: Address, target: HostPort, limits: PeerConnectionLimits, hooks: PeerConnectionHooks) {
    this.peer = peer;
    this.limits = limits;
    this.hooks = hooks;
    this.decoder = new FrameDecoder(limits.frameMaxBytes);
    this.socket = net.connect({ host: target.host, port: target.port });
    this.socket.setNoDelay(true);
    this.connectTimer = setTimeout(() => {
      this.fail(new ShoalError(ErrorCode.Timeout, `connect to ${peer} timed out after ${limits.connectTimeoutMs} ms`));
    }, limits.connectTimeoutMs);
    this.socket.once('connect', () => {
      clearTimeout(this.connectTimer);
      this.connected = true;
      this.socket.setTimeout(limits.idleTimeoutMs);
      this.flush();
    });
    this.socket.on('timeout', () => this.fail(new ShoalError(ErrorCode.Timeout, `connection to ${peer} idle`)));
    this.socket.on('error', (err) => {
      this.fail(new ShoalError(ErrorCode.Unreachable, `frame to ${peer} failed: ${err.message}`, { cause: err }));
    });
    this.socket.on('close', () => {
      this.fail(new ShoalError(ErrorCode.Unreachable, `connection to ${peer} closed`));
    });
    // A peer may answer on the same connection; frames from it are delivered too.
    this.socket.on('data', (chunk: Buffer) => {
      const result = this.decoder.push(chunk);
      for (const f of result.frames) this.hooks.onFrame(this.peer, f);
      if (!result.ok) {
        this.hooks.onOversized();
        this.fail(new ShoalError(ErrorCode.FrameTooLarge, `oversized frame from ${peer}`));
      }
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(data: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    if (this.closed) return Promise.reject(new ShoalError(ErrorCode.Unreachable, `connection to ${this.peer} closed`));
    if (signal?.aborted) return Promise.reject(new ShoalError(ErrorCode.Aborted, 'frame send aborted'));
    if (
      this.queue.length >= this.limits.writeQueueMaxFrames ||
      this.queuedBytes + data.length > this.limits.writeQueueMaxBytes
    ) {
      return Promise.reject(
        new ShoalError(ErrorCode.Unavailable, `write queue to ${this.peer} full`, {
          details: { queuedFrames: this.queue.length, queuedBytes: this.queuedBytes },
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const w: PendingWrite = { data, resolve, reject, signal, onAbort: undefined, written: false };
      if (signal) {
        w.onAbort = () => {
          if (w.written) return;
          this.removeQueued(w);
          reject(new ShoalError(ErrorCode.Aborted, 'frame send aborted'));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(w);
      this.queuedBytes += data.length;
      if (this.connected) this.flush();
    });
  }

  /** End the connection, failing anything still queued. */
  close(): void {
    this.fail(new ShoalError(ErrorCode.TransportClosed, 'transport closed'));
  }

  private flush(): void {
    // Corked: each frame's header and body leave in one segment (the socket has no Nagle delay).
    this.socket.cork();
    while (this.connected && !this.closed) {
      const w = this.queue.find((q) => !q.written);
      if (!w) break;
      w.written = true;
      const header = encodeFrameHeader(w.data.length);
      this.socket.write(header);
      this.socket.write(w.data, (err) => {
        this.removeQueued(w);
        if (err) {
          this.hooks.onError();
          w.reject(new ShoalError(ErrorCode.Unreachable, `frame to ${this.peer} failed: ${err.message}`, { cause: err }));
          return;
        }
        this.hooks.onSent(w.data.length);
        w.resolve();
      });
    }
    this.socket.uncork();
  }

  private removeQueued(w: PendingWrite): void {
    const i = this.queue.indexOf(w);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.queuedBytes -= w.data.length;
    }
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
  }

  private fail(err: ShoalError): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    const pending = this.queue.splice(0);
    this.queuedBytes = 0;
    // Counted per frame that could not be delivered; an idle close is no error.
    for (let i = 0; i < pending.length; i++) this.hooks.onError();
    for (const w of pending) {
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.reject(err);
    }
    this.socket.destroy();
    this.hooks.onClosed(this);
  }
}
