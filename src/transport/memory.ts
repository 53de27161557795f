import type { Address } from '../util/address.js';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { SeededRng, type Rng } from '../util/rng.js';
import { newTransportStats, TransportLimits, type Transport, type TransportStats } from './transport.js';

/**
 * The in-memory twin of UdpTcpTransport for tests: real asynchronous delivery
 * (setImmediate, so handlers never run inside the sender's call stack; real
 * timers for links given a delay) with etcd-style fault controls on the hub. Packets are best effort; frames are
 * reliable and ordered per (from, to) pair, and sendFrame rejects with
 * ERR_UNREACHABLE when the peer is unknown, cut off or goes away before the
 * frame arrives. The frame sender's address is its listening address (the
 * real transport reports an ephemeral port; protocols carry their own return
 * address either way).
 */

export const MemoryLimits = {
  /** Messages in flight to one address; past it packets are dropped and frames refused (a full socket buffer). */
  inFlightMaxPerAddr: 10_000,
  /** Seed of the drop decisions when none is given. */
  defaultSeed: 1,
} as const;

export interface MemoryNetworkOptions {
  /** Seed for drop(): the same seed and traffic drop the same packets. */
  seed?: number;
  packetMaxBytes?: number;
  frameMaxBytes?: number;
  inFlightMaxPerAddr?: number;
}

export interface MemoryNetworkStats {
  /** Packets dropped by a drop() rule. */
  packetsDropped: number;
  /** Packets lost to a cut, an isolation or an unknown/closed destination. */
  packetsUnreachable: number;
  /** Frames refused or failed: cut, isolated, unknown or closed destination. */
  framesUnreachable: number;
  /** Messages refused because the destination had inFlightMaxPerAddr in flight. */
  inFlightFull: number;
}

export interface MemoryTransportStats extends TransportStats {
  /** Outbound packets refused because they exceeded packetMaxBytes. */
  packetsOversized: number;
  /** Exceptions thrown by our packet/frame handlers, swallowed like the real transport does. */
  handlerErrors: number;
}

type Handler = (from: Address, data: Uint8Array) => void;

/** Messages on a delayed link, in send order, each released at its due time. */
interface DelayedLink {
  items: Array<{ dueMs: number; run: () => void }>;
  headIndex: number;
  lastDueMs: number;
  timer: NodeJS.Timeout | undefined;
}

export class MemoryNetwork {
  readonly stats: MemoryNetworkStats = { packetsDropped: 0, packetsUnreachable: 0, framesUnreachable: 0, inFlightFull: 0 };
  readonly packetMaxBytes: number;
  readonly frameMaxBytes: number;
  readonly inFlightMaxPerAddr: number;

  private readonly rng: Rng;
  private readonly nodes = new Map<Address, MemoryTransport>();
  private readonly inFlight = new Map<Address, number>();
  /** from -> to -> percent of packets dropped. */
  private readonly drops = new Map<Address, Map<Address, number>>();
  /** Symmetric cuts, stored both ways. */
  private readonly cuts = new Map<Address, Set<Address>>();
  private readonly isolated = new Set<Address>();
  /** from -> to -> extra delay in ms. */
  private readonly delays = new Map<Address, Map<Address, number>>();
  private readonly delayedLinks = new Map<Address, Map<Address, DelayedLink>>();
  private delayedCount = 0;
  private flushWaiters: Array<() => void> = [];

  constructor(options: MemoryNetworkOptions = {}) {
    this.rng = new SeededRng(options.seed ?? MemoryLimits.defaultSeed);
    this.packetMaxBytes = options.packetMaxBytes ?? TransportLimits.packetMaxBytes;
    this.frameMaxBytes = options.frameMaxBytes ?? TransportLimits.frameMaxBytes;
    this.inFlightMaxPerAddr = options.inFlightMaxPerAddr ?? MemoryLimits.inFlightMaxPerAddr;
  }

  /** A transport listening at addr; throws ERR_BIND_FAILED if addr is taken. */
  transport(addr: Address): MemoryTransport {
    if (this.nodes.has(addr)) throw new ShoalError(ErrorCode.BindFailed, `address ${addr} already in use`, { details: { addr } });
    const t = new MemoryTransport(this, addr);
    this.nodes.set(addr, t);
    return t;
  }

  /**
   * Resolves once every message sent before the call has been delivered or
   * dropped (immediate deliveries run FIFO; delayed links are waited for).
   */
  flush(): Promise<void> {
    return new Promise((resolve) =>
      setImmediate(() => {
        if (this.delayedCount === 0) resolve();
        else this.flushWaiters.push(resolve);
      }),
    );
  }

