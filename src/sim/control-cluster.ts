/**
 * N members, each a GossipCore and a ControlCore, on ONE virtual-time
 * Scheduler and ONE SimNetwork (gossip packets/frames and Raft messages as
 * different payload kinds): the control plane as the agent runs it, with
 * seeded faults. Crash loses unsynced Raft writes; restart keeps the Raft
 * state (and never bootstraps again); leave is gossip's graceful leave;
 * partitions cut gossip and Raft together. Clients (control-clients.ts)
 * send requests to any member and get answers through `request`.
 */
import { GossipCore } from '../gossip/core.js';
import type { GossipConfig } from '../gossip/config.js';
import { presets, validateGossipConfig } from '../gossip/config.js';
import type { Tags } from '../gossip/messages.js';
import type { ControlConfig } from '../control/control-config.js';
import type { ControlCore } from '../control/control-core.js';
import type { ControlEvent, ControlResult, ControlStatus } from '../control/control-types.js';
import { RaftRole } from '../raft/types.js';
import type { Address } from '../util/address.js';
import { assert } from '../util/assert.js';
import { SeededRng, type Rng } from '../util/rng.js';
import { ControlSimNode, raftAddrOf, type ControlNodeListener } from './control-node.js';
import type { ControlPayload } from './control-wire.js';
import { GossipEventLog } from './gossip-events.js';
import { SimGossipNode, type GossipCoreFactory, type GossipCoreLike, type GossipPayload, type SimGossipHost } from './gossip-node.js';
import { GossipTraffic } from './gossip-traffic.js';
import { MembershipView } from './gossip-view.js';
import { codecWire } from './gossip-wire.js';
import { SimNetwork, type LinkOptions } from './network.js';
import { Scheduler } from './scheduler.js';

export interface ControlClusterOptions {
  seed: number;
  /** Control settings for every member (name set per member). */
  control?: Partial<ControlConfig>;
  /** Gossip settings over the 'local' preset. */
  gossip?: Partial<GossipConfig>;
  link?: Partial<LinkOptions>;
  persistLatencyMinMs?: number;
  persistLatencyMaxMs?: number;
  tornWritePercent?: number;
  /** Events kept in the cluster's log (leader changes, raft starts). */
  logMax?: number;
}

export interface RaftStart {
  atMs: number;
  name: string;
  clusterId: string;
  /** Empty for a member that joined an existing cluster. */
  voters: string[];
}

export interface LeaderChange {
  atMs: number;
  observer: string;
  leader: string;
  term: number;
}

type ResultHandler = (r: ControlResult, atMs: number) => void;

/** Most requests awaiting an answer across the cluster (a runaway client, not a test). */
export const controlClusterPendingMax = 100_000;

export class ControlCluster {
  readonly scheduler = new Scheduler();
  readonly network: SimNetwork<ControlPayload>;
  readonly view = new MembershipView(16);
  readonly traffic = new GossipTraffic();
  readonly log = new GossipEventLog(0, false);
  readonly coreFactory: GossipCoreFactory;
  readonly seed: number;
  readonly starts: RaftStart[] = [];
  readonly leaderChanges: LeaderChange[] = [];
  /** config-changed events per observer (bounded by logMax). */
  readonly configEvents = new Map<string, Extract<ControlEvent, { type: 'config-changed' }>[]>();
  private readonly rng: SeededRng;
  private readonly nodes = new Map<string, ControlSimNode>();
  private readonly handlers = new Map<string, ResultHandler>();
  private readonly logMax: number;
  private slots = 0;

  constructor(private readonly options: ControlClusterOptions) {
    this.seed = options.seed >>> 0;
    this.rng = new SeededRng(this.seed);
    this.network = new SimNetwork<ControlPayload>(this.scheduler, this.rng.fork(), { defaultLink: options.link ?? {} });
    this.logMax = options.logMax ?? 100_000;
    this.gossipHost = {
      scheduler: this.scheduler,
      network: this.network as unknown as SimNetwork<GossipPayload>,
      view: this.view,
      traffic: this.traffic,
      log: this.log,
      wire: codecWire,
      roundTrip: false,
      coreFactory: (config, rng, nowMs) => this.coreFactory(config, rng, nowMs),
      forkRng: (): Rng => this.rng.fork(),
      nodeStarted: () => {},
      nodeStopped: () => {},
    };
    this.coreFactory = (config, rng, nowMs) => {
      const core = new GossipCore(config, rng, nowMs);
      const node = this.nodes.get(config.name);
      return notifyOnMembership(core, () => node?.membershipChanged());
    };
  }

  get nowMs(): number {
    return this.scheduler.nowMs;
  }

