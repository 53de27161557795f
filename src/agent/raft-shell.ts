/**
 * The Raft shell: drives one pure RaftNode in the real world.
 *
 *  - ticks it every tickMs (setInterval);
 *  - steps messages arriving over the peer links (TCP, length-prefixed frames);
 *  - runs the Ready loop in the order the core requires: persist hard state,
 *    snapshot and entries with RaftStorage (awaiting fsync), then send the
 *    messages, then apply committed entries to the KvMachine, resolve the
 *    waiting proposals by request id, serve ReadIndex reads once applied
 *    reaches their index, and advance;
 *  - snapshots the machine and compacts log and WAL every N applied entries.
 *
 * Proposals made on a follower are forwarded to the leader by the core
 * (forwardProposals), and ReadIndex requests likewise, so any node serves
 * clients; the proposal resolves when its entry is applied here. A request
 * made while no leader is known waits up to leaderWaitMs for one, then fails
 * with ERR_NOT_LEADER (not applied).
 * A storage failure is fatal (fail-stop, as etcd): the shell stops and
 * reports it through onFatal.
 */
import { KvMachine, encodeKvCommand, type KvCommand, type KvRequestId, type KvResult } from '../raft/kv-machine.js';
import { validateRaftConfig } from '../raft/config.js';
import { RaftNode } from '../raft/node.js';
import { EntryType, type HardState, type Message, type NodeId, type Ready } from '../raft/types.js';
import { mustSync, splitReadyMessages } from '../raft/ready-order.js';
import { ReadyLoop } from './ready-loop.js';
import { RaftStorage, type RaftStorageMetrics } from '../storage/raft-storage.js';
import type { PeerLinkStats } from '../transport/peer-link-config.js';
import { PeerLinks } from '../transport/peer-links.js';
import { decodeRaftMessage, encodeRaftMessage } from '../wire/raft-codec.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { SeededRng, cryptoSeed } from '../util/rng.js';
import { LeaderWaitQueue } from './raft-leader-wait.js';
import { PendingTable } from './raft-pending.js';
import { validateRaftShellOptions, type RaftShellOptions } from './raft-shell-config.js';
import { RaftShellProfile } from './raft-shell-profile.js';
import type { RaftShellStatus } from './raft-shell-status.js';

export interface ProposeResult {
  /** Log index of the entry: the store's revision for this write. */
  index: number;
  result: KvResult;
}

export interface ReadResult {
  /** The read index the value is at least as new as. */
  index: number;
  value: string | null;
}

export interface RaftShellHooks {
  /** The shell stopped on an unrecoverable error (storage I/O, corrupt snapshot). */
  onFatal?(error: unknown): void;
}

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();
const errorCodes = new Set<string>(Object.values(ErrorCode));

const proposalKey = (id: KvRequestId): string => `p:${id.clientId}\u0000${id.seq}`;

export class RaftShell {
  private readonly kv: KvMachine;
  private readonly proposals: PendingTable<ProposeResult>;
  private readonly reads: PendingTable<ReadResult>;
  private readonly waitingReads: { index: number; key: string }[] = [];
  private readonly profile = new RaftShellProfile();
  private readonly leaderWait: LeaderWaitQueue;
  /** The leader as of the last Ready with a soft state ('' while none is known). */
  private leader: NodeId | '' = '';
  private tickTimer: NodeJS.Timeout | undefined;
  private applied: number;
  private appliedTerm: number;
  private snapshotIndex: number;
  private readSeq = 0;
  private readonly readyLoop = new ReadyLoop({
    hasReady: () => !this.stopped && this.node.hasReady(),
    handleNext: () => this.handleReady(this.node.ready()),
    onError: (e) => {
      if (this.stopped) return;
      this.halt(new ShoalError(ErrorCode.StorageIo, 'raft shell stopped on a fatal error', { cause: e }));
      this.hooks.onFatal?.(e);
    },
  });
  private stopped = false;
  private closing: Promise<void> | undefined = undefined;
  /** Called when this node learns of another leader (leadership hand-off on close). */
  private leaderChanged: (() => void) | undefined = undefined;
  /** Shutdowns that handed leadership to another voter. */
  leadershipHandOffs = 0;
  private links!: PeerLinks<Message>;
  messagesDroppedMisaddressed = 0;
  /** The newest hard state the core reported, and the newest one written to storage. */
  private latestHardState: HardState | undefined = undefined;
  private persistedHardState: HardState | undefined = undefined;

