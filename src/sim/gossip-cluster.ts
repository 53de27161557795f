import type { Address } from '../util/address.js';
import { assert } from '../util/assert.js';
import { SeededRng, type Rng } from '../util/rng.js';
import type { GossipMessage, PushNodeState, Tags } from '../gossip/messages.js';
import { MessageType } from '../gossip/messages.js';
import type { MemberInfo } from '../gossip/events.js';
import { presets, validateGossipConfig, type GossipConfig } from '../gossip/config.js';
import { Scheduler } from './scheduler.js';
import { SimNetwork, type LinkOptions } from './network.js';
import { MembershipView, Seen, seenFromName, seenFromState, seenName, type SeenName } from './gossip-view.js';
import { codecWire, type GossipWire } from './gossip-wire.js';
import { GossipTraffic } from './gossip-traffic.js';
import { GossipEventLog } from './gossip-events.js';
import {
  SimGossipNode,
  defaultCoreFactory,
  type AddNodeOptions,
  type GossipCoreFactory,
  type GossipCoreLike,
  type GossipPayload,
  type SimGossipHost,
} from './gossip-node.js';

export type { AddNodeOptions, GossipCoreFactory, GossipCoreLike } from './gossip-node.js';
export type { ClusterEvent } from './gossip-events.js';

/**
 * N pure GossipCores on one virtual-time Scheduler and one SimNetwork, with a
 * seeded Rng: the same seed replays the same run. Each core lives in a
 * SimGossipNode (gossip-node.ts), which drives it like the agent's shell
 * (the real GossipShell runs in the control simulation, control-cluster.ts;
 * this lighter driver is what lets a simulation reach 10,000 members).
 *
 * Cost: each scheduler event touches one core; cluster-wide questions are
 * answered from MembershipView's per-subject counters (O(1) per subject), so
 * nothing is O(N^2) per tick. See `preseed` for starting 10,000 members
 * without 10,000 joins.
 */

export type GossipPresetName = 'lan' | 'wan' | 'local';

export interface GossipClusterOptions {
  seed: number;
  preset?: GossipPresetName;
  /** Overrides applied to every node's config (after the preset). */
  config?: Partial<GossipConfig>;
  /** Default link between every pair (loss, latency, duplication...). */
  link?: Partial<LinkOptions>;
  /** Size packets and frames with this wire (default: the real codec; see gossip-wire.ts). */
  wire?: GossipWire;
  /** Encode and decode every packet and frame (catches wire bugs; costs CPU). */
  roundTrip?: boolean;
  /** Keep at most this many events in the log (older ones are dropped and counted; 0 keeps none). */
  eventLogMax?: number;
  /** Hash every event into log.digest() (default true; benchmarks turn it off). */
  eventDigest?: boolean;
  /** Hint for preallocating the view table. */
  expectedNodes?: number;
  /** Builds each node's core (default: GossipCore). Tests of the harness use a stand-in. */
  coreFactory?: GossipCoreFactory;
}

export class GossipCluster implements SimGossipHost {
  readonly scheduler: Scheduler;
  readonly network: SimNetwork<GossipPayload>;
  readonly view: MembershipView;
  readonly traffic = new GossipTraffic();
  readonly log: GossipEventLog;
  readonly wire: GossipWire;
  readonly roundTrip: boolean;
  readonly coreFactory: GossipCoreFactory;
  readonly seed: number;
  private readonly rng: SeededRng;
  private readonly baseConfig: Partial<GossipConfig>;
  private readonly preset: GossipPresetName;
  private readonly nodes: SimGossipNode[] = [];
  private readonly byName = new Map<string, SimGossipNode>();
  private readonly byAddr = new Map<Address, SimGossipNode>();
  private liveCount = 0;

