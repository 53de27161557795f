import { performance } from 'node:perf_hooks';
import type { GossipCore } from '../gossip/core.js';
import type { MemberEvent } from '../gossip/events.js';
import type { GossipMessage } from '../gossip/messages.js';
import type { Address } from '../util/address.js';
import { countDecode, decodeFrame, decodePacket, encodeFrame, encodePacket, newDecodeStats } from '../wire/gossip-codec.js';
import { nodeTimers, type CancelTimer, type ShellTimers } from './timers.js';

/** Monotonic milliseconds (never jumps with the wall clock). */
export type MonotonicClock = () => number;
export const monotonicMs: MonotonicClock = () => Math.floor(performance.now());

export const GossipShellLimits = {
  /** A core that asks for a tick in the past still waits this long: never a busy loop. */
  tickDelayMinMs: 2,
  /** Wake at least this often, even when the core asks for nothing (cheap, and self-healing). */
  tickDelayMaxMs: 1_000,
} as const;

export interface GossipShellStats {
  ticks: number;
  /** Timer fires that found the core asking for an earlier time again (clamped to tickDelayMinMs). */
  ticksClamped: number;
  packetsIn: ReturnType<typeof newDecodeStats>;
  framesIn: ReturnType<typeof newDecodeStats>;
  /** Messages handed to the transport (compound packets count each message). */
  msgsSent: number;
  bytesSent: number;
  packetsSent: number;
  framesSent: number;
  framesFailed: number;
  encodeErrors: number;
  /** Exceptions thrown by event listeners (caught so the protocol keeps running). */
  listenerErrors: number;
}

/** The part of GossipCore the shell drives (tests substitute a fake). */
export type DrivenCore = Pick<GossipCore, 'tick' | 'step' | 'frameFailed' | 'ready' | 'nextTickAtMs'>;

/** What gossip needs from the network: datagrams, and frames on a stream that report failure. */
export interface GossipNet {
  sendPacket(to: Address, data: Uint8Array): void;
  /** Rejects when the frame could not be delivered (the core is told through frameFailed). */
  sendFrame(to: Address, data: Uint8Array): Promise<void>;
}

export interface GossipShellOptions<C extends DrivenCore> {
  core: C;
  transport: GossipNet;
  onEvent: (e: MemberEvent) => void;
  /** Told about every frame that could not be delivered (after the core was). */
  onFrameFailed?: (to: Address, msg: GossipMessage) => void;
  clock?: MonotonicClock;
  /** The membership timer and waitFor's deadline (default: Node's timers; the simulator's run on virtual time). */
  timers?: ShellTimers;
}

/**
 * The driver of a GossipCore: the only place with a membership timer. It
 * decodes what arrives, steps the core, sends what ready() asks for, reports
 * frame failures back, and keeps one timer armed at nextTickAtMs(). Clock and
 * timers come in through the options, so the same shell runs on real time in
 * the agent and on virtual time in the simulator.
 */
export class GossipShell<C extends DrivenCore = GossipCore> {
  readonly stats: GossipShellStats = {
    ticks: 0,
    ticksClamped: 0,
    packetsIn: newDecodeStats(),
    framesIn: newDecodeStats(),
    msgsSent: 0,
    bytesSent: 0,
    packetsSent: 0,
    framesSent: 0,
    framesFailed: 0,
    encodeErrors: 0,
    listenerErrors: 0,
  };
  readonly core: C;
  readonly now: MonotonicClock;
  private readonly transport: GossipNet;
  private readonly onEvent: (e: MemberEvent) => void;
  private readonly onFrameFailed: (to: Address, msg: GossipMessage) => void;
  private readonly timers: ShellTimers;
  private timer: CancelTimer | undefined;
  private timerDueMs = Infinity;
  private stopped = false;
  private readonly pumpWaiters = new Set<() => void>();

  constructor(options: GossipShellOptions<C>) {
    this.core = options.core;
    this.transport = options.transport;
    this.onEvent = options.onEvent;
    this.onFrameFailed = options.onFrameFailed ?? (() => {});
    this.now = options.clock ?? monotonicMs;
    this.timers = options.timers ?? nodeTimers;
  }

  /** Arm the timer and flush anything the core queued at construction. */
  start(): void {
    this.pump();
  }

