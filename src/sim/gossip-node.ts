import type { Address } from '../util/address.js';
import { assert } from '../util/assert.js';
import type { Rng } from '../util/rng.js';
import type { GossipMessage, PushNodeState, Tags, Via } from '../gossip/messages.js';
import { GossipCore } from '../gossip/core.js';
import type { GossipConfig } from '../gossip/config.js';
import type { MemberEvent } from '../gossip/events.js';
import type { Scheduler } from './scheduler.js';
import type { SimNetwork } from './network.js';
import { Seen, seenFromState, seenName, type MembershipView } from './gossip-view.js';
import type { GossipWire } from './gossip-wire.js';
import type { GossipTraffic } from './gossip-traffic.js';
import type { GossipEventLog } from './gossip-events.js';

/** What travels on the simulated network: a UDP packet's messages, or one stream frame. */
export type GossipPayload = { kind: 'packet'; msgs: GossipMessage[] } | { kind: 'frame'; msg: GossipMessage };

/** What the simulation needs of a core: GossipCore, or a stand-in with the same surface (seedMembers optional). */
export type GossipCoreLike = Pick<
  GossipCore,
  'join' | 'leave' | 'leaveComplete' | 'setTags' | 'tick' | 'step' | 'frameFailed' | 'ready' | 'nextTickAtMs' | 'members' | 'localMember' | 'localHealth'
> &
  Partial<Pick<GossipCore, 'seedMembers'>>;

export type GossipCoreFactory = (config: GossipConfig, rng: Rng, nowMs: number) => GossipCoreLike;

export const defaultCoreFactory: GossipCoreFactory = (config, rng, nowMs) => new GossipCore(config, rng, nowMs);

/** The shared simulation a node runs in (GossipCluster provides it). */
export interface SimGossipHost {
  readonly scheduler: Scheduler;
  readonly network: SimNetwork<GossipPayload>;
  readonly view: MembershipView;
  readonly traffic: GossipTraffic;
  readonly log: GossipEventLog;
  readonly wire: GossipWire;
  readonly roundTrip: boolean;
  readonly coreFactory: GossipCoreFactory;
  /** A fresh deterministic Rng for a new core. */
  forkRng(): Rng;
  nodeStarted(node: SimGossipNode): void;
  nodeStopped(node: SimGossipNode): void;
}

export interface AddNodeOptions {
  config?: Partial<GossipConfig>;
  tags?: Tags;
  /** Address; default 10.x.y.z:7946 from the node's slot. */
  addr?: Address;
}

export type NodeStatus = 'new' | 'running' | 'leaving' | 'left' | 'crashed';

/** A leaving node shuts down when its Leave has been sent, or after this long at the latest. */
export const leaveTimeoutMs = 5_000;
/** A connect to an address nobody listens on is refused after about one round trip. */
export const frameRefusedMs = 2;
/** A connect across a cut times out (memberlist's TCPTimeout). */
export const frameConnectTimeoutMs = 10_000;
/** Ticks that do not move nextTickAtMs forward are clamped to now + 1 ms; this many in a row is a core bug. */
const maxStuckTicks = 1_000;

/**
 * One simulated process running a GossipCore, for the gossip-only
 * simulations (gossip-cluster.ts, up to 10,000 members in
 * bench/gossip-sim.ts). It drives the core as the agent's GossipShell does
 * but hands messages to the network as objects (sized by the codec, encoded
 * only with roundTrip), without a cluster transport per member and without
 * a promise per frame: that is what makes 10,000 members fit one process.
 * The control simulation (control-cluster.ts) runs the real GossipShell over
 * SimClusterTransport instead.
 *
 * Every time the core has been touched (join, tick, step, frameFailed,
 * leave) `drive()` drains ready() at once (packets and frames go onto the
 * network, events into the view and the log) and keeps exactly one tick
 * timer pending at core.nextTickAtMs(). Timers are owned by the node's
 * address, so the network's pause/slow/crash apply to them.
 */
