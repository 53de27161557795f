import type { Address } from '../../../src/util/address.js';
import type { Rng } from '../../../src/util/rng.js';
import type { GossipConfig } from '../../../src/gossip/config.js';
import type { GossipReady, MemberEvent, MemberInfo } from '../../../src/gossip/events.js';
import { MemberState, MessageType, type GossipMessage, type Tags, type Via } from '../../../src/gossip/messages.js';
import type { GossipCoreLike } from '../../../src/sim/gossip-cluster.js';

/**
 * A deliberately simple stand-in core for testing the harness itself (not a
 * protocol anyone should run): every heartbeatMs it sends an Alive to every
 * member it knows (dead ones too), and declares dead whoever it has not heard
 * from for deadAfterMs. Joins are push-pull frames. Its behaviour is easy to
 * predict, so the harness's timers, delivery, faults and view can be checked.
 */
export const heartbeatMs = 1_000;
export const deadAfterMs = 3_000;

interface Entry {
  info: MemberInfo;
  lastHeardMs: number;
}

export class HeartbeatCore implements GossipCoreLike {
  private readonly table = new Map<string, Entry>();
  private out: GossipReady = { packets: [], frames: [], events: [] };
  private nextBeatMs: number;
  private left = false;
  framesFailed = 0;

  constructor(
    private readonly config: GossipConfig,
    rng: Rng,
    nowMs: number,
  ) {
    this.nextBeatMs = nowMs + rng.int(heartbeatMs);
    this.table.set(config.name, { info: this.self(MemberState.Alive, nowMs), lastHeardMs: nowMs });
  }

  join(seeds: Address[], nowMs: number): void {
    for (const to of seeds) this.out.frames.push({ to, msg: this.pushPull(true, false) });
    void nowMs;
  }

  leave(nowMs: number): void {
    this.left = true;
    this.table.get(this.config.name)!.info = this.self(MemberState.Left, nowMs);
    for (const e of this.table.values()) {
      if (e.info.name !== this.config.name) {
        this.out.packets.push({ to: e.info.addr, msgs: [{ type: MessageType.Leave, incarnation: 0, name: this.config.name }] });
      }
    }
  }

  leaveComplete(): boolean {
    return this.left && this.out.packets.length === 0;
  }

  setTags(tags: Tags, nowMs: number): void {
    void tags;
    void nowMs;
  }

  tick(nowMs: number): void {
    if (this.left) return;
    while (nowMs >= this.nextBeatMs) {
      this.nextBeatMs += heartbeatMs;
      for (const e of this.table.values()) {
        if (e.info.name === this.config.name || e.info.state === MemberState.Left) continue;
        this.out.packets.push({
          to: e.info.addr,
          msgs: [{ type: MessageType.Alive, incarnation: 0, name: this.config.name, addr: this.config.advertiseAddr, tags: {} }],
        });
        if (e.info.state === MemberState.Alive && nowMs - e.lastHeardMs > deadAfterMs) this.change(e, MemberState.Dead, nowMs, 'member-failed');
      }
    }
  }

  step(from: Address, msg: GossipMessage, via: Via, nowMs: number): void {
    void from;
    void via;
    if (msg.type === MessageType.Alive) this.heard(msg.name, msg.addr, nowMs);
    else if (msg.type === MessageType.Leave) {
      const e = this.table.get(msg.name);
      if (e) this.change(e, MemberState.Left, nowMs, 'member-leave');
    } else if (msg.type === MessageType.PushPull) {
      this.heard(msg.sourceName, msg.sourceAddr, nowMs);
      for (const s of msg.states) if (s.state === MemberState.Alive) this.heard(s.name, s.addr, nowMs);
      if (!msg.reply) this.out.frames.push({ to: msg.sourceAddr, msg: this.pushPull(false, true) });
      this.out.events.push({ type: 'push-pull-complete', peer: msg.sourceAddr, join: msg.join, nowMs });
    }
  }

  frameFailed(to: Address, msg: GossipMessage, nowMs: number): void {
    void to;
    void msg;
    void nowMs;
    this.framesFailed++;
  }

  ready(): GossipReady {
    const r = this.out;
    this.out = { packets: [], frames: [], events: [] };
    return r;
  }

  nextTickAtMs(): number {
    return this.left ? Infinity : this.nextBeatMs;
  }

  members(): MemberInfo[] {
    return [...this.table.values()].map((e) => ({ ...e.info }));
  }

  localMember(): MemberInfo {
    return { ...this.table.get(this.config.name)!.info };
  }

  localHealth(): number {
    return 0;
  }

  private heard(name: string, addr: Address, nowMs: number): void {
    if (name === this.config.name) return;
    const e = this.table.get(name);
    if (!e) {
      const entry: Entry = { info: { name, addr, state: MemberState.Alive, incarnation: 0, tags: {}, stateChangeMs: nowMs }, lastHeardMs: nowMs };
      this.table.set(name, entry);
      this.out.events.push({ type: 'member-join', member: { ...entry.info }, nowMs });
      return;
    }
    e.lastHeardMs = nowMs;
    if (e.info.state === MemberState.Dead) this.change(e, MemberState.Alive, nowMs, 'member-alive');
  }

  private change(e: Entry, state: MemberState, nowMs: number, type: Extract<MemberEvent, { member: MemberInfo }>['type']): void {
    e.info = { ...e.info, state, stateChangeMs: nowMs };
    this.out.events.push({ type, member: { ...e.info }, nowMs });
  }

  private self(state: MemberState, nowMs: number): MemberInfo {
    return { name: this.config.name, addr: this.config.advertiseAddr, state, incarnation: 0, tags: {}, stateChangeMs: nowMs };
  }

  private pushPull(join: boolean, reply: boolean): GossipMessage {
    return {
      type: MessageType.PushPull,
      join,
      reply,
      sourceName: this.config.name,
      sourceAddr: this.config.advertiseAddr,
      states: [...this.table.values()].map((e) => ({ ...e.info })),
      eventLtime: 0,
    };
  }
}
