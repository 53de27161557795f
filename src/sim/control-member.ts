/**
 * One simulated member of the control plane: the REAL shells of the agent
 * (GossipShell and ControlShell, src/agent/) over a SimClusterTransport, on
 * virtual time, composed as the Agent composes them (src/agent/agent.ts):
 *
 *  - datagrams whose first byte is WireKind.GossipPacket go to the gossip
 *    shell, StreamKind.Gossip frames too (from the address the peer's
 *    handshake proved); the ControlShell registers StreamKind.Raft itself;
 *  - the handshake check asks the gossip member table for a name's node id;
 *    refusing a live member's name under another node id suspects the
 *    identity it knows (its holder refutes if it is alive);
 *  - gossip events hand the member list to the control shell once per turn
 *    (timers.defer, as the Agent's setImmediate), and every second anyway;
 *  - the control shell's tags are merged over the user tags and the node id
 *    tag and set on the gossip core (refused while leaving, counted);
 *  - leave() is Agent.stop({ leave: true }): gossip Leave and wait for it to
 *    spread, close the control shell handing leadership off, stop gossip,
 *    close the transport.
 *
 * What the simulator supplies instead of the world: the clock (the
 * Scheduler's), timers owned by the member's address (SimShellTimers), the
 * disk (SimControlDisk: persist latency, crash loss and torn writes) and
 * entropy (a forked seeded Rng). The member's data directory (disk and node
 * id) survives crashes; everything else is rebuilt by start().
 */
import { ControlShell, type ControlEntropy, type ControlShellUnsafe } from '../agent/control-shell.js';
import { GossipShell } from '../agent/gossip-shell.js';
import { TAG_NODE_ID, type KnownMember } from '../cluster/identity.js';
import { RefuseReason, StreamKind } from '../cluster/kinds.js';
import type { ControlConfig } from '../control/control-config.js';
import type { ControlEvent } from '../control/control-types.js';
import { TAG_VOTER } from '../control/autopilot/tags.js';
import { GossipCore } from '../gossip/core.js';
import type { GossipConfig } from '../gossip/config.js';
import type { MemberEvent, MemberInfo } from '../gossip/events.js';
import { MemberState, MessageType, type Tags } from '../gossip/messages.js';
import type { Address } from '../util/address.js';
import { assert } from '../util/assert.js';
import type { SeededRng } from '../util/rng.js';
import { WireKind, peekWireKind } from '../wire/kind.js';
import type { AsyncRunner } from './async-run.js';
import type { SimClusterNet, SimClusterTransport } from './cluster-net.js';
import { SimControlDisk, type SimDiskOptions } from './control-disk.js';
import type { Scheduler } from './scheduler.js';
import { SimShellTimers } from './shell-timers.js';

/** The Agent's defaults that the composition uses. */
export const memberDefaults = {
  /** Agent: leaveTimeoutMs, the longest a leave waits for its Leave to spread. */
  leaveTimeoutMs: 5_000,
  /** Agent: the control plane gets the member list at least this often. */
  membershipIntervalMs: 1_000,
} as const;

export interface ControlMemberContext {
  scheduler: Scheduler;
  runner: AsyncRunner;
  net: SimClusterNet;
  /** The member's own generator (node id, entropy of every run, disk latencies and crash tears). */
  rng: SeededRng;
  gossip: GossipConfig;
  control: Partial<ControlConfig>;
  disk: SimDiskOptions;
  unsafe?: ControlShellUnsafe;
  listener: ControlMemberListener;
}

/** What the cluster learns from a member (all calls happen inside the member's events). */
export interface ControlMemberListener {
  event(member: SimControlMember, event: ControlEvent): void;
  /** The member made a Raft start durable (bootstrapped with `voters`, or joined with none). */
  started(member: SimControlMember, clusterId: string, voters: string[]): void;
  /** The control shell stopped on a fatal error (storage). */
  fatal(member: SimControlMember, error: unknown): void;
}

export type MemberStatus = 'new' | 'running' | 'leaving' | 'left' | 'crashed';

export class SimControlMember {
  readonly name: string;
  readonly addr: Address;
  readonly userTags: Tags;
  /** Made once per data directory, as node-id.ts does: survives crashes, not a wipe. */
  nodeId: string;
  disk: SimControlDisk;
  status: MemberStatus = 'new';
  transport: SimClusterTransport | undefined;
  gossip: GossipShell | undefined;
  /** Set once the shell opened its durable state (a few virtual ms after start). */
  control: ControlShell | undefined;
  readonly counters = { starts: 0, restarts: 0, controlTagErrors: 0 };
  private timers: SimShellTimers | undefined;
  private controlTags: Record<string, string> = {};
  private readonly fixedTags: Record<string, string>;
  private membershipScheduled = false;
  private cancelMembershipTimer: (() => void) | undefined;
  /** Bumped by every start and crash: async steps of an older run stop where they are. */
  private generation = 0;

