import { GossipCore } from '../../../src/gossip/core.js';
import { presets, validateGossipConfig, type GossipConfig } from '../../../src/gossip/config.js';
import type { MemberEvent, MemberEventType } from '../../../src/gossip/events.js';
import type { GossipMessage, Via } from '../../../src/gossip/messages.js';
import { SeededRng } from '../../../src/util/rng.js';

type EventOf<T> = T extends MemberEventType ? Extract<MemberEvent, { member: unknown }> : Extract<MemberEvent, { type: T }>;

/** A message in flight between two cores. */
export interface Delivery {
  from: string;
  to: string;
  msg: GossipMessage;
  via: Via;
  atMs: number;
}

/** One UDP packet as a core emitted it. */
export interface PacketRecord {
  from: string;
  to: string;
  msgs: GossipMessage[];
  atMs: number;
}

/**
 * A few cores wired together by hand: zero-latency delivery, a filter to drop
 * messages, and virtual time advanced to the next timer. Unit tests only.
 */
export class Net {
  readonly cores = new Map<string, GossipCore>();
  readonly events = new Map<string, MemberEvent[]>();
  readonly log: Delivery[] = [];
  readonly packets: PacketRecord[] = [];
  nowMs = 0;
  /** Return false to drop a message. */
  filter: (d: Delivery) => boolean = () => true;
  /** Called after timers ran and before their output is delivered. */
  afterTick: () => void = () => {};
  /** Frames to an address nobody listens on are reported back as failed. */
  reportFailedFrames = true;

  add(name: string, overrides: Partial<GossipConfig> = {}, seed = 1): GossipCore {
    const addr = addrOf(name);
    const config = validateGossipConfig({ ...presets.local(name, addr), ...overrides });
    const core = new GossipCore(config, new SeededRng(seed + this.cores.size * 7919), this.nowMs);
    this.cores.set(addr, core);
    this.events.set(name, []);
    return core;
  }

  core(name: string): GossipCore {
    const c = this.cores.get(addrOf(name));
    if (c === undefined) throw new Error(`no core ${name}`);
    return c;
  }

  remove(name: string): void {
    this.cores.delete(addrOf(name));
  }

  /** Delivers everything pending until the network is quiet (bounded). */
  flush(roundsMax = 1000): void {
    for (let round = 0; round < roundsMax; round++) {
      let moved = false;
      for (const [addr, core] of [...this.cores]) {
        const r = core.ready();
        const name = core.localMember().name;
        this.events.get(name)?.push(...r.events);
        for (const p of r.packets) {
          this.packets.push({ from: addr, to: p.to, msgs: p.msgs, atMs: this.nowMs });
          for (const msg of p.msgs) moved = this.deliver({ from: addr, to: p.to, msg, via: 'packet', atMs: this.nowMs }) || moved;
        }
        for (const f of r.frames) {
          const ok = this.deliver({ from: addr, to: f.to, msg: f.msg, via: 'stream', atMs: this.nowMs });
          if (!ok && this.reportFailedFrames) core.frameFailed(f.to, f.msg, this.nowMs);
          moved = true;
        }
      }
      if (!moved) return;
    }
    throw new Error('network did not quiesce');
  }

  private deliver(d: Delivery): boolean {
    this.log.push(d);
    const dst = this.cores.get(d.to);
    if (dst === undefined || !this.filter(d)) return false;
    dst.step(d.from, d.msg, d.via, this.nowMs);
    return true;
  }

  /** Runs timers and delivery until untilMs. */
  runUntil(untilMs: number): void {
    this.flush();
    for (;;) {
      let next = Infinity;
      for (const c of this.cores.values()) next = Math.min(next, c.nextTickAtMs());
      if (next > untilMs) break;
      this.nowMs = Math.max(this.nowMs, next);
      for (const c of this.cores.values()) if (c.nextTickAtMs() <= this.nowMs) c.tick(this.nowMs);
      this.afterTick();
      this.flush();
    }
    this.nowMs = untilMs;
  }

  runFor(ms: number): void {
    this.runUntil(this.nowMs + ms);
  }

  /** Events of one node of a type, in order. */
  eventsOf<T extends MemberEvent['type']>(name: string, type: T): EventOf<T>[] {
    return (this.events.get(name) ?? []).filter((e) => e.type === type) as EventOf<T>[];
  }

  stateOf(viewer: string, name: string): number | undefined {
    return this.core(viewer).member(name)?.state;
  }
}

export const addrOf = (name: string): string => `10.0.0.${name.replace(/\D/g, '') || '1'}:7946`;