  addresses(): Address[] {
    return [...this.nodes.keys()];
  }

  /** Drop percent (0..100) of packets from -> to. Frames are reliable and not affected. */
  drop(from: Address, to: Address, percent: number): void {
    assert(percent >= 0 && percent <= 100, `drop percent must be 0..100, got ${percent}`);
    let byTo = this.drops.get(from);
    if (byTo === undefined) {
      byTo = new Map();
      this.drops.set(from, byTo);
    }
    byTo.set(to, percent);
  }

  /** Delay every message from -> to by delayMs of real time (0 removes the delay). Order is kept. */
  delay(from: Address, to: Address, delayMs: number): void {
    assert(delayMs >= 0 && Number.isFinite(delayMs), `delay must be >= 0 ms, got ${delayMs}`);
    let byTo = this.delays.get(from);
    if (byTo === undefined) {
      byTo = new Map();
      this.delays.set(from, byTo);
    }
    if (delayMs === 0) byTo.delete(to);
    else byTo.set(to, delayMs);
  }

  /** Cut the link between a and b, both ways: packets vanish, frames are refused. */
  cut(a: Address, b: Address): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** Cut addr off from every other address, both ways. */
  isolate(addr: Address): void {
    this.isolated.add(addr);
  }

  /** Undo every drop, delay, cut and isolation (messages already delayed still arrive, in order). */
  recover(): void {
    this.drops.clear();
    this.delays.clear();
    this.cuts.clear();
    this.isolated.clear();
  }

  /** Whether a message from -> to would be refused by a fault (not by a missing destination). */
  isCut(from: Address, to: Address): boolean {
    return this.isolated.has(from) || this.isolated.has(to) || (this.cuts.get(from)?.has(to) ?? false);
  }

  private cutOneWay(from: Address, to: Address): void {
    let set = this.cuts.get(from);
    if (set === undefined) {
      set = new Set();
      this.cuts.set(from, set);
    }
    set.add(to);
  }

  /** @internal called by MemoryTransport */
  routePacket(from: Address, to: Address, data: Uint8Array): void {
    if (this.isCut(from, to) || !this.nodes.has(to)) {
      this.stats.packetsUnreachable++;
      return;
    }
    const percent = this.drops.get(from)?.get(to) ?? 0;
    if (percent > 0 && this.rng.next() * 100 < percent) {
      this.stats.packetsDropped++;
      return;
    }
    if (!this.reserve(to)) return;
    const copy = data.slice();
    this.dispatch(from, to, () => {
      this.release(to);
      const dest = this.nodes.get(to);
      if (dest === undefined || this.isCut(from, to)) {
        this.stats.packetsUnreachable++;
        return;
      }
      dest.receivePacket(from, copy);
    });
  }