  constructor(options: GossipClusterOptions) {
    this.seed = options.seed >>> 0;
    this.rng = new SeededRng(this.seed);
    this.scheduler = new Scheduler();
    this.network = new SimNetwork<GossipPayload>(this.scheduler, this.rng.fork(), { defaultLink: options.link ?? {} });
    this.preset = options.preset ?? 'lan';
    this.baseConfig = options.config ?? {};
    this.wire = options.wire ?? codecWire;
    this.roundTrip = options.roundTrip ?? false;
    this.coreFactory = options.coreFactory ?? defaultCoreFactory;
    this.view = new MembershipView(options.expectedNodes ?? 64);
    this.log = new GossipEventLog(options.eventLogMax ?? 100_000, options.eventDigest ?? true);
  }

  get nowMs(): number {
    return this.scheduler.nowMs;
  }

  // ---- SimGossipHost -----------------------------------------------------------

  forkRng(): Rng {
    return this.rng.fork();
  }

  nodeStarted(): void {
    this.liveCount++;
  }

  nodeStopped(): void {
    this.liveCount--;
  }

  // ---- the simulated processes -------------------------------------------------

  /** Create a node and start its core now (not yet joined). Returns its name. */
  addNode(name?: string, options: AddNodeOptions = {}): string {
    const node = this.createNode(name, options);
    node.start();
    return node.name;
  }

  /**
   * Add `count` nodes; they start in order at uniformly random times within
   * `spreadMs` from now (so their timers are not in phase, as with real
   * processes) and each at once joins `seeds` if given, else `seedCount`
   * random earlier (already started) nodes. Names are returned at once; the nodes are live only
   * from their start.
   */
  addAndJoin(count: number, opts: { seeds?: readonly string[]; seedCount?: number; spreadMs?: number; node?: AddNodeOptions } = {}): string[] {
    const first = this.nodes.length;
    const created: SimGossipNode[] = [];
    for (let i = 0; i < count; i++) created.push(this.createNode(undefined, opts.node ?? {}));
    const seedCount = opts.seedCount ?? 1;
    const spreadMs = opts.spreadMs ?? 0;
    // Sorted: nodes start in slot order, so every seed picked among earlier slots is already up.
    const startsMs = created.map(() => this.nowMs + (spreadMs > 0 ? this.rng.next() * spreadMs : 0)).sort((a, b) => a - b);
    for (let i = 0; i < count; i++) {
      const node = created[i];
      const slot = first + i;
      const seeds = new Set<string>(opts.seeds?.filter((x) => x !== node.name));
      if (!opts.seeds && slot > 0) for (let k = 0; k < seedCount; k++) seeds.add(this.nodes[this.rng.int(slot)].name);
      this.scheduler.at(startsMs[i], () => {
        node.start();
        if (seeds.size > 0) this.join(node.name, [...seeds]);
      });
    }
    return created.map((n) => n.name);
  }

  private createNode(name: string | undefined, options: AddNodeOptions): SimGossipNode {
    const slot = this.nodes.length;
    const nodeName = name ?? `n${String(slot).padStart(5, '0')}`;
    const addr = options.addr ?? slotAddr(slot);
    assert(!this.byAddr.has(addr), `address ${addr} already in use`);
    const base = presets[this.preset](nodeName, addr);
    const tags = options.tags ?? options.config?.tags ?? this.baseConfig.tags ?? base.tags;
    const config = validateGossipConfig({ ...base, ...this.baseConfig, ...options.config, name: nodeName, advertiseAddr: addr, tags });
    const node = new SimGossipNode(slot, nodeName, addr, config, this);
    this.nodes.push(node);
    // A second node with a taken name (a name conflict) is reachable by its address only.
    if (!this.byName.has(nodeName)) this.byName.set(nodeName, node);
    this.byAddr.set(addr, node);
    return node;
  }