  constructor(
    name: string,
    addr: Address,
    userTags: Tags,
    private readonly ctx: ControlMemberContext,
  ) {
    this.name = name;
    this.addr = addr;
    this.userTags = { ...userTags };
    this.nodeId = hex(ctx.rng, 4);
    this.fixedTags = { [TAG_NODE_ID]: this.nodeId };
    if (ctx.control.eligible === false) this.fixedTags[TAG_VOTER] = 'false';
    this.disk = this.newDisk();
  }

  private newDisk(): SimControlDisk {
    return new SimControlDisk(this.ctx.disk, (previous, next) => {
      const conf = next.initialConf;
      if (conf === undefined || next.clusterId === undefined) return;
      if (previous.initialConf !== undefined && previous.clusterId === next.clusterId && JSON.stringify(previous.initialConf) === JSON.stringify(conf)) return;
      this.ctx.listener.started(this, next.clusterId, [...conf.voters]);
    });
  }

  /** A replaced disk or a mistaken rm: while stopped, the data directory is lost; the next start makes a new node id. */
  wipe(): void {
    assert(!this.live, `${this.name} must be stopped to wipe its data directory`);
    this.disk = this.newDisk();
    this.nodeId = hex(this.ctx.rng, 4);
    this.fixedTags[TAG_NODE_ID] = this.nodeId;
  }

  /** The process runs (paused or not, leaving or not). */
  get live(): boolean {
    return this.status === 'running' || this.status === 'leaving';
  }

  /** The gossip member table (empty when not running). */
  members(): MemberInfo[] {
    return this.live ? (this.gossip?.core.members() ?? []) : [];
  }

  /** Start the process: transport, gossip (joining seedAddrs), then the control shell from its disk. */
  start(seedAddrs: readonly Address[] = []): void {
    assert(!this.live, `${this.name} is already running`);
    if (this.disk.used) this.counters.restarts++;
    this.counters.starts++;
    const gen = ++this.generation;
    this.status = 'running';
    const { scheduler, runner, net, rng } = this.ctx;
    const timers = new SimShellTimers(scheduler, runner, this.addr);
    this.timers = timers;
    this.controlTags = {};
    this.membershipScheduled = false;
    const transport = net.open(
      { clusterLabel: '', clusterId: '', name: this.name, nodeId: this.nodeId, addr: this.addr },
      {
        known: (n) => this.knownMember(n),
        onRefused: (peer, reason) => {
          if (reason === RefuseReason.NodeId) this.suspectIdentity(peer.name);
        },
      },
    );
    this.transport = transport;
    const core = new GossipCore({ ...this.ctx.gossip, tags: this.tags() }, rng.fork(), scheduler.nowMs);
    const gossip = new GossipShell({
      core,
      transport: {
        sendPacket: (to, data) => transport.sendPacket(to, data),
        sendFrame: (to, data) => transport.send(to, StreamKind.Gossip, data),
      },
      clock: () => scheduler.nowMs,
      timers,
      onEvent: (e) => this.onGossipEvent(e),
    });
    this.gossip = gossip;
    transport.onPacket((from, data) => {
      const kind = peekWireKind(data);
      if (kind === WireKind.GossipPacket || kind === undefined) gossip.handlePacket(from, data);
    });
    // A stream's sender is the member its handshake proved, at the address it advertises.
    transport.handle(StreamKind.Gossip, { message: (peer, data) => gossip.handleFrame(peer.addr, data) });
    gossip.start();
    if (seedAddrs.length > 0) this.join(seedAddrs);
    runner.markAsync();
    this.openControl(gen, transport, timers).catch((e: unknown) => {
      // The agent stops when its control plane cannot start; here the run reports it.
      if (gen === this.generation) this.ctx.listener.fatal(this, e);
    });
  }

  /** Join more seeds (gossip push-pull), as Agent.join. */
  join(seedAddrs: readonly Address[]): void {
    const seeds = seedAddrs.filter((a) => a !== this.addr);
    if (!this.live || seeds.length === 0) return;
    this.gossip?.act((core, nowMs) => core.join([...seeds], nowMs));
  }

  /** Power loss: the process is gone at once; what its disk had not fsynced is lost (or torn). */
  crash(): void {
    if (!this.live) return;
    this.generation++;
    this.status = 'crashed';
    this.timers?.kill();
    this.gossip?.stop();
    this.transport?.crash();
    this.disk.crash(this.ctx.rng);
    this.control = undefined;
    this.gossip = undefined;
    this.transport = undefined;
    this.timers = undefined;
  }