export class SimGossipNode {
  core: GossipCoreLike | undefined;
  status: NodeStatus = 'new';
  /** Bumped on every start and stop: timers of an older run of the process are ignored. */
  private generation = 0;
  private tickTimer: number | undefined;
  private tickAtMs = Infinity;
  private stuckTicks = 0;

  constructor(
    readonly slot: number,
    readonly name: string,
    readonly addr: Address,
    readonly config: GossipConfig,
    private readonly host: SimGossipHost,
  ) {}

  get live(): boolean {
    return this.core !== undefined;
  }

  private get nowMs(): number {
    return this.host.scheduler.nowMs;
  }

  /** Start the process: a new core (incarnation from scratch), registered on the network. */
  start(): void {
    assert(!this.core, `${this.name} already running`);
    this.host.network.register(this.addr, (from, payload, via) => this.deliver(from, payload, via));
    this.generation++;
    this.status = 'running';
    this.core = this.host.coreFactory(this.config, this.host.forkRng(), this.nowMs);
    this.host.view.openRow(this.slot);
    this.host.nodeStarted(this);
    this.drive();
  }

  /** Stop the process. `crashed`: no goodbye, in-flight messages to it lost. `left`: after a leave. */
  stop(status: 'left' | 'crashed'): void {
    if (!this.core) return;
    this.core = undefined;
    this.status = status;
    this.generation++;
    if (this.tickTimer !== undefined) this.host.scheduler.cancel(this.tickTimer);
    this.tickTimer = undefined;
    this.tickAtMs = Infinity;
    this.host.view.closeRow(this.slot);
    if (status === 'crashed') this.host.network.crash(this.addr); // drops its inbox, cancels its timers
    else this.host.network.unregister(this.addr);
    this.host.nodeStopped(this);
    this.host.log.add({ atMs: this.nowMs, observer: this.name, type: status === 'left' ? 'node-stopped' : 'node-crashed', subject: this.name });
  }

  join(seedAddrs: Address[]): void {
    if (!this.core) return;
    this.core.join(seedAddrs, this.nowMs);
    this.drive();
  }

  /** Graceful leave: announce it, then stop once leaveComplete() (or after leaveTimeoutMs). */
  leave(): void {
    if (!this.core || this.status !== 'running') return;
    this.status = 'leaving';
    this.core.leave(this.nowMs);
    this.drive();
    const gen = this.generation;
    this.host.scheduler.after(leaveTimeoutMs, () => {
      if (this.generation === gen && this.status === 'leaving') this.stop('left');
    });
  }

  setTags(tags: Tags): void {
    if (!this.core) return;
    this.core.setTags(tags, this.nowMs);
    this.drive();
  }

  /** Hand the core a message directly, bypassing the network (pre-seeding). */
  stepDirect(from: Address, msg: GossipMessage, via: Via): void {
    if (!this.core) return;
    this.core.step(from, msg, via, this.nowMs);
    this.drive();
  }

  /** Load the core's member table from a snapshot (GossipCore.seedMembers); false if the core cannot. */
  seedDirect(states: readonly PushNodeState[]): boolean {
    if (!this.core?.seedMembers) return false;
    this.core.seedMembers(states, this.nowMs);
    this.drive();
    return true;
  }

  private deliver(from: Address, payload: GossipPayload, via: Via): void {
    const core = this.core;
    if (!core) return;
    const { traffic, wire, roundTrip } = this.host;
    if (payload.kind === 'packet') {
      traffic.packetReceived();
      const msgs = roundTrip ? wire.roundTripPacket(payload.msgs) : payload.msgs;
      for (const m of msgs) core.step(from, m, via, this.nowMs);
    } else {
      traffic.frameReceived();
      core.step(from, roundTrip ? wire.roundTripFrame(payload.msg) : payload.msg, via, this.nowMs);
    }
    this.drive();
  }

  private onTick(generation: number): void {
    if (this.generation !== generation || !this.core) return;
    this.tickTimer = undefined;
    this.tickAtMs = Infinity;
    this.core.tick(this.nowMs);
    this.drive(true);
  }