  /** @internal called by MemoryTransport */
  routeFrame(from: Address, to: Address, data: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    if (this.isCut(from, to) || !this.nodes.has(to)) {
      this.stats.framesUnreachable++;
      return Promise.reject(unreachable(from, to));
    }
    if (!this.reserve(to)) return Promise.reject(new ShoalError(ErrorCode.Unreachable, `${to}: too many messages in flight`, { details: { from, to } }));
    const copy = data.slice();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(new ShoalError(ErrorCode.Aborted, `frame to ${to} aborted`, { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dispatch(from, to, () => {
        this.release(to);
        signal?.removeEventListener('abort', onAbort);
        if (settled) return; // aborted before it left: not delivered
        settled = true;
        const dest = this.nodes.get(to);
        if (dest === undefined || this.isCut(from, to)) {
          this.stats.framesUnreachable++;
          reject(unreachable(from, to));
          return;
        }
        dest.receiveFrame(from, copy);
        resolve();
      });
    });
  }

  /** Run `deliver` on a later turn: at once (setImmediate) or after the link's delay, behind earlier delayed messages. */
  private dispatch(from: Address, to: Address, deliver: () => void): void {
    const delayMs = this.delays.get(from)?.get(to) ?? 0;
    let link = this.delayedLinks.get(from)?.get(to);
    if (delayMs === 0 && link === undefined) {
      setImmediate(deliver);
      return;
    }
    if (link === undefined) {
      link = { items: [], headIndex: 0, lastDueMs: 0, timer: undefined };
      let byTo = this.delayedLinks.get(from);
      if (byTo === undefined) {
        byTo = new Map();
        this.delayedLinks.set(from, byTo);
      }
      byTo.set(to, link);
    }
    const dueMs = Math.max(performance.now() + delayMs, link.lastDueMs);
    link.lastDueMs = dueMs;
    link.items.push({ dueMs, run: deliver });
    this.delayedCount++;
    if (link.timer === undefined) this.armDelayed(from, to, link);
  }

  private armDelayed(from: Address, to: Address, link: DelayedLink): void {
    const waitMs = Math.max(0, link.items[link.headIndex].dueMs - performance.now());
    link.timer = setTimeout(() => this.drainDelayed(from, to, link), Math.ceil(waitMs));
  }

  private drainDelayed(from: Address, to: Address, link: DelayedLink): void {
    link.timer = undefined;
    const nowMs = performance.now();
    while (link.headIndex < link.items.length && link.items[link.headIndex].dueMs <= nowMs) {
      const item = link.items[link.headIndex++];
      this.delayedCount--;
      item.run();
    }
    if (link.headIndex < link.items.length) {
      // timers may fire a little early against performance.now(): wait out the rest
      link.items.splice(0, link.headIndex);
      link.headIndex = 0;
      this.armDelayed(from, to, link);
      return;
    }
    this.delayedLinks.get(from)?.delete(to);
    if (this.delayedCount === 0 && this.flushWaiters.length > 0) {
      const waiters = this.flushWaiters;
      this.flushWaiters = [];
      setImmediate(() => {
        for (const w of waiters) w();
      });
    }
  }

  /** @internal called by MemoryTransport.close */
  detach(t: MemoryTransport): void {
    if (this.nodes.get(t.localAddr) === t) this.nodes.delete(t.localAddr);
  }

  private reserve(to: Address): boolean {
    const n = this.inFlight.get(to) ?? 0;
    if (n >= this.inFlightMaxPerAddr) {
      this.stats.inFlightFull++;
      return false;
    }
    this.inFlight.set(to, n + 1);
    return true;
  }

  private release(to: Address): void {
    const n = (this.inFlight.get(to) ?? 1) - 1;
    if (n === 0) this.inFlight.delete(to);
    else this.inFlight.set(to, n);
  }
}

function unreachable(from: Address, to: Address): ShoalError {
  return new ShoalError(ErrorCode.Unreachable, `${to} is unreachable from ${from}`, { details: { from, to } });
}

export class MemoryTransport implements Transport {
  readonly stats: MemoryTransportStats = { ...newTransportStats(), packetsOversized: 0, handlerErrors: 0 };
  private packetHandler: Handler = () => {};
  private frameHandler: Handler = () => {};
  private closed = false;

  /** Use MemoryNetwork.transport(addr). */
  constructor(
    private readonly hub: MemoryNetwork,
    readonly localAddr: Address,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  onPacket(handler: Handler): void {
    this.packetHandler = handler;
  }

  onFrame(handler: Handler): void {
    this.frameHandler = handler;
  }

  sendPacket(to: Address, data: Uint8Array): void {
    if (this.closed) {
      this.stats.packetSendErrors++;
      return;
    }
    if (data.length > this.hub.packetMaxBytes) {
      this.stats.packetsOversized++;
      this.stats.packetSendErrors++;
      return;
    }
    this.stats.packetsSent++;
    this.stats.packetBytesSent += data.length;
    this.hub.routePacket(this.localAddr, to, data);
  }

  sendFrame(to: Address, data: Uint8Array, options?: { signal?: AbortSignal }): Promise<void> {
    if (this.closed) return Promise.reject(new ShoalError(ErrorCode.TransportClosed, 'transport closed'));
    if (data.length > this.hub.frameMaxBytes) {
      this.stats.framesOversized++;
      return Promise.reject(new ShoalError(ErrorCode.FrameTooLarge, `frame of ${data.length} bytes exceeds ${this.hub.frameMaxBytes}`));
    }
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(new ShoalError(ErrorCode.Aborted, `frame to ${to} aborted`, { cause: signal.reason }));
    return this.hub.routeFrame(this.localAddr, to, data, signal).then(
      () => {
        this.stats.framesSent++;
        this.stats.frameBytesSent += data.length;
      },
      (e: unknown) => {
        this.stats.frameErrors++;
        throw e;
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.detach(this);
  }

  /** @internal called by MemoryNetwork */
  receivePacket(from: Address, data: Uint8Array): void {
    this.stats.packetsReceived++;
    this.stats.packetBytesReceived += data.length;
    this.safeCall(this.packetHandler, from, data);
  }

  /** @internal called by MemoryNetwork */
  receiveFrame(from: Address, data: Uint8Array): void {
    this.stats.framesReceived++;
    this.stats.frameBytesReceived += data.length;
    this.safeCall(this.frameHandler, from, data);
  }

  private safeCall(handler: Handler, from: Address, data: Uint8Array): void {
    try {
      handler(from, data);
    } catch {
      this.stats.handlerErrors++;
    }
  }
}