  /** Graceful leave and stop, as Agent.stop({ leave: true }). Resolves when the process has stopped (or crashed meanwhile). */
  async leave(): Promise<void> {
    if (this.status !== 'running') return;
    const gen = this.generation;
    const gossip = this.gossip!;
    this.status = 'leaving';
    gossip.act((core, nowMs) => core.leave(nowMs));
    await gossip.waitFor(() => gossip.core.leaveComplete(), memberDefaults.leaveTimeoutMs);
    if (gen !== this.generation) return;
    this.cancelMembershipTimer?.();
    // Best effort on the way out, as the agent: everything acknowledged is already durable.
    await this.control?.close({ handOff: true }).catch(() => undefined);
    if (gen !== this.generation) return;
    gossip.stop();
    await this.transport?.close();
    if (gen !== this.generation) return;
    this.timers?.kill();
    this.status = 'left';
    this.control = undefined;
    this.gossip = undefined;
    this.transport = undefined;
    this.timers = undefined;
  }

  private async openControl(gen: number, transport: SimClusterTransport, timers: SimShellTimers): Promise<void> {
    const { scheduler, rng } = this.ctx;
    const runRng = rng.fork();
    const entropy: ControlEntropy = {
      seed: () => Promise.resolve(runRng.int(0x100000000)),
      clientTag: () => hex(runRng, 4),
    };
    const shell = await ControlShell.open({
      name: this.name,
      transport,
      core: { ...this.ctx.control, nodeId: this.ctx.control.nodeId ?? this.nodeId },
      clock: () => scheduler.nowMs,
      timers,
      disk: this.disk.open({ scheduler, runner: this.ctx.runner, owner: this.addr, rng: runRng.fork() }),
      entropy,
      ...(this.ctx.unsafe === undefined ? {} : { unsafe: this.ctx.unsafe }),
      onEvent: (e) => this.ctx.listener.event(this, e),
      onTags: (tags) => this.onControlTags(tags),
      onFatal: (e) => this.ctx.listener.fatal(this, e),
    });
    if (gen !== this.generation || this.status !== 'running') return; // the process died while opening
    this.control = shell;
    shell.start();
    this.cancelMembershipTimer = timers.every(memberDefaults.membershipIntervalMs, () => this.scheduleMembership());
    this.scheduleMembership();
  }

  private tags(): Tags {
    return { ...this.userTags, ...this.fixedTags, ...this.controlTags };
  }

  private onControlTags(tags: Record<string, string>): void {
    this.controlTags = tags;
    if (!this.live) return;
    try {
      this.gossip?.act((core, nowMs) => core.setTags(this.tags(), nowMs));
    } catch {
      // Leaving (gossip refuses new tags), or over the size limit: keep the old tags, count it.
      this.counters.controlTagErrors++;
    }
    this.scheduleMembership();
  }

  private onGossipEvent(e: MemberEvent): void {
    if (e.type === 'push-pull-complete' || e.type === 'user-event') return;
    this.scheduleMembership();
  }

  /** Give the control shell the gossip view, once per turn. */
  private scheduleMembership(): void {
    if (this.control === undefined || this.membershipScheduled || this.timers === undefined) return;
    this.membershipScheduled = true;
    const gen = this.generation;
    this.timers.defer(() => {
      this.membershipScheduled = false;
      if (gen !== this.generation || this.status !== 'running' && this.status !== 'leaving') return;
      const members = this.gossip?.core.members();
      if (members !== undefined) this.control?.onMembership(members);
    });
  }

  /** A peer presented a live member's name with another node id: suspect the identity we know (Agent.suspectIdentity). */
  private suspectIdentity(name: string): void {
    const m = this.gossip?.core.member(name);
    if (m === undefined || m.state !== MemberState.Alive || this.status !== 'running') return;
    this.gossip?.act((core, nowMs) => core.step(this.addr, { type: MessageType.Suspect, incarnation: m.incarnation, name, from: this.name }, 'packet', nowMs));
  }

  /** The member table's view of a name, for the transport's handshake check (Agent.knownMember). */
  private knownMember(name: string): KnownMember | undefined {
    const m = this.gossip?.core.member(name);
    if (m === undefined) return undefined;
    return { nodeId: m.tags[TAG_NODE_ID] ?? '', live: m.state === MemberState.Alive || m.state === MemberState.Suspect };
  }
}

function hex(rng: SeededRng, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += rng.int(256).toString(16).padStart(2, '0');
  return s;
}