  private constructor(
    readonly options: RaftShellOptions,
    private readonly node: RaftNode,
    private readonly storage: RaftStorage,
    kv: KvMachine,
    snapshot: { index: number; term: number },
    private readonly hooks: RaftShellHooks,
  ) {
    this.kv = kv;
    this.applied = snapshot.index;
    this.appliedTerm = snapshot.term;
    this.snapshotIndex = snapshot.index;
    this.proposals = new PendingTable('proposal', options.maxPendingProposals, options.proposalTimeoutMs);
    this.reads = new PendingTable('read', options.maxPendingReads, options.readTimeoutMs);
    this.leaderWait = new LeaderWaitQueue(options.leaderWaitMs, options.maxPendingProposals + options.maxPendingReads);
  }

  /** Open storage, recover, listen for peers and start ticking. */
  static async start(
    input: Parameters<typeof validateRaftShellOptions>[0],
    hooks: RaftShellHooks = {},
  ): Promise<RaftShell> {
    const options = validateRaftShellOptions(input);
    const storage = await RaftStorage.open(options.dataDir);
    let shell: RaftShell;
    try {
      const init = storage.load({ voters: [...options.voters.keys()].sort(), learners: [] });
      const kv = new KvMachine({ maxSessions: options.maxSessions });
      if (init.snapshot !== undefined) kv.restore(init.snapshot.data);
      const config = validateRaftConfig({
        id: options.id,
        electionTicks: options.electionTicks,
        heartbeatTicks: options.heartbeatTicks,
        forwardProposals: true,
      });
      const node = new RaftNode(config, init, new SeededRng(await cryptoSeed()));
      const snap = { index: init.snapshot?.meta.index ?? 0, term: init.snapshot?.meta.term ?? 0 };
      shell = new RaftShell(options, node, storage, kv, snap, hooks);
      shell.persistedHardState = init.hardState;
      const self = options.voters.get(options.id)!;
      shell.links = await PeerLinks.start<Message>({
        listen: self,
        peers: [...options.voters].filter(([id]) => id !== options.id),
        decode: (frame) => {
          const r = decodeRaftMessage(frame);
          return r.ok ? r.msg : undefined;
        },
        onMessage: (m) => shell.receive(m),
        limits: options.peerLinkLimits,
      });
    } catch (e) {
      await storage.close();
      throw e;
    }
    shell.tickTimer = setInterval(() => shell.onTick(), options.tickMs);
    shell.kick();
    return shell;
  }

  get id(): NodeId {
    return this.options.id;
  }

  /** Propose a KV command; resolves once it is applied on this node, rejects with a ShoalError. */
  propose(cmd: KvCommand, signal?: AbortSignal): Promise<ProposeResult> {
    if (this.stopped) return Promise.reject(new ShoalError(ErrorCode.NotRunning, 'raft shell is stopped'));
    const key = proposalKey(cmd.id);
    let data: Uint8Array;
    try {
      data = encodeKvCommand(cmd);
    } catch (e) {
      return Promise.reject(e instanceof ShoalError ? e : new ShoalError(ErrorCode.InvalidArgument, `bad command: ${String(e)}`));
    }
    const p = this.proposals.add(key, Date.now(), signal);
    if (this.proposals.has(key)) {
      this.submit(key, () => {
        if (this.proposals.has(key)) this.node.propose(data, utf8.encode(key));
      });
    }
    return p;
  }

  /** A linearizable read through ReadIndex. */
  read(key: string, signal?: AbortSignal): Promise<ReadResult> {
    if (this.stopped) return Promise.reject(new ShoalError(ErrorCode.NotRunning, 'raft shell is stopped'));
    // The context carries the key to read: `r:<seq>\0<key>`.
    const ctx = `r:${++this.readSeq}\u0000${key}`;
    const p = this.reads.add(ctx, Date.now(), signal);
    if (this.reads.has(ctx)) {
      this.submit(ctx, () => {
        if (this.reads.has(ctx)) this.node.readIndex(utf8.encode(ctx));
      });
    }
    return p;
  }

