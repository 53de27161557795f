/**
 * A simulated Raft cluster: N RaftHosts (RaftNode + KvMachine + simulated disk)
 * on one Scheduler and SimNetwork, with crash/restart, and the safety monitors
 * that watch every run as it happens:
 *  - Election Safety: at most one leader per term;
 *  - State Machine Safety: no two servers apply different entries at an index;
 *  - Leader Completeness: a new leader's log holds every entry applied anywhere;
 * plus the routing of client requests to hosts and of results back to clients.
 */
import { validateRaftConfig, type RaftConfig } from '../raft/config.js';
import type { KvApplied } from './kv-machine.js';
import { bytesEqual } from '../raft/message.js';
import { RaftRole, type ConfState, type Entry, type Message, type NodeId } from '../raft/types.js';
import type { RaftStatus } from '../raft/status.js';
import { SeededRng } from '../util/rng.js';
import { SimNetwork, type LinkOptions } from './network.js';
import { RaftHost, type RaftHostListener, type RaftHostOptions } from './raft-host.js';
import { SimRaftStorage } from './raft-storage.js';
import { Scheduler } from './scheduler.js';

export interface RaftClusterOptions {
  seed: number;
  /** Every server that may ever run. */
  nodeIds: NodeId[];
  /** Bootstrap membership, the same on every server (each bootstraps from it on first start). */
  conf: ConfState;
  raft?: Partial<Omit<RaftConfig, 'id'>>;
  host?: Partial<RaftHostOptions>;
  /** Probability (percent) that a crash during a write keeps a torn prefix of its entries. */
  tornWritePercent?: number;
  link?: Partial<LinkOptions>;
  /** Negative control: disks that lose everything written since start on a crash (see SimRaftStorage). */
  lyingDisks?: boolean;
  /** Negative control: ReadIndex requests answered at once from the local state (stale reads). */
  staleReads?: boolean;
}

export const raftClusterDefaults = {
  tickMs: 10,
  /** 100-200 ms election timeouts with 10 ms ticks. */
  electionTicks: 10,
  heartbeatTicks: 1,
  /** An SSD-ish fsync. */
  persistLatencyMinMs: 0.2,
  persistLatencyMaxMs: 2,
  snapshotEveryEntries: 40,
  tornWritePercent: 30,
  /** Small messages and snapshot chunks, so batching and chunking are exercised. */
  maxSizePerMsgBytes: 2048,
  snapshotChunkBytes: 512,
} as const;

/** Bound on violations kept for the report (the first ones matter). */
const violationsMax = 50;

export type ResultHandler = (from: NodeId, applied: KvApplied) => void;
export type DropHandler = (from: NodeId, code: string, leader: NodeId | '') => void;
export type ReadHandler = (from: NodeId, index: number, read: (key: string) => string | null) => void;

export class RaftCluster implements RaftHostListener {
  readonly scheduler = new Scheduler();
  readonly rng: SeededRng;
  readonly network: SimNetwork<Message>;
  readonly storages = new Map<NodeId, SimRaftStorage>();
  private readonly hosts = new Map<NodeId, RaftHost>();
  private readonly hostOptions: RaftHostOptions;
  private readonly configs = new Map<NodeId, RaftConfig>();
  private readonly tornWritePercent: number;

  /** Election Safety monitor: term -> leader. */
  readonly leaderByTerm = new Map<number, NodeId>();
  /** State Machine Safety monitor: index -> the first entry applied there by anyone. */
  readonly appliedByIndex = new Map<number, { term: number; data: Uint8Array; by: NodeId }>();
  readonly violations: string[] = [];
  readonly stats = { crashes: 0, restarts: 0, leaderChanges: 0, snapshotsRestored: 0, compactions: 0 };

  /** Clients waiting on a host, by request key; cleared when the host crashes. */
  private readonly resultWaiters = new Map<NodeId, Map<string, { onResult: ResultHandler; onDrop: DropHandler }>>();
  private readonly readWaiters = new Map<NodeId, Map<string, ReadHandler>>();

