/**
 * N members of the control plane on ONE virtual-time Scheduler and ONE
 * simulated network, each running the agent's real GossipShell and
 * ControlShell over a SimClusterTransport (control-member.ts): gossip
 * datagrams, push-pull frames and Raft all travel through the cluster
 * transport's twin, with seeded faults. Crash is a power loss (unsynced
 * writes lost or torn); restart loads the member's disk (and never
 * bootstraps again); leave is the agent's graceful stop; partitions, pauses
 * and loss apply to everything a member sends and receives. Clients call the
 * shells' own API (write, read, removePeer, transferLeader) through
 * `request`.
 *
 * The shells are async (the Ready loop awaits its fsync), so running the
 * simulation is too: `await c.runFor(ms)`, `await c.runUntil(pred, maxMs)`
 * (async-run.ts explains how promise continuations stay on virtual time and
 * deterministic).
 */
import type { ControlShell, ControlShellUnsafe } from '../agent/control-shell.js';
import type { ControlConfig } from '../control/control-config.js';
import type { ControlCore } from '../control/control-core.js';
import type { ControlEvent, ControlResult, ControlStatus } from '../control/control-types.js';
import { presets, validateGossipConfig, type GossipConfig } from '../gossip/config.js';
import type { MemberInfo } from '../gossip/events.js';
import type { Tags } from '../gossip/messages.js';
import { RaftRole } from '../raft/types.js';
import type { Address } from '../util/address.js';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { SeededRng } from '../util/rng.js';
import { AsyncRunner } from './async-run.js';
import { SimClusterNet, type SimWire } from './cluster-net.js';
import { SimControlMember, type ControlMemberListener } from './control-member.js';
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
  /** Negative controls only: every member's shell breaks this rule. */
  unsafe?: ControlShellUnsafe;
  /** Drain microtasks after every event, not only marked ones (to check the marks; slower). */
  drainEveryEvent?: boolean;
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
  readonly runner = new AsyncRunner(this.scheduler);
  readonly network: SimNetwork<SimWire>;
  readonly net: SimClusterNet;
  readonly seed: number;
  readonly starts: RaftStart[] = [];
  readonly leaderChanges: LeaderChange[] = [];
  /** config-changed events per observer (bounded by logMax). */
  readonly configEvents = new Map<string, Extract<ControlEvent, { type: 'config-changed' }>[]>();
  /**
   * Control shells that could not open or stopped on a fatal (storage)
   * error. The simulated disk never fails by itself, so any is a bug: the
   * next runFor / runUntil throws it.
   */
  readonly fatalErrors: { atMs: number; name: string; error: unknown }[] = [];
  private fatalReported = 0;
  private readonly rng: SeededRng;
  private readonly members = new Map<string, SimControlMember>();
  /** Requests awaiting their answer, per member (a crash forgets them: they are never answered). */
  private readonly inFlight = new Map<string, Set<object>>();
  private inFlightTotal = 0;
  private readonly logMax: number;
  private slots = 0;

  constructor(private readonly options: ControlClusterOptions) {
    this.seed = options.seed >>> 0;
    this.rng = new SeededRng(this.seed);
    this.network = new SimNetwork<SimWire>(this.scheduler, this.rng.fork(), { defaultLink: options.link ?? {} });
    this.net = new SimClusterNet(this.scheduler, this.network, this.rng.fork(), this.runner);
    this.runner.drainEveryEvent = options.drainEveryEvent ?? false;
    this.logMax = options.logMax ?? 100_000;
  }

  get nowMs(): number {
    return this.scheduler.nowMs;
  }

  // ---- members -----------------------------------------------------------------------

  /** Create a member (not started). `tags` are its user tags (zone, voter). */
  add(name: string, tags: Tags = {}, control: Partial<ControlConfig> = {}): void {
    assert(!this.members.has(name), `member ${name} exists`);
    const addr = slotAddr(this.slots++);
    const gossip = validateGossipConfig({ ...presets.local(name, addr), ...this.options.gossip, name, advertiseAddr: addr, tags });
    const member = new SimControlMember(name, addr, tags, {
      scheduler: this.scheduler,
      runner: this.runner,
      net: this.net,
      rng: this.rng.fork(),
      gossip,
      control: { ...this.options.control, ...control, eligible: tags.voter !== 'false' },
      disk: {
        persistLatencyMinMs: this.options.persistLatencyMinMs ?? 1,
        persistLatencyMaxMs: this.options.persistLatencyMaxMs ?? 3,
        tornWritePercent: this.options.tornWritePercent ?? 20,
      },
      ...(this.options.unsafe === undefined ? {} : { unsafe: this.options.unsafe }),
      listener: this.listener,
    });
    this.members.set(name, member);
  }

  /** Start (or restart) a member's process and join it to `seeds` (names). */
  start(name: string, seeds: readonly string[] = []): void {
    const member = this.must(name);
    assert(!member.live, `start ${name}: still running`);
    member.start(seeds.filter((s) => s !== name).map((s) => this.must(s).addr));
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

  /** Gossip join of a running member to more seeds (names). */
  join(name: string, seeds: readonly string[]): void {
    this.must(name).join(seeds.map((s) => this.must(s).addr));
  }

  /** Power loss of a member's host: requests it was serving are never answered. */
  crash(name: string): void {
    this.must(name).crash();
    this.inFlightTotal -= this.inFlight.get(name)?.size ?? 0;
    this.inFlight.delete(name);
  }

  /** The crashed member's data directory is lost (a replaced disk): it restarts empty, with a new node id. */
  wipe(name: string): void {
    this.must(name).wipe();
  }

  /** Graceful leave (the agent's stop with leave): gossip Leave, leadership handed off, then the process stops. */
  leave(name: string): void {
    this.runner.markAsync();
    void this.must(name).leave();
  }

  /** The process stops running (a GC pause, SIGSTOP): timers held, inbox buffered (bounded) until resume. */
  pause(name: string): void {
    this.network.pause(this.must(name).addr);
  }

  resume(name: string): void {
    this.network.resume(this.must(name).addr);
  }

  /** Cut groups a and b from each other: gossip and Raft alike (one address per member). */
  partition(a: readonly string[], b: readonly string[], opts: { oneWay?: boolean } = {}): void {
    this.network.partition(this.addrsOf(a), this.addrsOf(b), opts);
  }

  isolate(name: string): void {
    this.network.isolate(this.must(name).addr);
  }

  heal(): void {
    this.network.heal();
  }

  // ---- requests ----------------------------------------------------------------------

  /**
   * Call the shell API of member `name` (`call` gets its ControlShell) and
   * deliver the outcome to `onResult` as a ControlResult tagged `requestId`,
   * at the virtual time it settles. Returns false (and never answers) if the
   * member's control plane is not running; a member that crashes never answers.
   */
  request(name: string, requestId: string, call: (shell: ControlShell) => Promise<unknown>, onResult: ResultHandler): boolean {
    const member = this.must(name);
    const shell = member.live ? member.control : undefined;
    if (shell === undefined) return false;
    assert(this.inFlightTotal < controlClusterPendingMax, 'too many requests in flight');
    const token = {};
    let pending = this.inFlight.get(name);
    if (pending === undefined) {
      pending = new Set();
      this.inFlight.set(name, pending);
    }
    pending.add(token);
    this.inFlightTotal++;
    const done = (r: ControlResult): void => {
      // Forgotten when its member crashed: a dead process answers nothing.
      if (this.inFlight.get(name)?.delete(token) !== true) return;
      this.inFlightTotal--;
      onResult(r, this.nowMs);
    };
    let p: Promise<unknown>;
    try {
      p = call(shell);
    } catch (e) {
      p = Promise.reject(e);
    }
    this.runner.markAsync();
    p.then(
      (value) => done({ requestId, ok: true, value }),
      (e: unknown) => done({ requestId, ok: false, error: e instanceof ShoalError ? e : new ShoalError(ErrorCode.Unavailable, String(e), { cause: e }) }),
    );
    return true;
  }

  /** Run fn at delayMs from now (test drivers, clients); it may call the shells' async API. */
  after(delayMs: number, fn: () => void): void {
    this.scheduler.after(delayMs, () => {
      this.runner.markAsync();
      fn();
    });
  }

  private readonly listener: ControlMemberListener = {
    event: (member, e) => {
      if (e.type === 'leader-changed') {
        if (this.leaderChanges.length < this.logMax) this.leaderChanges.push({ atMs: this.nowMs, observer: member.name, leader: e.leader, term: e.term });
        return;
      }
      let list = this.configEvents.get(member.name);
      if (list === undefined) {
        list = [];
        this.configEvents.set(member.name, list);
      }
      if (list.length < this.logMax) list.push(e);
    },
    started: (member, clusterId, voters) => {
      this.starts.push({ atMs: this.nowMs, name: member.name, clusterId, voters });
    },
    fatal: (member, error) => {
      this.fatalErrors.push({ atMs: this.nowMs, name: member.name, error });
    },
  };

  // ---- running -----------------------------------------------------------------------

  async runFor(ms: number): Promise<void> {
    await this.runner.runFor(ms);
    this.throwFatal();
  }

  /** Run until pred holds (checked every checkEveryMs of virtual time) or maxMs pass. */
  async runUntil(pred: () => boolean, maxMs: number, checkEveryMs = 10): Promise<boolean> {
    const held = await this.runner.runUntilCondition(pred, maxMs, checkEveryMs);
    this.throwFatal();
    return held;
  }

  private throwFatal(): void {
    if (this.fatalErrors.length === this.fatalReported) return;
    const f = this.fatalErrors[this.fatalReported];
    this.fatalReported = this.fatalErrors.length;
    throw new Error(`${f.name}'s control plane failed at ${f.atMs.toFixed(0)} ms: ${f.error instanceof Error ? f.error.message : String(f.error)}`, { cause: f.error });
  }

  // ---- observers ---------------------------------------------------------------------

  names(): string[] {
    return [...this.members.keys()];
  }

  node(name: string): SimControlMember {
    return this.must(name);
  }

  /** The running control shell of a member, if any. */
  shell(name: string): ControlShell | undefined {
    const m = this.must(name);
    return m.live ? m.control : undefined;
  }

  core(name: string): ControlCore | undefined {
    return this.shell(name)?.core;
  }

  /** The member's process runs (its control shell may still be opening). */
  isLive(name: string): boolean {
    return this.must(name).live;
  }

  status(name: string): ControlStatus | undefined {
    return this.core(name)?.status();
  }

  /** The gossip member table of a running member. */
  membersSeenBy(name: string): MemberInfo[] {
    return this.must(name).members();
  }

  /** The live leader with the highest term, if any. */
  leader(): string | undefined {
    let best: { name: string; term: number } | undefined;
    for (const name of this.members.keys()) {
      const s = this.status(name);
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
    return names.map((n) => this.must(n).addr);
  }

  private must(name: string): SimControlMember {
    const m = this.members.get(name);
    assert(m !== undefined, `no member ${name}`);
    return m;
  }
}

/** 10.a.b.c:7946 from a slot number. */
function slotAddr(slot: number): Address {
  const n = slot + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:7946`;
}
