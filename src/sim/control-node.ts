/**
 * One simulated member of the control plane: a SimGossipNode and a
 * ControlCore driven like the agent's ControlShell, on virtual time. It ticks
 * the core every tickMs, feeds it the gossip view after every membership
 * change, and drains ControlReady in the required order: persist the boot
 * commitment and Raft storage creation (durable at once), stage the Raft
 * batch and fsync it after a simulated latency (a crash in between loses
 * it), only then send Raft messages, then advance; results go to the
 * cluster's clients, tags to gossip, events to a log.
 *
 * What survives a crash (the "disk"): Raft storage, cluster id and boot
 * commitment. A restart builds a new ControlCore from them, so a member that
 * ever had Raft state never bootstraps again.
 */
import type { MemberInfo } from '../gossip/events.js';
import type { Tags } from '../gossip/messages.js';
import type { BootCommitment } from '../control/autopilot/bootstrap.js';
import { ControlCore } from '../control/control-core.js';
import type { ControlConfig } from '../control/control-config.js';
import type { ControlEvent, ControlInit, ControlReady, ControlResult } from '../control/control-types.js';
import { splitReadyMessages } from '../raft/ready-order.js';
import type { HardState, Message } from '../raft/types.js';
import { assert } from '../util/assert.js';
import type { SeededRng } from '../util/rng.js';
import type { SimNetwork } from './network.js';
import { messageSizeBytes } from './raft-host.js';
import { SimRaftStorage } from './raft-storage.js';
import type { Scheduler } from './scheduler.js';
import type { SimGossipNode } from './gossip-node.js';
import type { ControlPayload } from './control-wire.js';

export interface ControlNodeOptions {
  config: Partial<ControlConfig>;
  persistLatencyMinMs: number;
  persistLatencyMaxMs: number;
  /** Chance (percent) that a crash keeps a torn prefix of the unsynced batch. */
  tornWritePercent: number;
}

/** What the cluster learns from a node (all calls happen inside the node's events). */
export interface ControlNodeListener {
  result(node: ControlSimNode, result: ControlResult): void;
  event(node: ControlSimNode, event: ControlEvent): void;
  started(node: ControlSimNode, clusterId: string, voters: string[]): void;
}

export interface DurableControlState {
  storage?: SimRaftStorage;
  clusterId?: string;
  bootCommitment?: BootCommitment;
}

export class ControlSimNode {
  core: ControlCore | undefined;
  readonly durable: DurableControlState = {};
  /** Bumped on every start and crash: timers of an older run are ignored. */
  private generation = 0;
  private readyScheduled = false;
  private persisting = false;
  private membershipDirty = false;
  /** Term and vote as last made durable: a Ready that changes them sends nothing before its fsync. */
  private persistedHardState: HardState | undefined;
  readonly counters = { readies: 0, raftMessagesSent: 0, fsyncs: 0, restarts: 0 };

  constructor(
    readonly name: string,
    readonly raftAddr: string,
    readonly gossip: SimGossipNode,
    readonly userTags: Tags,
    private readonly scheduler: Scheduler,
    private readonly network: SimNetwork<ControlPayload>,
    private readonly rng: SeededRng,
    private readonly options: ControlNodeOptions,
    private readonly listener: ControlNodeListener,
  ) {}

  get live(): boolean {
    return this.core !== undefined;
  }

  /** Start the control process (the gossip node is started by the cluster). */
  start(): void {
    assert(this.core === undefined, `${this.name}: control already running`);
    this.generation++;
    const init: ControlInit = {};
    if (this.durable.storage !== undefined) init.raft = this.durable.storage.load();
    this.persistedHardState = init.raft?.hardState;
    if (this.durable.clusterId !== undefined) init.clusterId = this.durable.clusterId;
    if (this.durable.bootCommitment !== undefined) init.bootCommitment = structuredClone(this.durable.bootCommitment);
    this.core = new ControlCore({ ...this.options.config, name: this.name }, init, this.rng.fork(), this.scheduler.nowMs);
    this.network.register(this.raftAddr, (_from, payload) => {
      if (payload.kind !== 'raft' || this.core === undefined) return;
      // A copy per delivery: a duplicate must not share objects with its twin or the sender.
      this.core.stepRaft(structuredClone(payload.msg));
      this.kick();
    });
    this.persisting = false;
    this.readyScheduled = false;
    this.scheduleTick(this.generation, this.rng.next() * this.tickMs);
    this.membershipChanged();
    this.kick();
  }

  /** The process dies: unsynced Raft writes are lost (or torn), timers and inbox gone. */
  crash(): void {
    if (this.core === undefined) return;
    this.core = undefined;
    this.generation++;
    this.durable.storage?.crash(this.rng, this.options.tornWritePercent);
    this.network.crash(this.raftAddr);
  }

