import { assert } from '../util/assert.js';
import type { Rng } from '../util/rng.js';
import { TransportLimits } from '../transport/transport.js';
import type { Scheduler } from './scheduler.js';
import { chance, defaultLinkOptions, sampleLatencyMs, validateLinkOptions, type LatencyDistribution, type LinkOptions } from './link.js';

export { chance, defaultLinkOptions, sampleLatencyMs, validateLinkOptions, type LatencyDistribution, type LinkOptions };

/**
 * A simulated network on virtual time. It carries opaque messages between
 * string addresses, in two services like the real transport:
 *  - packets: lost, delayed, duplicated and reordered per link settings;
 *  - streams: reliable and ordered per (from, to) pair, with latency only,
 *    and silently lost while the link is cut (protocols time out on their own).
 * Faults: partitions (symmetric or one-way), isolation, paused nodes (timers
 * held, inbound messages held in a bounded socket buffer), crashed nodes and
 * slow (CPU-starved) nodes. Every delivery is a scheduler event owned by the
 * receiver. All randomness comes from the Rng given, so a run replays by seed.
 */

export type Via = 'packet' | 'stream';
export type MessageHandler<M> = (from: string, msg: M, via: Via) => void;
/** Called for every message handed to a handler, at delivery time. */
export type DeliveryTap<M> = (atMs: number, from: string, to: string, msg: M, via: Via) => void;