  constructor(readonly options: RaftClusterOptions) {
    this.rng = new SeededRng(options.seed);
    this.network = new SimNetwork<Message>(this.scheduler, this.rng.fork(), {
      packetMaxBytes: 1 << 24,
      defaultLink: options.link ?? {},
    });
    const d = raftClusterDefaults;
    this.hostOptions = {
      tickMs: d.tickMs,
      persistLatencyMinMs: d.persistLatencyMinMs,
      persistLatencyMaxMs: d.persistLatencyMaxMs,
      snapshotEveryEntries: d.snapshotEveryEntries,
      ...options.host,
    };
    this.tornWritePercent = options.tornWritePercent ?? d.tornWritePercent;
    for (const id of options.nodeIds) {
      this.configs.set(
        id,
        validateRaftConfig({
          electionTicks: d.electionTicks,
          heartbeatTicks: d.heartbeatTicks,
          maxSizePerMsgBytes: d.maxSizePerMsgBytes,
          maxInflightBytes: d.maxSizePerMsgBytes * 64,
          snapshotChunkBytes: d.snapshotChunkBytes,
          ...options.raft,
          id,
        }),
      );
      this.storages.set(id, new SimRaftStorage(options.conf, options.lyingDisks ?? false));
      this.resultWaiters.set(id, new Map());
      this.readWaiters.set(id, new Map());
    }
  }

  /** Start every server (each from its own storage). */
  start(): void {
    for (const id of this.options.nodeIds) if (!this.hosts.has(id)) this.startHost(id);
  }

  get nowMs(): number {
    return this.scheduler.nowMs;
  }

  host(id: NodeId): RaftHost | undefined {
    return this.hosts.get(id);
  }

  isUp(id: NodeId): boolean {
    return this.hosts.has(id);
  }

  upIds(): NodeId[] {
    return this.options.nodeIds.filter((id) => this.hosts.has(id));
  }

  /** The live leader with the highest term, if any. */
  leader(): RaftHost | undefined {
    let best: RaftHost | undefined;
    let bestTerm = -1;
    for (const h of this.hosts.values()) {
      const s = h.status();
      if (s.role === RaftRole.Leader && s.term > bestTerm) {
        best = h;
        bestTerm = s.term;
      }
    }
    return best;
  }

  /** Kill a server: its timers, in-flight messages, unsynced writes and waiting clients go. */
  crash(id: NodeId): void {
    const h = this.hosts.get(id);
    if (h === undefined) return;
    h.stop();
    this.stats.snapshotsRestored += h.counters.snapshotsRestored;
    this.stats.compactions += h.counters.compactions;
    this.hosts.delete(id);
    this.network.crash(id);
    this.storages.get(id)!.crash(this.rng, this.tornWritePercent);
    this.resultWaiters.get(id)!.clear();
    this.readWaiters.get(id)!.clear();
    this.stats.crashes++;
  }

  restart(id: NodeId): void {
    if (this.hosts.has(id)) return;
    this.startHost(id);
    this.stats.restarts++;
  }

  /** Propose a client command on `id`; the result comes back when that server applies it. */
  submit(id: NodeId, key: string, data: Uint8Array, onResult: ResultHandler, onDrop: DropHandler): boolean {
    const h = this.hosts.get(id);
    if (h === undefined) return false;
    this.resultWaiters.get(id)!.set(key, { onResult, onDrop });
    h.propose(data, encoder.encode(key));
    return true;
  }

  /** A ReadIndex read on `id`; onReady runs once that server has applied the read index. */
  read(id: NodeId, key: string, onReady: ReadHandler): boolean {
    const h = this.hosts.get(id);
    if (h === undefined) return false;
    if (this.options.staleReads === true) {
      this.scheduler.after(0, () => onReady(id, h.appliedIndex, (k) => h.machine.get(k)));
      return true;
    }
    this.readWaiters.get(id)!.set(key, onReady);
    h.readIndex(encoder.encode(key));
    return true;
  }