  /**
   * Start a large cluster already formed, without N joins (10,000 joins would
   * each pull a full push-pull from a seed and flood the cluster with Alive
   * gossip). Every listed node's core is loaded with every listed node's own
   * state. The states array and its entries are shared by all cores (a core
   * keeps the entries by reference), so the snapshot costs O(N) memory; the
   * cores' own member tables are O(N^2) in total, about 50 bytes a pair.
   *
   * With `quiet` (default) each core gets GossipCore.seedMembers: merged as
   * a push-pull would be, but nothing queued for broadcast, since every core
   * already knows everything in the snapshot. Without it (or for a stand-in
   * core without seedMembers) each core is stepped one push-pull reply holding
   * the snapshot, and re-broadcasts every merged Alive as memberlist does.
   */
  preseed(names: readonly string[] = this.liveNames(), opts: { quiet?: boolean } = {}): void {
    const nodes = names.map((n) => this.must(n));
    const states: PushNodeState[] = nodes.map((node) => {
      const me = node.core!.localMember();
      return { name: me.name, addr: me.addr, incarnation: me.incarnation, state: me.state, tags: me.tags };
    });
    const quiet = opts.quiet ?? true;
    for (let i = 0; i < nodes.length; i++) {
      if (quiet && nodes[i].seedDirect(states)) continue;
      const peer = nodes[(i + 1) % nodes.length];
      const msg: GossipMessage = {
        type: MessageType.PushPull,
        join: false,
        reply: true,
        sourceName: peer.name,
        sourceAddr: peer.addr,
        states,
        eventLtime: 0,
      };
      nodes[i].stepDirect(peer.addr, msg, 'stream');
    }
  }

  /** Join `name` to seeds (names or addresses). */
  join(name: string, seeds: readonly string[]): void {
    this.must(name).join(seeds.map((s) => this.byName.get(s)?.addr ?? s));
  }

  /** Graceful leave: the node announces it, then stops once its Leave has gone out. */
  leave(name: string): void {
    this.must(name).leave();
  }

  /** Crash: the process is gone at once (no goodbye); in-flight messages to it are lost. */
  crash(name: string): void {
    this.must(name).stop('crashed');
  }

  /** Restart a crashed (or left) node: a new core, same name and address; joins `seeds` if given. */
  restart(name: string, seeds?: readonly string[]): void {
    const node = this.must(name);
    assert(!node.live, `restart ${name}: still running`);
    node.start();
    if (seeds) this.join(name, seeds);
  }

  /** The process stops running (a GC pause, SIGSTOP): timers held, inbox buffered (bounded) until resume. */
  pause(name: string): void {
    this.network.pause(this.must(name).addr);
  }

  resume(name: string): void {
    this.network.resume(this.must(name).addr);
  }

  /** A CPU-starved node: what it receives and every timer it runs come `extraDelayMs` late (0 clears). */
  setSlow(name: string, extraDelayMs: number): void {
    this.network.setSlow(this.must(name).addr, extraDelayMs);
  }

  partition(a: readonly string[], b: readonly string[], opts: { oneWay?: boolean } = {}): void {
    this.network.partition(
      a.map((n) => this.must(n).addr),
      b.map((n) => this.must(n).addr),
      opts,
    );
  }

  heal(): void {
    this.network.heal();
  }

  setTags(name: string, tags: Tags): void {
    this.must(name).setTags(tags);
  }

  // ---- running -----------------------------------------------------------------

  runFor(ms: number): void {
    this.scheduler.runFor(ms);
  }

  /**
   * Run until `pred` holds or `maxMs` of virtual time pass; returns whether it
   * held. Without checkEveryMs the predicate is checked after every event (use
   * O(1) predicates: allSee, countSeeing); with it, on that grid of virtual
   * time (for O(N) predicates such as converged() in large clusters).
   */
  runUntil(pred: () => boolean, maxMs: number, opts: { checkEveryMs?: number } = {}): boolean {
    if (pred()) return true;
    if (opts.checkEveryMs === undefined) return this.scheduler.runUntilCondition(pred, maxMs);
    const endMs = this.nowMs + maxMs;
    while (this.nowMs < endMs) {
      this.scheduler.runUntil(Math.min(endMs, this.nowMs + opts.checkEveryMs));
      if (pred()) return true;
    }
    return false;
  }