  /** A datagram arrived (first byte WireKind.GossipPacket). */
  handlePacket(from: Address, data: Uint8Array): void {
    if (this.stopped) return;
    const result = decodePacket(data);
    countDecode(this.stats.packetsIn, result);
    if (!result.ok) return;
    const nowMs = this.now();
    for (const msg of result.msgs) this.core.step(from, msg, 'packet', nowMs);
    this.pump();
  }

  /** A frame arrived (first byte WireKind.GossipFrame). */
  handleFrame(from: Address, data: Uint8Array): void {
    if (this.stopped) return;
    const result = decodeFrame(data);
    countDecode(this.stats.framesIn, result);
    if (!result.ok) return;
    const nowMs = this.now();
    for (const msg of result.msgs) this.core.step(from, msg, 'stream', nowMs);
    this.pump();
  }

  /** Run `fn` against the core with the current time, then flush. */
  act<T>(fn: (core: C, nowMs: number) => T): T {
    const out = fn(this.core, this.now());
    this.pump();
    return out;
  }

  /** Resolves once `cond` holds after a pump, or false after timeoutMs (or abort). */
  waitFor(cond: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean): void => {
        cancelTimeout();
        this.pumpWaiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const check = (): void => {
        if (cond()) done(true);
      };
      const onAbort = (): void => done(false);
      const cancelTimeout = this.timers.after(timeoutMs, () => done(cond()));
      this.pumpWaiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stop the timer; later input is ignored. The transport is closed by its owner. */
  stop(): void {
    this.stopped = true;
    this.timer?.();
    this.timer = undefined;
    this.timerDueMs = Infinity;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDueMs = Infinity;
    if (this.stopped) return;
    this.stats.ticks++;
    this.core.tick(this.now());
    this.pump();
  }

  private pump(): void {
    if (this.stopped) return;
    const ready = this.core.ready();
    for (const p of ready.packets) this.sendPacket(p.to, p.msgs);
    for (const f of ready.frames) this.sendFrame(f.to, f.msg);
    for (const e of ready.events) {
      try {
        this.onEvent(e);
      } catch {
        this.stats.listenerErrors++;
      }
    }
    this.arm();
    for (const w of [...this.pumpWaiters]) w();
  }

  private sendPacket(to: Address, msgs: GossipMessage[]): void {
    if (msgs.length === 0) return;
    let data: Uint8Array;
    try {
      data = encodePacket(msgs);
    } catch {
      this.stats.encodeErrors++;
      return;
    }
    this.stats.packetsSent++;
    this.stats.msgsSent += msgs.length;
    this.stats.bytesSent += data.length;
    this.transport.sendPacket(to, data);
  }

  private sendFrame(to: Address, msg: GossipMessage): void {
    let data: Uint8Array;
    try {
      data = encodeFrame(msg);
    } catch {
      this.stats.encodeErrors++;
      this.failFrame(to, msg);
      return;
    }
    this.stats.framesSent++;
    this.stats.msgsSent++;
    this.stats.bytesSent += data.length;
    this.transport.sendFrame(to, data).then(
      () => {},
      () => this.failFrame(to, msg),
    );
  }

  private failFrame(to: Address, msg: GossipMessage): void {
    this.stats.framesFailed++;
    if (this.stopped) return;
    // Deferred so a synchronous failure never re-enters the core inside pump().
    queueMicrotask(() => {
      if (this.stopped) return;
      this.core.frameFailed(to, msg, this.now());
      this.pump();
      try {
        this.onFrameFailed(to, msg);
      } catch {
        this.stats.listenerErrors++;
      }
    });
  }

  private arm(): void {
    const nowMs = this.now();
    const next = this.core.nextTickAtMs();
    let delayMs = Number.isFinite(next) ? next - nowMs : GossipShellLimits.tickDelayMaxMs;
    if (delayMs < GossipShellLimits.tickDelayMinMs) {
      if (delayMs < 0) this.stats.ticksClamped++;
      delayMs = GossipShellLimits.tickDelayMinMs;
    }
    delayMs = Math.min(delayMs, GossipShellLimits.tickDelayMaxMs);
    const dueMs = nowMs + delayMs;
    // Keep an earlier (or equal) timer: it fires, ticks, and re-arms for the rest.
    if (this.timer && this.timerDueMs <= dueMs) return;
    this.timer?.();
    this.timerDueMs = dueMs;
    this.timer = this.timers.after(delayMs, () => this.onTimer());
  }
}