  /** Give a request to Raft now, or once a leader is reachable (bounded wait; see raft-leader-wait.ts). */
  private submit(key: string, run: () => void): void {
    if (!this.leaderReachable() && this.leaderWait.add(key, Date.now(), run)) return;
    run();
    this.kick();
  }

  /**
   * A leader is known and, if it is a peer, our link to it is up. A request
   * forwarded over a broken link would be lost and only time out; while the
   * leader's process is gone (its connection closed) requests wait for the
   * next leader instead.
   */
  private leaderReachable(): boolean {
    if (this.leader === '') return false;
    return this.leader === this.id || this.links.peerState(this.leader) === 'connected';
  }

  transferLeadership(to: NodeId): void {
    this.node.transferLeadership(to);
    this.kick();
  }

  status(): RaftShellStatus {
    const s = this.node.status();
    const peers: Record<string, string> = {};
    for (const id of this.options.voters.keys()) if (id !== this.id) peers[id] = this.links.peerState(id) ?? 'unknown';
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      leader: s.leader,
      commit: s.commit,
      applied: this.applied,
      lastIndex: s.lastIndex,
      snapshotIndex: this.snapshotIndex,
      voters: s.voters,
      learners: s.learners,
      peers,
      pendingProposals: this.proposals.size,
      pendingReads: this.reads.size,
      keys: this.kv.size,
      profile: this.profile.view(),
      counters: s.counters,
    };
  }

  linkStats(): PeerLinkStats {
    return { ...this.links.stats };
  }

  storageMetrics(): RaftStorageMetrics {
    return this.storage.metrics();
  }

  /** Stop ticking, fail waiting requests (outcome unknown), finish the Ready in progress, close links and storage. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (!this.stopped) await this.handOffLeadership();
    this.halt(new ShoalError(ErrorCode.NotRunning, 'raft shell is stopping'));
    await this.readyLoop.idle();
    await this.links.close();
    const hs = this.latestHardState;
    if (hs !== undefined && hs !== this.persistedHardState) {
      // Keep the newest commit index across a clean restart (best effort: it is volatile state).
      await this.storage.save({ hardState: hs, entries: [] }).catch(() => undefined);
    }
    await this.storage.close();
  }

  /**
   * A leader that is shutting down hands leadership to its most caught-up
   * connected voter first (as etcd does), so the cluster does not wait out an
   * election timeout. Bounded by one election timeout (the core aborts a
   * transfer that takes longer); requests arriving meanwhile are dropped by
   * the core and fail as not applied.
   */
  private async handOffLeadership(): Promise<void> {
    const s = this.node.status();
    if (s.role !== 'leader') return;
    let target = '';
    let bestMatch = -1;
    for (const id of s.voters) {
      const pr = s.progress[id];
      if (id === this.id || pr === undefined || this.links.peerState(id) !== 'connected') continue;
      if (pr.match > bestMatch) {
        bestMatch = pr.match;
        target = id;
      }
    }
    if (target === '') return;
    const changed = new Promise<void>((resolve) => {
      this.leaderChanged = resolve;
    });
    this.node.transferLeadership(target);
    this.kick();
    const waitMs = this.options.electionTicks * this.options.tickMs;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([changed, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    this.leaderChanged = undefined;
    if (this.leader !== this.id && this.leader !== '') this.leadershipHandOffs++;
    // Let the Ready that told the new leader (TimeoutNow, heartbeats) reach the wire.
    await this.readyLoop.idle();
  }

  private halt(error: ShoalError): void {
    this.stopped = true;
    this.readyLoop.stop();
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.leaderWait.clear();
    this.proposals.rejectAll(error);
    this.reads.rejectAll(error);
  }

  private receive(m: Message): void {
    if (this.stopped) return;
    if (m.to !== this.id) {
      this.messagesDroppedMisaddressed++;
      return;
    }
    this.node.step(m);
    this.kick();
  }

  private onTick(): void {
    this.node.tick();
    const now = Date.now();
    if (this.leaderWait.size > 0 && this.leaderReachable()) this.leaderWait.flush();
    this.leaderWait.expire(now, (key) => {
      const error = new ShoalError(ErrorCode.NotLeader, `no leader known to ${this.id} within ${this.options.leaderWaitMs} ms`, {
        details: { leader: '', outcome: 'not-applied' },
      });
      if (key.startsWith('r:')) this.reads.reject(key, error);
      else this.proposals.reject(key, error);
    });
    this.proposals.expire(now);
    this.reads.expire(now);
    this.kick();
  }

  private kick(): void {
    this.readyLoop.kick();
  }

  private async handleReady(rd: Ready): Promise<void> {
    const t0 = performance.now();
    if (rd.hardState !== undefined) this.latestHardState = rd.hardState;
    let late = rd.messages;
    if (mustSync(rd, this.persistedHardState)) {
      // The leader's appends and heartbeats leave before its own fsync (ready-order.ts).
      const split = splitReadyMessages(rd, this.persistedHardState);
      for (const m of split.early) this.links.send(m.to, encodeRaftMessage(m));
      late = split.late;
      const hs = this.latestHardState;
      await this.storage.save({ hardState: hs, entries: rd.entries, snapshot: rd.snapshot });
      this.persistedHardState = hs;
      this.profile.persisted(rd.entries.length, performance.now() - t0);
    }
    if (this.stopped) return; // closed while persisting: send and apply nothing more
    const t1 = performance.now();
    for (const m of late) this.links.send(m.to, encodeRaftMessage(m));
    const t2 = performance.now();
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > this.applied) {
      this.kv.restore(rd.snapshot.data);
      this.applied = rd.snapshot.meta.index;
      this.appliedTerm = rd.snapshot.meta.term;
      this.snapshotIndex = rd.snapshot.meta.index;
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.applied) continue;
      if (e.type === EntryType.Normal) {
        const res = this.kv.apply(e.data);
        if (res !== null) this.proposals.resolve(proposalKey(res.id), { index: e.index, result: res.result });
      }
      this.applied = e.index;
      this.appliedTerm = e.term;
    }
    for (const d of rd.droppedProposals) this.dropped(utf8Decode.decode(d.context), d.code, d.leader);
    for (const rs of rd.readStates) this.waitingReads.push({ index: rs.index, key: utf8Decode.decode(rs.context) });
    this.node.advance(rd);
    if (rd.softState !== undefined) {
      this.leader = rd.softState.leader;
      if (this.leaderReachable()) this.leaderWait.flush();
      if (this.leader !== this.id && this.leader !== '') this.leaderChanged?.();
    }
    this.serveReads();
    this.profile.handled(rd.messages.length, rd.committedEntries.length, t2 - t1, performance.now() - t2);
    if (this.applied - this.snapshotIndex >= this.options.snapshotEveryEntries) await this.snapshotAndCompact();
  }

  private dropped(key: string, code: string, leader: NodeId | ''): void {
    const errorCode = errorCodes.has(code) ? (code as ErrorCode) : ErrorCode.ProposalDropped;
    const message =
      errorCode === ErrorCode.NotLeader
        ? leader === ''
          ? `${this.id} is not the leader and no leader is known (election in progress)`
          : `${this.id} is not the leader; the leader is ${leader}`
        : `request dropped by raft (${code})`;
    const error = new ShoalError(errorCode, message, { details: { leader, outcome: 'not-applied' } });
    if (key.startsWith('r:')) this.reads.reject(key, error);
    else this.proposals.reject(key, error);
  }

  private serveReads(): void {
    let kept = 0;
    for (const r of this.waitingReads) {
      if (r.index <= this.applied) {
        const dataKey = r.key.slice(r.key.indexOf('\u0000') + 1);
        this.reads.resolve(r.key, { index: r.index, value: this.kv.get(dataKey) });
      } else this.waitingReads[kept++] = r;
    }
    this.waitingReads.length = kept;
  }

  private async snapshotAndCompact(): Promise<void> {
    const index = this.applied;
    const data = this.kv.snapshot();
    const s = this.node.status();
    this.node.compact(index, data);
    await this.storage.saveSnapshot({ meta: { index, term: this.appliedTerm, conf: { voters: s.voters, learners: s.learners } }, data });
    await this.storage.compact(index);
    this.snapshotIndex = index;
    this.profile.snapshots++;
  }
}