  /**
   * What the gossip nodes see of the simulation. The network is shared with
   * Raft, but gossip nodes only send gossip payloads and only gossip nodes send
   * to gossip addresses: on those addresses it carries GossipPayload only.
   */
  private readonly gossipHost: SimGossipHost;

  // ---- members -----------------------------------------------------------------------

  /** Create a member (not started). `tags` are its user tags (zone, voter). */
  add(name: string, tags: Tags = {}, control: Partial<ControlConfig> = {}): void {
    assert(!this.nodes.has(name), `member ${name} exists`);
    const slot = this.slots++;
    const addr = slotAddr(slot);
    const base = presets.local(name, addr);
    const config = validateGossipConfig({ ...base, ...this.options.gossip, name, advertiseAddr: addr, tags });
    const gossip = new SimGossipNode(slot, name, addr, config, this.gossipHost);
    const controlConfig = { ...this.options.control, ...control, eligible: tags.voter !== 'false' };
    const node = new ControlSimNode(
      name,
      raftAddrOf(name),
      gossip,
      tags,
      this.scheduler,
      this.network,
      this.rng.fork(),
      {
        config: controlConfig,
        persistLatencyMinMs: this.options.persistLatencyMinMs ?? 1,
        persistLatencyMaxMs: this.options.persistLatencyMaxMs ?? 3,
        tornWritePercent: this.options.tornWritePercent ?? 20,
      },
      this.listener,
    );
    this.nodes.set(name, node);
  }

  /** Start (or restart) a member's processes and join it to `seeds` (names). */
  start(name: string, seeds: readonly string[] = []): void {
    const node = this.must(name);
    assert(!node.gossip.live && !node.live, `start ${name}: still running`);
    if (node.durable.storage !== undefined) node.counters.restarts++;
    node.gossip.start();
    const seedAddrs = seeds.filter((s) => s !== name).map((s) => this.must(s).gossip.addr);
    if (seedAddrs.length > 0) node.gossip.join(seedAddrs);
    node.start();
  }

  /** Start members at random times within spreadMs, each joining a random already-started member (or `seeds`). */
  startAll(names: readonly string[], opts: { spreadMs?: number; seeds?: readonly string[] } = {}): void {
    const spreadMs = opts.spreadMs ?? 0;
    const times = names.map(() => this.nowMs + this.rng.next() * spreadMs).sort((a, b) => a - b);
    const started: string[] = [];
    names.forEach((name, i) => {
      this.scheduler.at(times[i], () => {
        const seeds = opts.seeds ?? (started.length > 0 ? [started[this.rng.int(started.length)]] : []);
        this.start(name, seeds);
        started.push(name);
      });
    });
  }

  crash(name: string): void {
    const node = this.must(name);
    node.crash();
    node.gossip.stop('crashed');
  }

  /** Graceful leave: a leader hands over first; gossip announces the leave; the process then stops. */
  leave(name: string): void {
    const node = this.must(name);
    const status = node.core?.status();
    if (status !== undefined && status.role === RaftRole.Leader) {
      const heir = status.voters.find((v) => v !== name && this.isLive(v));
      if (heir !== undefined) node.act((c) => c.transferLeadership(heir));
    }
    node.gossip.leave();
    const poll = (): void => {
      if (node.gossip.live) {
        this.scheduler.after(100, poll);
        return;
      }
      node.crash();
    };
    this.scheduler.after(100, poll);
  }

  /** The process stops running (a GC pause, SIGSTOP): timers held, inboxes buffered (bounded) until resume. */
  pause(name: string): void {
    for (const addr of this.addrsOf([name])) this.network.pause(addr);
  }

  resume(name: string): void {
    for (const addr of this.addrsOf([name])) this.network.resume(addr);
  }

  /** Cut groups a and b from each other: gossip and Raft. */
  partition(a: readonly string[], b: readonly string[], opts: { oneWay?: boolean } = {}): void {
    this.network.partition(this.addrsOf(a), this.addrsOf(b), opts);
  }

  isolate(name: string): void {
    for (const addr of this.addrsOf([name])) this.network.isolate(addr);
  }

  heal(): void {
    this.network.heal();
  }

  // ---- requests ----------------------------------------------------------------------

  /**
   * Run `fn` on member `name`'s core and deliver the answer to `onResult`.
   * Returns false (and never answers) if the member is down.
   */
  request(name: string, requestId: string, fn: (core: ControlCore) => void, onResult: ResultHandler): boolean {
    const key = `${name}\u0000${requestId}`;
    assert(!this.handlers.has(key), `request ${requestId} on ${name} already in flight`);
    assert(this.handlers.size < controlClusterPendingMax, 'too many requests in flight');
    this.handlers.set(key, onResult);
    const ok = this.must(name).act(fn);
    if (!ok) this.handlers.delete(key);
    return ok;
  }