  private get tickMs(): number {
    return this.options.config.tickMs ?? 10;
  }

  /** The gossip view changed (called from the gossip core's ready()). */
  membershipChanged(): void {
    if (this.membershipDirty) return;
    this.membershipDirty = true;
    const gen = this.generation;
    this.scheduler.after(
      0,
      () => {
        this.membershipDirty = false;
        if (gen !== this.generation || this.core === undefined) return;
        const members: MemberInfo[] = this.gossip.core?.members() ?? [];
        this.core.onMembership(members, this.scheduler.nowMs);
        this.kick();
      },
      this.raftAddr,
    );
  }

  /** Run a core call from outside (client requests, transfer, remove). */
  act(fn: (core: ControlCore) => void): boolean {
    if (this.core === undefined) return false;
    fn(this.core);
    this.kick();
    return true;
  }

  private scheduleTick(gen: number, delayMs: number): void {
    this.scheduler.after(
      delayMs,
      () => {
        if (gen !== this.generation || this.core === undefined) return;
        this.core.tick(this.scheduler.nowMs);
        this.kick();
        this.scheduleTick(gen, this.tickMs);
      },
      this.raftAddr,
    );
  }

  private kick(): void {
    if (this.readyScheduled || this.persisting || this.core === undefined) return;
    this.readyScheduled = true;
    const gen = this.generation;
    this.scheduler.after(0, () => this.processReady(gen), this.raftAddr);
  }

  private processReady(gen: number): void {
    this.readyScheduled = false;
    const core = this.core;
    if (gen !== this.generation || core === undefined || this.persisting || !core.hasReady()) return;
    const rd = core.ready();
    this.counters.readies++;
    // Durable at once: a small file written and fsynced before anything else.
    if (rd.bootCommitment !== undefined) this.durable.bootCommitment = structuredClone(rd.bootCommitment);
    if (rd.startRaft !== undefined) {
      assert(this.durable.storage === undefined, `${this.name}: Raft started twice`);
      this.durable.storage = new SimRaftStorage(structuredClone(rd.startRaft.initial.conf));
      this.durable.clusterId = rd.startRaft.clusterId;
      this.persistedHardState = rd.startRaft.initial.hardState;
      this.listener.started(this, rd.startRaft.clusterId, [...rd.startRaft.initial.conf.voters]);
    }
    if (rd.compactedSnapshot !== undefined) this.durable.storage?.compact(rd.compactedSnapshot);
    // A leaving member's gossip no longer takes tag changes.
    if (rd.tags !== undefined && this.gossip.status === 'running') this.gossip.setTags({ ...this.userTags, ...rd.tags });
    for (const r of rd.results) this.listener.result(this, r);
    for (const e of rd.events) this.listener.event(this, e);
    const raft = rd.raft;
    const storage = this.durable.storage;
    if (raft === undefined || storage === undefined) {
      core.advance(rd);
      this.kick();
      return;
    }
    const mustPersist = raft.hardState !== undefined || raft.snapshot !== undefined || raft.entries.length > 0;
    if (!mustPersist) {
      this.sendAndAdvance(core, rd);
      return;
    }
    // As the real shell: the leader's appends and heartbeats leave before its own fsync (thesis §10.2.1).
    const { early, late } = splitReadyMessages(raft, this.persistedHardState);
    for (const m of early) this.sendRaft(m);
    const batch: Parameters<SimRaftStorage['write']>[0] = { entries: raft.entries };
    if (raft.hardState !== undefined) batch.hardState = raft.hardState;
    if (raft.snapshot !== undefined) batch.snapshot = raft.snapshot;
    storage.write(batch);
    this.persisting = true;
    const { persistLatencyMinMs: lo, persistLatencyMaxMs: hi } = this.options;
    this.scheduler.after(
      lo + this.rng.next() * (hi - lo),
      () => {
        if (gen !== this.generation) return;
        storage.fsync();
        this.counters.fsyncs++;
        if (raft.hardState !== undefined) this.persistedHardState = raft.hardState;
        this.persisting = false;
        this.sendAndAdvance(core, rd, late);
      },
      this.raftAddr,
    );
  }

  private sendAndAdvance(core: ControlCore, rd: ControlReady, messages: Message[] = rd.raft?.messages ?? []): void {
    for (const m of messages) this.sendRaft(m);
    core.advance(rd);
    this.kick();
  }

  private sendRaft(m: Message): void {
    this.counters.raftMessagesSent++;
    this.network.send(this.raftAddr, raftAddrOf(m.to), { kind: 'raft', msg: m }, 'stream', messageSizeBytes(m));
  }
}

export function raftAddrOf(name: string): string {
  return `raft:${name}`;
}
