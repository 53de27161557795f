/**
 * One simulated Raft server: the shell around a pure RaftNode, as the agent's
 * shell will be, on virtual time. It ticks every tickMs, drains Ready in the
 * order the core requires (persist with fsync, then send, then apply, then
 * answer reads, then advance), compacts the log into KvMachine snapshots, and
 * reports what it applied to the cluster's monitors and clients.
 *
 * Persisting takes virtual time (persistLatencyMs): a crash can land between
 * the write and the fsync, and then loses the batch (see raft-storage.ts).
 */
import { KvMachine, type KvApplied } from './kv-machine.js';
import { RaftNode } from '../raft/node.js';
import { splitReadyMessages } from '../raft/ready-order.js';
import type { RaftConfig } from '../raft/config.js';
import { EntryType, type Entry, type HardState, type Message, type NodeId, type Ready } from '../raft/types.js';
import type { RaftStatus } from '../raft/status.js';
import type { SeededRng } from '../util/rng.js';
import type { Scheduler } from './scheduler.js';
import type { SimNetwork } from './network.js';
import type { PersistBatch, SimRaftStorage } from './raft-storage.js';

export interface RaftHostOptions {
  tickMs: number;
  persistLatencyMinMs: number;
  persistLatencyMaxMs: number;
  /** Compact when this many entries are applied beyond the last snapshot. */
  snapshotEveryEntries: number;
}

/** What a host tells the cluster; all calls happen inside the host's events. */
export interface RaftHostListener {
  applied(host: RaftHost, entry: Entry, result: KvApplied | null): void;
  /** A ReadIndex request completed: the machine has applied at least `index`. */
  readReady(host: RaftHost, contextKey: string, index: number): void;
  proposalDropped(host: RaftHost, contextKey: string, code: string, leader: NodeId | ''): void;
  /** The host's role or leader changed (softState). */
  roleChanged(host: RaftHost, status: RaftStatus): void;
}

/** ReadIndex requests a host holds while its apply catches up; past it they are dropped (the client retries). */
export const waitingReadsMax = 10_000;

/** Every message has at least this many bytes of header on the simulated wire. */
const messageHeaderBytes = 64;
const entryFramingBytes = 16;

function messageSizeBytes(m: Message): number {
  let n = messageHeaderBytes + m.context.length;
  for (const e of m.entries) n += e.data.length + entryFramingBytes;
  if (m.snapshot !== undefined) n += m.snapshot.data.length + 32;
  return n;
}

const utf8 = new TextDecoder();

export function contextKey(context: Uint8Array): string {
  return utf8.decode(context);
}

export class RaftHost {
  readonly node: RaftNode;
  readonly machine = new KvMachine();
  appliedIndex = 0;
  snapshotIndex = 0;
  /** ReadIndex requests waiting for appliedIndex to reach their index. */
  private readonly waitingReads: { index: number; key: string }[] = [];
  private readyScheduled = false;
  private persisting = false;
  private stopped = false;
  private tickTimer = -1;
  /** Term and vote as last made durable: a Ready that changes them sends nothing before its fsync. */
  private persistedHardState: HardState | undefined;
  readonly counters = { readies: 0, messagesSent: 0, entriesApplied: 0, compactions: 0, snapshotsRestored: 0, readsDropped: 0 };