export const DropReason = {
  /** Random packet loss on the link. */
  loss: 'loss',
  /** The link was cut (partition or isolation) at send or delivery time. */
  partition: 'partition',
  /** Nobody registered at the destination when the message arrived. */
  unreachable: 'unreachable',
  /** The destination was paused and its socket buffer was full. */
  pausedInboxFull: 'pausedInboxFull',
  /** In flight or buffered when the destination crashed. */
  crash: 'crash',
  /** Larger than packetMaxBytes / frameMaxBytes. */
  oversize: 'oversize',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

export interface NetStats {
  packetsSent: number;
  packetBytesSent: number;
  streamMessagesSent: number;
  streamBytesSent: number;
  packetsReceived: number;
  packetBytesReceived: number;
  streamMessagesReceived: number;
  streamBytesReceived: number;
  /** Extra copies created by duplication (counted against the receiver). */
  duplicated: number;
  /** Messages to this address that were dropped, by reason. */
  dropped: Record<DropReason, number>;
}

export function newNetStats(): NetStats {
  return {
    packetsSent: 0,
    packetBytesSent: 0,
    streamMessagesSent: 0,
    streamBytesSent: 0,
    packetsReceived: 0,
    packetBytesReceived: 0,
    streamMessagesReceived: 0,
    streamBytesReceived: 0,
    duplicated: 0,
    dropped: { loss: 0, partition: 0, unreachable: 0, pausedInboxFull: 0, crash: 0, oversize: 0 },
  };
}

export interface SimNetworkOptions {
  /** Messages a paused node's socket buffer holds; the rest are dropped and counted. */
  pausedInboxMax?: number;
  packetMaxBytes?: number;
  frameMaxBytes?: number;
  /** Settings for every link without an override (merged over defaultLinkOptions()). */
  defaultLink?: Partial<LinkOptions>;
}

export const SimNetworkDefaults = {
  /** About a 200 KiB UDP receive buffer of 1400-byte packets. */
  pausedInboxMax: 150,
  packetMaxBytes: TransportLimits.packetMaxBytes,
  frameMaxBytes: TransportLimits.frameMaxBytes,
  /** Named limit on partition rules alive at once. */
  partitionRulesMax: 1024,
} as const;


interface PartitionRule {
  a: ReadonlySet<string>;
  b: ReadonlySet<string>;
  oneWay: boolean;
}

interface Buffered<M> {
  from: string;
  msg: M;
  via: Via;
  sizeBytes: number;
}

interface LinkOverride {
  partial: Partial<LinkOptions>;
  effective: LinkOptions;
}

export class SimNetwork<M> {
  readonly totals: NetStats = newNetStats();
  readonly pausedInboxMax: number;
  readonly packetMaxBytes: number;
  readonly frameMaxBytes: number;

  private readonly handlers = new Map<string, MessageHandler<M>>();
  private readonly statsByAddr = new Map<string, NetStats>();
  private readonly inFlight = new Map<string, number>();
  private readonly pausedInboxes = new Map<string, Buffered<M>[]>();
  private readonly streamLastMs = new Map<string, Map<string, number>>();
  private readonly overrides = new Map<string, Map<string, LinkOverride>>();
  private readonly isolated = new Set<string>();
  private rules: PartitionRule[] = [];
  private defaultLink: LinkOptions;
  private tap: DeliveryTap<M> | undefined;

  constructor(
    readonly scheduler: Scheduler,
    private readonly rng: Rng,
    options: SimNetworkOptions = {},
  ) {
    this.pausedInboxMax = options.pausedInboxMax ?? SimNetworkDefaults.pausedInboxMax;
    this.packetMaxBytes = options.packetMaxBytes ?? SimNetworkDefaults.packetMaxBytes;
    this.frameMaxBytes = options.frameMaxBytes ?? SimNetworkDefaults.frameMaxBytes;
    assert(this.pausedInboxMax >= 0, 'pausedInboxMax must be >= 0');
    this.defaultLink = { ...defaultLinkOptions(), ...options.defaultLink };
    validateLinkOptions(this.defaultLink);
  }

  // --- membership of the network -------------------------------------------

  register(addr: string, handler: MessageHandler<M>): void {
    assert(!this.handlers.has(addr), `address ${addr} is already registered`);
    this.handlers.set(addr, handler);
  }

  unregister(addr: string): void {
    this.handlers.delete(addr);
  }

  isRegistered(addr: string): boolean {
    return this.handlers.has(addr);
  }

  addresses(): string[] {
    return [...this.handlers.keys()];
  }

  /** Sees every delivery (for traces and checkers); undefined removes it. */
  setTap(tap: DeliveryTap<M> | undefined): void {
    this.tap = tap;
  }

  // --- links ---------------------------------------------------------------

  setDefaultLink(opts: Partial<LinkOptions>): void {
    const next = { ...this.defaultLink, ...opts };
    validateLinkOptions(next);
    this.defaultLink = next;
    for (const byTo of this.overrides.values()) {
      for (const o of byTo.values()) o.effective = { ...next, ...o.partial };
    }
  }

  /** Override the directed link from -> to (merged over the default, now and after later default changes). */
  setLink(from: string, to: string, opts: Partial<LinkOptions>): void {
    let byTo = this.overrides.get(from);
    if (byTo === undefined) {
      byTo = new Map();
      this.overrides.set(from, byTo);
    }
    const partial = { ...byTo.get(to)?.partial, ...opts };
    const effective = { ...this.defaultLink, ...partial };
    validateLinkOptions(effective);
    byTo.set(to, { partial, effective });
  }

  clearLink(from: string, to: string): void {
    this.overrides.get(from)?.delete(to);
  }

  link(from: string, to: string): Readonly<LinkOptions> {
    if (this.overrides.size === 0) return this.defaultLink;
    return this.overrides.get(from)?.get(to)?.effective ?? this.defaultLink;
  }

  // --- faults --------------------------------------------------------------

  /** Cut groupA from groupB (both ways, or only A -> B with oneWay). Adds to existing cuts. */
  partition(groupA: readonly string[], groupB: readonly string[], opts: { oneWay?: boolean } = {}): void {
    assert(this.rules.length < SimNetworkDefaults.partitionRulesMax, 'too many partition rules');
    this.rules.push({ a: new Set(groupA), b: new Set(groupB), oneWay: opts.oneWay ?? false });
  }

  /** Remove every partition and isolation. */
  heal(): void {
    this.rules = [];
    this.isolated.clear();
  }

  /** Cut addr from everyone, both ways, until heal() or rejoin(addr). */
  isolate(addr: string): void {
    this.isolated.add(addr);
  }

  rejoin(addr: string): void {
    this.isolated.delete(addr);
  }

  /** Whether messages from -> to are being dropped by a cut. */
  isCut(from: string, to: string): boolean {
    if (this.isolated.size > 0 && (this.isolated.has(from) || this.isolated.has(to))) return true;
    for (const r of this.rules) {
      if (r.a.has(from) && r.b.has(to)) return true;
      if (!r.oneWay && r.b.has(from) && r.a.has(to)) return true;
    }
    return false;
  }

  /** Freeze a node: its timers are held and inbound messages buffered (bounded) until resume. */
  pause(addr: string): void {
    if (this.pausedInboxes.has(addr)) return;
    this.scheduler.pause(addr);
    this.pausedInboxes.set(addr, []);
  }

  /** Thaw a node: held timers run now in order, then buffered messages in arrival order. */
  resume(addr: string): void {
    const inbox = this.pausedInboxes.get(addr);
    if (inbox === undefined) return;
    this.pausedInboxes.delete(addr);
    this.scheduler.resume(addr);
    for (const b of inbox) this.scheduleDelivery(this.scheduler.nowMs, b.from, addr, b.msg, b.via, b.sizeBytes, false);
  }

  isPaused(addr: string): boolean {
    return this.pausedInboxes.has(addr);
  }

  /**
   * Kill a node: unregister it, drop its in-flight and buffered inbound
   * messages, cancel its timers. Restart is register() again.
   */
  crash(addr: string): void {
    this.handlers.delete(addr);
    const stats = this.statsOf(addr);
    const lost = (this.inFlight.get(addr) ?? 0) + (this.pausedInboxes.get(addr)?.length ?? 0);
    stats.dropped.crash += lost;
    this.totals.dropped.crash += lost;
    this.inFlight.delete(addr);
    this.pausedInboxes.delete(addr);
    this.scheduler.resume(addr);
    this.scheduler.cancelOwner(addr);
  }

  /** A CPU-starved node: what it receives and every timer it schedules run extraDelayMs later (0 clears). */
  setSlow(addr: string, extraDelayMs: number): void {
    this.scheduler.setOwnerDelay(addr, extraDelayMs);
  }

  // --- traffic -------------------------------------------------------------

  send(from: string, to: string, msg: M, via: Via, sizeBytes: number): void {
    const fromStats = this.statsOf(from);
    if (via === 'packet') {
      fromStats.packetsSent++;
      fromStats.packetBytesSent += sizeBytes;
      this.totals.packetsSent++;
      this.totals.packetBytesSent += sizeBytes;
      if (sizeBytes > this.packetMaxBytes) return this.drop(to, DropReason.oversize);
    } else {
      fromStats.streamMessagesSent++;
      fromStats.streamBytesSent += sizeBytes;
      this.totals.streamMessagesSent++;
      this.totals.streamBytesSent += sizeBytes;
      if (sizeBytes > this.frameMaxBytes) return this.drop(to, DropReason.oversize);
    }
    if (this.isCut(from, to)) return this.drop(to, DropReason.partition);
    const link = this.link(from, to);
    const nowMs = this.scheduler.nowMs;
    const slowMs = this.scheduler.ownerDelay(to);
    if (via === 'stream') {
      let byTo = this.streamLastMs.get(from);
      if (byTo === undefined) {
        byTo = new Map();
        this.streamLastMs.set(from, byTo);
      }
      // Same time as the previous message is fine: ties run in scheduling order.
      const atMs = Math.max(nowMs + sampleLatencyMs(link.latency, this.rng) + slowMs, byTo.get(to) ?? 0);
      byTo.set(to, atMs);
      this.scheduleDelivery(atMs, from, to, msg, via, sizeBytes, true);
      return;
    }
    if (chance(link.lossPercent, this.rng)) return this.drop(to, DropReason.loss);
    this.scheduleDelivery(nowMs + this.packetDelayMs(link) + slowMs, from, to, msg, via, sizeBytes, true);
    if (chance(link.duplicatePercent, this.rng)) {
      this.statsOf(to).duplicated++;
      this.totals.duplicated++;
      this.scheduleDelivery(nowMs + this.packetDelayMs(link) + slowMs, from, to, msg, via, sizeBytes, true);
    }
  }

  stats(addr: string): Readonly<NetStats> {
    return this.statsOf(addr);
  }

  /** Messages scheduled for delivery to addr and not yet delivered or dropped. */
  inFlightTo(addr: string): number {
    return this.inFlight.get(addr) ?? 0;
  }

  private packetDelayMs(link: LinkOptions): number {
    let d = sampleLatencyMs(link.latency, this.rng);
    if (chance(link.reorderPercent, this.rng)) d += this.rng.next() * link.reorderDelayMs;
    return d;
  }

  private scheduleDelivery(atMs: number, from: string, to: string, msg: M, via: Via, sizeBytes: number, checkCut: boolean): void {
    this.inFlight.set(to, (this.inFlight.get(to) ?? 0) + 1);
    this.scheduler.atExact(atMs, () => this.deliver(from, to, msg, via, sizeBytes, checkCut), to, false);
  }

  private deliver(from: string, to: string, msg: M, via: Via, sizeBytes: number, checkCut: boolean): void {
    this.inFlight.set(to, (this.inFlight.get(to) ?? 1) - 1);
    if (checkCut && this.isCut(from, to)) return this.drop(to, DropReason.partition);
    const handler = this.handlers.get(to);
    if (handler === undefined) return this.drop(to, DropReason.unreachable);
    const inbox = this.pausedInboxes.get(to);
    if (inbox !== undefined) {
      if (inbox.length >= this.pausedInboxMax) return this.drop(to, DropReason.pausedInboxFull);
      inbox.push({ from, msg, via, sizeBytes });
      return;
    }
    const s = this.statsOf(to);
    if (via === 'packet') {
      s.packetsReceived++;
      s.packetBytesReceived += sizeBytes;
      this.totals.packetsReceived++;
      this.totals.packetBytesReceived += sizeBytes;
    } else {
      s.streamMessagesReceived++;
      s.streamBytesReceived += sizeBytes;
      this.totals.streamMessagesReceived++;
      this.totals.streamBytesReceived += sizeBytes;
    }
    this.tap?.(this.scheduler.nowMs, from, to, msg, via);
    handler(from, msg, via);
  }

  private drop(to: string, reason: DropReason): void {
    this.statsOf(to).dropped[reason]++;
    this.totals.dropped[reason]++;
  }

  private statsOf(addr: string): NetStats {
    let s = this.statsByAddr.get(addr);
    if (s === undefined) {
      s = newNetStats();
      this.statsByAddr.set(addr, s);
    }
    return s;
  }
}