  // ---- observers ---------------------------------------------------------------

  names(): string[] {
    return this.nodes.map((n) => n.name);
  }

  /** Names of nodes whose process runs (including paused and leaving ones). */
  liveNames(): string[] {
    return this.nodes.filter((n) => n.live).map((n) => n.name);
  }

  get liveNodeCount(): number {
    return this.liveCount;
  }

  isLive(name: string): boolean {
    return this.must(name).live;
  }

  core(name: string): GossipCoreLike | undefined {
    return this.must(name).core;
  }

  addrOf(name: string): Address {
    return this.must(name).addr;
  }

  /** The core's own member list (ground truth, O(N)). */
  membersSeenBy(name: string): MemberInfo[] {
    return this.must(name).core?.members() ?? [];
  }

  /** What `observer` believes about `subject`, from the events its core emitted. O(1). */
  stateOf(observer: string, subject: string): SeenName {
    return seenName(this.view.get(this.must(observer).slot, subject));
  }

  /** Live observers that see `subject` in `state`. O(1). */
  countSeeing(subject: string, state: Exclude<SeenName, 'unknown'>): number {
    return this.view.countSeeing(subject, seenFromName(state));
  }

  /**
   * Every live node sees `subject` in `state`. O(1). A live subject's own
   * view counts too (it sees itself alive), so allSee(x, 'dead') for a live x
   * is false: use countSeeing for "everybody else".
   */
  allSee(subject: string, state: Exclude<SeenName, 'unknown'>): boolean {
    return this.view.countSeeing(subject, seenFromName(state)) >= this.liveCount;
  }

  /** `pred` holds for every live observer. O(live nodes) calls. */
  allAgree(pred: (observer: string, stateOf: (subject: string) => SeenName) => boolean): boolean {
    for (const n of this.nodes) {
      if (!n.live) continue;
      if (!pred(n.name, (subject) => seenName(this.view.get(n.slot, subject)))) return false;
    }
    return true;
  }

  /** Every live node sees every live node alive. O(live nodes). */
  converged(): boolean {
    for (const n of this.nodes) {
      if (n.live && this.view.countSeeing(n.name, Seen.Alive) < this.liveCount) return false;
    }
    return true;
  }

  /**
   * Compare the event-tracked view with every core's own members() (O(N^2):
   * small clusters only). Returns mismatches as text; empty means they agree.
   */
  checkViewAgainstCores(limit = 20): string[] {
    const out: string[] = [];
    for (const n of this.nodes) {
      if (!n.core) continue;
      const known = new Set<string>();
      for (const m of n.core.members()) {
        known.add(m.name);
        const tracked = this.view.get(n.slot, m.name);
        if (tracked !== seenFromState(m.state) && out.length < limit) {
          out.push(`${n.name} has ${m.name} ${seenName(seenFromState(m.state))}, its events said ${seenName(tracked)}`);
        }
      }
      for (const other of this.byName.keys()) {
        const tracked = this.view.get(n.slot, other);
        if (!known.has(other) && tracked !== Seen.Unknown && out.length < limit) {
          out.push(`${n.name} has no ${other}, its events said ${seenName(tracked)}`);
        }
      }
    }
    return out;
  }

  /** Local health (Lifeguard awareness score, 0 = healthy) of a node. */
  healthOf(name: string): number {
    return this.must(name).core?.localHealth() ?? 0;
  }

  private must(nameOrAddr: string): SimGossipNode {
    const node = this.byName.get(nameOrAddr) ?? this.byAddr.get(nameOrAddr);
    assert(node !== undefined, `no simulated node ${nameOrAddr}`);
    return node;
  }
}

/** 10.a.b.c:7946 from a slot number: unique for 2^24 slots. */
function slotAddr(slot: number): Address {
  const n = slot + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:7946`;
}