  constructor(
    readonly id: NodeId,
    config: RaftConfig,
    private readonly storage: SimRaftStorage,
    private readonly scheduler: Scheduler,
    private readonly network: SimNetwork<Message>,
    private readonly rng: SeededRng,
    private readonly options: RaftHostOptions,
    private readonly listener: RaftHostListener,
  ) {
    const init = storage.load();
    this.persistedHardState = init.hardState;
    if (init.snapshot !== undefined) {
      this.machine.restore(init.snapshot.data);
      this.appliedIndex = init.snapshot.meta.index;
      this.snapshotIndex = init.snapshot.meta.index;
    }
    this.node = new RaftNode(config, init, rng.fork());
    // A copy per delivery: a duplicated packet must not share objects with its twin or the sender.
    network.register(id, (_from, msg) => this.receive(structuredClone(msg)));
    this.scheduleTick(rng.next() * options.tickMs);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** The process dies: timers and in-flight fsync are gone (the network cancels owner events). */
  stop(): void {
    this.stopped = true;
    this.scheduler.cancel(this.tickTimer);
  }

  status(): RaftStatus {
    return this.node.status();
  }

  propose(data: Uint8Array, context: Uint8Array): void {
    this.node.propose(data, context);
    this.kick();
  }

  readIndex(context: Uint8Array): void {
    this.node.readIndex(context);
    this.kick();
  }

  /** Run a core call that may produce a Ready (conf change, transfer, campaign). */
  act(fn: (node: RaftNode) => void): void {
    fn(this.node);
    this.kick();
  }

  private receive(msg: Message): void {
    if (this.stopped) return;
    this.node.step(msg);
    this.kick();
  }

  private scheduleTick(delayMs: number): void {
    this.tickTimer = this.scheduler.after(
      delayMs,
      () => {
        if (this.stopped) return;
        this.node.tick();
        this.kick();
        this.scheduleTick(this.options.tickMs);
      },
      this.id,
    );
  }

  /** Process Ready soon (coalescing everything that happens at this instant). */
  private kick(): void {
    if (this.readyScheduled || this.persisting || this.stopped) return;
    this.readyScheduled = true;
    this.scheduler.after(0, () => this.processReady(), this.id);
  }

  private processReady(): void {
    this.readyScheduled = false;
    if (this.stopped || this.persisting || !this.node.hasReady()) return;
    const rd = this.node.ready();
    this.counters.readies++;
    const mustPersist = rd.hardState !== undefined || rd.snapshot !== undefined || rd.entries.length > 0;
    if (!mustPersist) {
      this.afterPersist(rd, rd.messages);
      return;
    }
    // As the real shells: the leader's appends and heartbeats leave before its own fsync (thesis §10.2.1).
    const { early, late } = splitReadyMessages(rd, this.persistedHardState);
    this.sendAll(early);
    const batch: PersistBatch = { entries: rd.entries };
    if (rd.hardState !== undefined) batch.hardState = rd.hardState;
    if (rd.snapshot !== undefined) batch.snapshot = rd.snapshot;
    this.storage.write(batch);
    this.persisting = true;
    const { persistLatencyMinMs: lo, persistLatencyMaxMs: hi } = this.options;
    this.scheduler.after(
      lo + this.rng.next() * (hi - lo),
      () => {
        if (this.stopped) return;
        this.storage.fsync();
        if (rd.hardState !== undefined) this.persistedHardState = rd.hardState;
        this.persisting = false;
        this.afterPersist(rd, late);
      },
      this.id,
    );
  }

  private sendAll(messages: Message[]): void {
    for (const m of messages) {
      this.counters.messagesSent++;
      this.network.send(this.id, m.to, m, 'packet', messageSizeBytes(m));
    }
  }

  private afterPersist(rd: Ready, messages: Message[]): void {
    this.sendAll(messages);
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > this.appliedIndex) {
      this.machine.restore(rd.snapshot.data);
      this.appliedIndex = rd.snapshot.meta.index;
      this.snapshotIndex = rd.snapshot.meta.index;
      this.counters.snapshotsRestored++;
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.appliedIndex) continue;
      const result = e.type === EntryType.Normal ? this.machine.apply(e.data) : null;
      this.appliedIndex = e.index;
      this.counters.entriesApplied++;
      this.listener.applied(this, e, result);
    }
    for (const d of rd.droppedProposals) this.listener.proposalDropped(this, contextKey(d.context), d.code, d.leader);
    for (const rs of rd.readStates) {
      if (this.waitingReads.length >= waitingReadsMax) this.counters.readsDropped++;
      else this.waitingReads.push({ index: rs.index, key: contextKey(rs.context) });
    }
    this.node.advance(rd);
    this.answerReads();
    if (rd.softState !== undefined) this.listener.roleChanged(this, this.node.status());
    this.maybeCompact();
    this.kick();
  }

  private answerReads(): void {
    for (let i = 0; i < this.waitingReads.length; ) {
      const r = this.waitingReads[i];
      if (r.index <= this.appliedIndex) {
        this.waitingReads.splice(i, 1);
        this.listener.readReady(this, r.key, r.index);
      } else i++;
    }
  }

  /** Snapshot the machine at appliedIndex and compact the log there (status() reflects the conf as of appliedIndex). */
  private maybeCompact(): void {
    if (this.appliedIndex - this.snapshotIndex < this.options.snapshotEveryEntries) return;
    const term = this.storage.entry(this.appliedIndex)?.term;
    if (term === undefined) return;
    const status = this.node.status();
    const data = this.machine.snapshot();
    this.node.compact(this.appliedIndex, data);
    this.storage.compact({ meta: { index: this.appliedIndex, term, conf: { voters: status.voters, learners: status.learners } }, data });
    this.snapshotIndex = this.appliedIndex;
    this.counters.compactions++;
  }
}