  /** Forget requests whose member crashed (they will never be answered). */
  dropRequestsOf(name: string): number {
    let n = 0;
    for (const key of [...this.handlers.keys()]) {
      if (key.startsWith(`${name}\u0000`)) {
        this.handlers.delete(key);
        n++;
      }
    }
    return n;
  }

  private readonly listener: ControlNodeListener = {
    result: (node, r) => {
      const key = `${node.name}\u0000${r.requestId}`;
      const h = this.handlers.get(key);
      if (h === undefined) return;
      this.handlers.delete(key);
      h(r, this.nowMs);
    },
    event: (node, e) => {
      if (e.type === 'leader-changed') {
        if (this.leaderChanges.length < this.logMax) this.leaderChanges.push({ atMs: this.nowMs, observer: node.name, leader: e.leader, term: e.term });
        return;
      }
      let list = this.configEvents.get(node.name);
      if (list === undefined) {
        list = [];
        this.configEvents.set(node.name, list);
      }
      if (list.length < this.logMax) list.push(e);
    },
    started: (node, clusterId, voters) => {
      this.starts.push({ atMs: this.nowMs, name: node.name, clusterId, voters });
    },
  };

  // ---- running -----------------------------------------------------------------------

  runFor(ms: number): void {
    this.scheduler.runFor(ms);
  }

  /** Run until pred holds (checked every checkEveryMs of virtual time) or maxMs pass. */
  runUntil(pred: () => boolean, maxMs: number, checkEveryMs = 10): boolean {
    if (pred()) return true;
    const endMs = this.nowMs + maxMs;
    while (this.nowMs < endMs) {
      this.scheduler.runUntil(Math.min(endMs, this.nowMs + checkEveryMs));
      if (pred()) return true;
    }
    return false;
  }

  // ---- observers ---------------------------------------------------------------------

  names(): string[] {
    return [...this.nodes.keys()];
  }

  node(name: string): ControlSimNode {
    return this.must(name);
  }

  core(name: string): ControlCore | undefined {
    return this.must(name).core;
  }

  isLive(name: string): boolean {
    return this.must(name).live;
  }

  status(name: string): ControlStatus | undefined {
    return this.must(name).core?.status();
  }

  /** The live leader with the highest term, if any. */
  leader(): string | undefined {
    let best: { name: string; term: number } | undefined;
    for (const [name, node] of this.nodes) {
      const s = node.core?.status();
      if (s?.role === RaftRole.Leader && (best === undefined || s.term > best.term)) best = { name, term: s.term };
    }
    return best?.name;
  }

  /** Voters and learners as the current leader sees them. */
  configuration(): { voters: string[]; learners: string[] } | undefined {
    const l = this.leader();
    const s = l === undefined ? undefined : this.status(l);
    return s === undefined ? undefined : { voters: s.voters, learners: s.learners };
  }

  /** Distinct cluster ids ever started (bootstrapped or joined). */
  clusterIds(): string[] {
    return [...new Set(this.starts.map((s) => s.clusterId))];
  }

  /** Distinct voter sets ever bootstrapped. */
  bootstrapVoterSets(): string[][] {
    const seen = new Map<string, string[]>();
    for (const s of this.starts) if (s.voters.length > 0) seen.set(JSON.stringify([...s.voters].sort()), [...s.voters].sort());
    return [...seen.values()];
  }

  private addrsOf(names: readonly string[]): Address[] {
    return names.flatMap((n) => {
      const node = this.must(n);
      return [node.gossip.addr, node.raftAddr];
    });
  }

  private must(name: string): ControlSimNode {
    const node = this.nodes.get(name);
    assert(node !== undefined, `no member ${name}`);
    return node;
  }
}

/** A GossipCore whose ready() also reports membership events to `onChange`. */
function notifyOnMembership(core: GossipCore, onChange: () => void): GossipCoreLike {
  return {
    join: (seeds, nowMs) => core.join(seeds, nowMs),
    leave: (nowMs) => core.leave(nowMs),
    leaveComplete: () => core.leaveComplete(),
    setTags: (tags, nowMs) => core.setTags(tags, nowMs),
    tick: (nowMs) => core.tick(nowMs),
    step: (from, msg, via, nowMs) => core.step(from, msg, via, nowMs),
    frameFailed: (to, msg, nowMs) => core.frameFailed(to, msg, nowMs),
    ready: () => {
      const r = core.ready();
      if (r.events.some((e) => e.type.startsWith('member-'))) onChange();
      return r;
    },
    nextTickAtMs: () => core.nextTickAtMs(),
    members: () => core.members(),
    localMember: () => core.localMember(),
    localHealth: () => core.localHealth(),
  };
}

/** 10.a.b.c:7946 from a slot number. */
function slotAddr(slot: number): Address {
  const n = slot + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:7946`;
}

export type { GossipPayload };