  /** Drain ready() and (re)arm the tick timer. */
  private drive(fromTick = false): void {
    const core = this.core;
    if (!core) return;
    const { network, traffic, wire, view } = this.host;
    const ready = core.ready();
    for (const p of ready.packets) {
      if (p.msgs.length === 0) continue;
      const sizeBytes = wire.packetSizeBytes(p.msgs);
      traffic.packetSent(p.msgs, sizeBytes);
      network.send(this.addr, p.to, { kind: 'packet', msgs: p.msgs }, 'packet', sizeBytes);
    }
    for (const f of ready.frames) this.sendFrame(f.to, f.msg);
    for (const e of ready.events) this.onEvent(e);
    // Our own entry: the core need not report events about itself.
    view.set(this.slot, this.name, seenFromState(core.localMember().state));
    if (this.status === 'leaving' && core.leaveComplete()) {
      this.stop('left');
      return;
    }
    this.armTick(fromTick);
  }

  private armTick(fromTick: boolean): void {
    let atMs = this.core!.nextTickAtMs();
    if (atMs === Infinity) {
      if (this.tickTimer !== undefined) this.host.scheduler.cancel(this.tickTimer);
      this.tickTimer = undefined;
      this.tickAtMs = Infinity;
      return;
    }
    if (atMs <= this.nowMs) {
      if (fromTick) {
        this.stuckTicks++;
        assert(this.stuckTicks < maxStuckTicks, `${this.name}: nextTickAtMs does not advance past ${this.nowMs}`);
        atMs = this.nowMs + 1;
      } else atMs = this.nowMs;
    } else if (fromTick) this.stuckTicks = 0;
    if (this.tickTimer !== undefined && this.tickAtMs === atMs) return;
    if (this.tickTimer !== undefined) this.host.scheduler.cancel(this.tickTimer);
    const gen = this.generation;
    this.tickAtMs = atMs;
    this.tickTimer = this.host.scheduler.at(atMs, () => this.onTick(gen), this.addr);
  }

  /**
   * The network loses streams silently when cut, so the node plays the TCP
   * connect: to an address nobody listens on (crashed, left) the core gets
   * frameFailed() after frameRefusedMs, across a cut after
   * frameConnectTimeoutMs. A frame lost because the cut or the crash came
   * while it was in flight is not reported: the core's own timeouts cover
   * that, as with a real connection that hangs.
   */
  private sendFrame(to: Address, msg: GossipMessage): void {
    const { network, traffic, wire } = this.host;
    const sizeBytes = wire.frameSizeBytes(msg);
    traffic.frameSent(msg, sizeBytes);
    if (network.isCut(this.addr, to)) return this.frameFailedLater(to, msg, frameConnectTimeoutMs);
    if (!network.isRegistered(to)) return this.frameFailedLater(to, msg, frameRefusedMs);
    network.send(this.addr, to, { kind: 'frame', msg }, 'stream', sizeBytes);
  }

  private frameFailedLater(to: Address, msg: GossipMessage, delayMs: number): void {
    this.host.traffic.frameFailed();
    const gen = this.generation;
    this.host.scheduler.after(
      delayMs,
      () => {
        if (this.generation !== gen || !this.core) return;
        this.core.frameFailed(to, msg, this.nowMs);
        this.drive();
      },
      this.addr,
    );
  }

  private onEvent(e: MemberEvent): void {
    const atMs = this.nowMs;
    const { log, view } = this.host;
    if (e.type === 'push-pull-complete') {
      log.add({ atMs, observer: this.name, type: e.type, subject: e.peer });
      return;
    }
    if (e.type === 'user-event') {
      log.add({ atMs, observer: this.name, type: e.type, subject: e.name });
      return;
    }
    const m = e.member;
    if (e.type === 'member-reaped') view.set(this.slot, m.name, Seen.Unknown);
    else if (e.type !== 'name-conflict') view.set(this.slot, m.name, seenFromState(m.state));
    if (!log.wantsEvents) return log.countOnly(e.type);
    log.add({
      atMs,
      observer: this.name,
      type: e.type,
      subject: m.name,
      state: seenName(seenFromState(m.state)),
      incarnation: m.incarnation,
      addr: m.addr,
    });
  }
}