  forget(id: NodeId, key: string): void {
    this.resultWaiters.get(id)?.delete(key);
    this.readWaiters.get(id)?.delete(key);
  }

  /** Snapshots installed from leaders and compactions, over every incarnation of every server. */
  totals(): { snapshotsRestored: number; compactions: number } {
    let snapshotsRestored = this.stats.snapshotsRestored;
    let compactions = this.stats.compactions;
    for (const h of this.hosts.values()) {
      snapshotsRestored += h.counters.snapshotsRestored;
      compactions += h.counters.compactions;
    }
    return { snapshotsRestored, compactions };
  }

  // --- RaftHostListener ------------------------------------------------------

  applied(host: RaftHost, entry: Entry, result: KvApplied | null): void {
    const seen = this.appliedByIndex.get(entry.index);
    if (seen === undefined) {
      this.appliedByIndex.set(entry.index, { term: entry.term, data: entry.data, by: host.id });
    } else if (seen.term !== entry.term || !bytesEqual(seen.data, entry.data)) {
      this.violate(
        `state machine safety: ${host.id} applied index ${entry.index} term ${entry.term}, ${seen.by} applied term ${seen.term} (or different data)`,
      );
    }
    if (result === null) return;
    const key = requestKey(result.id.clientId, result.id.seq);
    const waiter = this.resultWaiters.get(host.id)!.get(key);
    if (waiter !== undefined) {
      this.resultWaiters.get(host.id)!.delete(key);
      waiter.onResult(host.id, result);
    }
  }

  readReady(host: RaftHost, contextKey: string, index: number): void {
    const waiter = this.readWaiters.get(host.id)!.get(contextKey);
    if (waiter === undefined) return;
    this.readWaiters.get(host.id)!.delete(contextKey);
    waiter(host.id, index, (k) => host.machine.get(k));
  }

  proposalDropped(host: RaftHost, contextKey: string, code: string, leader: NodeId | ''): void {
    const waiter = this.resultWaiters.get(host.id)!.get(contextKey);
    if (waiter === undefined) return;
    this.resultWaiters.get(host.id)!.delete(contextKey);
    waiter.onDrop(host.id, code, leader);
  }

  roleChanged(host: RaftHost, status: RaftStatus): void {
    if (status.role !== RaftRole.Leader) return;
    this.stats.leaderChanges++;
    const other = this.leaderByTerm.get(status.term);
    if (other === undefined) this.leaderByTerm.set(status.term, host.id);
    else if (other !== host.id) this.violate(`election safety: ${other} and ${host.id} both leaders of term ${status.term}`);
    this.checkLeaderCompleteness(host, status.term);
  }

  /** Runs when a leader's Ready has been persisted, so its durable log is its whole log. */
  private checkLeaderCompleteness(host: RaftHost, term: number): void {
    const storage = this.storages.get(host.id)!;
    const snapshotIndex = storage.durableState.snapshot?.meta.index ?? 0;
    for (const [index, applied] of this.appliedByIndex) {
      if (index <= snapshotIndex) continue;
      const mine = storage.entry(index);
      if (mine === undefined || mine.term !== applied.term) {
        this.violate(
          `leader completeness: ${host.id} leads term ${term} without the entry ${applied.by} applied at index ${index} (term ${applied.term})`,
        );
        return;
      }
    }
  }

  violate(message: string): void {
    if (this.violations.length < violationsMax) this.violations.push(`t=${this.nowMs.toFixed(1)}ms ${message}`);
  }

  private startHost(id: NodeId): void {
    const host = new RaftHost(
      id,
      this.configs.get(id)!,
      this.storages.get(id)!,
      this.scheduler,
      this.network,
      this.rng.fork(),
      this.hostOptions,
      this,
    );
    this.hosts.set(id, host);
  }
}

const encoder = new TextEncoder();

export function requestKey(clientId: string, seq: number): string {
  return `${clientId}#${seq}`;
}
