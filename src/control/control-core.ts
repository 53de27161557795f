/**
 * ControlCore: the control plane of one member as a pure state machine
 * (see /control-spec). It composes
 *  - bootstrap (bootstrap-driver.ts): from the gossip view, bootstrap a new
 *    cluster or join the existing one, exactly once;
 *  - a RaftNode (raft node id = member name) whose Normal entries carry store
 *    commands in an envelope naming the request (entry-envelope.ts);
 *  - the ConfigStore, to which committed entries are applied on every replica;
 *  - client requests (requests.ts): writes are proposed (a follower's Raft
 *    forwards them to the leader) and answered when THIS member applies the
 *    entry with their tag; linearizable reads go through ReadIndex and are
 *    answered once the store has applied that index; serializable reads at
 *    once; every request is answered within requestTimeoutMs;
 *  - leader duties: autopilot (one conf change at a time), lease expiry from
 *    the leader's clock, the shoal.rev tag; snapshots every
 *    snapshotEveryEntries.
 * No I/O, no clock, no randomness of its own: time comes in as nowMs and
 * randomness through the Rng.
 */
import type { MemberInfo } from '../gossip/events.js';
import { decodeConfChange } from '../raft/conf-change.js';
import { validateRaftConfig, type RaftConfig } from '../raft/config.js';
import { RaftNode } from '../raft/node.js';
import type { RaftStatus } from '../raft/status.js';
import { ConfChangeType, EntryType, RaftRole, type Entry, type Message, type RaftInitialState, type Ready } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { AutopilotDriver } from './autopilot-driver.js';
import { validateAutopilotConfig } from './autopilot/config.js';
import { TAG_BOOT, TAG_CLUSTER, TAG_REVISION } from './autopilot/tags.js';
import { BootstrapDriver } from './bootstrap-driver.js';
import { controlRaftDefaults, validateControlConfig, type ControlConfig } from './control-config.js';
import {
  newControlCounters,
  type ControlCounters,
  type ControlEvent,
  type ControlInit,
  type ControlReady,
  type ControlResult,
  type ControlStatus,
  type ReadQuery,
} from './control-types.js';
import { decodeEnvelope, encodeEnvelope, formatTag, tagBytes, tagOf } from './entry-envelope.js';
import { InternalClient, LeaseDriver } from './lease-driver.js';
import { PendingRequests, readContext, tagOfReadContext, type PendingRequest } from './requests.js';
import { encodeCommand, type Command } from './store/commands.js';
import { ConfigStore, failureToError } from './store/config-store.js';
import type { ApplyResult } from './store/types.js';
import { validateCommand } from './store/validate.js';
import type { WatchHandle } from './store/watch.js';

export type { ControlConfig } from './control-config.js';
export type * from './control-types.js';

/** Events held until the next ready(); past it config-changed events are dropped and counted. */
export const maxPendingEvents = 10_000;
/** Request ids longer than this are refused (they travel in every entry). */
export const requestIdBytesMax = 256;

const autopilotRequestId = 'shoal.autopilot';

export class ControlCore {
  readonly config: ControlConfig;
  private readonly raftConfig: RaftConfig;
  private readonly incarnation: string;
  private node: RaftNode | undefined;
  private storeValue = new ConfigStore();
  private changesWatch: WatchHandle | undefined;
  private clusterId: string | undefined;
  private readonly boot: BootstrapDriver;
  private readonly pending: PendingRequests;
  private readonly autopilot: AutopilotDriver;
  private readonly leases: LeaseDriver;
  private readonly internalClient: InternalClient;
  private readonly retryIntervalMs: number;
  private nowMs: number;
  /** The last gossip view, for a bootstrap decision re-made after this member committed. */
  private lastMembers: readonly MemberInfo[] = [];
  private redecideBootstrap = false;
  private nextRaftTickMs: number;

  private appliedIndex = 0;
  private appliedTerm = 0;
  private snapshotIndex = 0;
  private role: RaftRole | 'none' = 'none';
  private leader = '';

  private results: ControlResult[] = [];
  private events: ControlEvent[] = [];
  private startRaftOut: ControlReady['startRaft'];
  private compactedOut: ControlReady['compactedSnapshot'];
  private advertisedTags: Record<string, string> = {};
  private tagsSent = false;
  private revTagValue: number | undefined;
  private revTagAtMs = Number.NEGATIVE_INFINITY;
  private outstanding: ControlReady | undefined;
  readonly counters: ControlCounters = newControlCounters();

  constructor(config: Partial<ControlConfig> & { name: string }, init: ControlInit, private readonly rng: Rng, nowMs: number) {
    this.config = validateControlConfig(config);
    this.raftConfig = validateRaftConfig({ ...controlRaftDefaults, ...this.config.raft, id: this.config.name });
    const autopilotConfig = validateAutopilotConfig({ ...this.config.autopilot, bootstrapExpect: this.config.bootstrapExpect });
    this.incarnation = (rng.int(0x100000000) >>> 0).toString(16).padStart(8, '0');
    this.pending = new PendingRequests(this.config.maxPendingRequests);
    this.autopilot = new AutopilotDriver(autopilotConfig, this.config.autopilotIntervalMs, this.config.requestTimeoutMs);
    this.leases = new LeaseDriver(this.config.leaseCheckIntervalMs);
    this.internalClient = new InternalClient(this.config.name, this.incarnation);
    this.retryIntervalMs = Math.max(this.config.tickMs, Math.floor(this.config.requestTimeoutMs / 4));
    this.boot = new BootstrapDriver(this.config.name, this.config.eligible, this.config.bootstrapExpect, init.bootCommitment);
    this.nowMs = nowMs;
    this.nextRaftTickMs = nowMs + this.config.tickMs;
    if (init.raft !== undefined) this.openRaft(init.raft, init.clusterId);
    else this.openChangesWatch();
  }

  /** The store (read-only use: watches and serializable reads). Replaced when a snapshot is installed. */
  get store(): ConfigStore {
    return this.storeValue;
  }

  get bootstrapped(): boolean {
    return this.node !== undefined;
  }

  // ---- inputs ------------------------------------------------------------------

  onMembership(members: MemberInfo[], nowMs: number): void {
    this.now(nowMs);
    this.autopilot.onMembership(members, this.nowMs);
    this.lastMembers = members;
    if (this.node === undefined) {
      this.decideBootstrap();
    } else if (this.clusterId === undefined) {
      // Raft state without a persisted cluster id: take the one gossip shows.
      for (const m of members) {
        const id = m.tags[TAG_CLUSTER];
        if (m.name !== this.config.name && id !== undefined && id.length > 0) {
          this.clusterId = id;
          break;
        }
      }
    }
  }

  private decideBootstrap(): void {
    const committedBefore = this.boot.commitment !== undefined;
    const outcome = this.boot.decide(this.lastMembers);
    // Having just committed, decide again at the next tick (our own tag change brings no gossip event).
    this.redecideBootstrap = !committedBefore && this.boot.commitment !== undefined;
    if (outcome.kind !== 'start') return;
    const initial: RaftInitialState = {
      hardState: { term: 0, vote: '', commit: 0 },
      entries: [],
      conf: { voters: outcome.voters, learners: [] },
    };
    this.openRaft(initial, outcome.clusterId);
    this.startRaftOut = { initial: structuredClone(initial), clusterId: outcome.clusterId };
  }

  tick(nowMs: number): void {
    this.now(nowMs);
    if (this.node === undefined && this.redecideBootstrap) this.decideBootstrap();
    const node = this.node;
    if (node !== undefined && this.nowMs >= this.nextRaftTickMs) {
      node.tick();
      this.nextRaftTickMs += this.config.tickMs;
      // A late timer (a paused process) skips the missed ticks rather than bursting them.
      if (this.nextRaftTickMs <= this.nowMs) this.nextRaftTickMs = this.nowMs + this.config.tickMs;
    }
    this.expireRequests();
    this.retryRequests();
    if (node !== undefined && this.role === RaftRole.Leader) this.leaderDuties(node);
  }

  stepRaft(msg: Message): void {
    this.node?.step(msg);
  }

  write(requestId: string, command: Command, nowMs: number): void {
    this.now(nowMs);
    const refusal = this.admit(requestId, true) ?? validateCommand(command);
    if (refusal !== undefined) return this.refuse(requestId, refusal);
    const tag = this.tagFor(requestId);
    const data = encodeEnvelope(tag, encodeCommand(command));
    if (data === undefined) return this.refuse(requestId, new ShoalError(ErrorCode.InvalidArgument, 'request id too long'));
    this.addPending({ kind: 'write', requestId, tag, data, ...this.timing(), internal: false });
    this.node!.propose(data, tagBytes(tag));
  }

  read(requestId: string, query: ReadQuery, linearizable: boolean, nowMs: number): void {
    this.now(nowMs);
    if (!linearizable) {
      this.results.push(this.answerRead(requestId, query));
      return;
    }
    const refusal = this.admit(requestId, true);
    if (refusal !== undefined) return this.refuse(requestId, refusal);
    const tag = this.tagFor(requestId);
    this.addPending({ kind: 'read', requestId, tag, query, attempt: 0, readIndex: undefined, ...this.timing(), internal: false });
    this.node!.readIndex(tagBytes(readContext(tag, 0)));
  }

  transferLeadership(to: string): void {
    this.node?.transferLeadership(to);
  }

  removePeer(name: string, requestId: string): void {
    const refusal = this.admit(requestId, true);
    if (refusal !== undefined) return this.refuse(requestId, refusal);
    const tag = this.tagFor(requestId);
    this.addPending({ kind: 'remove-peer', requestId, tag, node: name, ...this.timing(), internal: false });
    this.node!.proposeConfChange({ type: ConfChangeType.RemoveNode, node: name }, tagBytes(tag));
  }

  // ---- ready / advance ---------------------------------------------------------

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    return (
      this.results.length > 0 ||
      this.events.length > 0 ||
      this.startRaftOut !== undefined ||
      this.compactedOut !== undefined ||
      this.boot.unpersistedCommitment !== undefined ||
      this.tagsChanged() ||
      (this.node?.hasReady() ?? false)
    );
  }

  ready(): ControlReady {
    assert(this.outstanding === undefined, 'ControlCore.ready() called again before advance()');
    const rd: ControlReady = { results: this.results, events: this.events, tags: undefined };
    this.results = [];
    this.events = [];
    if (this.tagsChanged()) {
      rd.tags = this.currentTags();
      this.advertisedTags = rd.tags;
      this.tagsSent = true;
    }
    if (this.startRaftOut !== undefined) rd.startRaft = this.startRaftOut;
    this.startRaftOut = undefined;
    if (this.boot.unpersistedCommitment !== undefined) rd.bootCommitment = this.boot.unpersistedCommitment;
    this.boot.unpersistedCommitment = undefined;
    if (this.compactedOut !== undefined) rd.compactedSnapshot = this.compactedOut;
    this.compactedOut = undefined;
    if (this.node?.hasReady()) rd.raft = this.node.ready();
    this.outstanding = rd;
    return rd;
  }

  advance(rd: ControlReady): void {
    assert(this.outstanding === rd, 'ControlCore.advance() with a ready that is not the outstanding one');
    this.outstanding = undefined;
    if (rd.raft !== undefined) this.advanceRaft(rd.raft);
  }

  private advanceRaft(rd: Ready): void {
    const node = this.node!;
    if (rd.softState !== undefined) this.onSoftState(rd.softState.role, rd.softState.leader);
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > this.appliedIndex) {
      this.restoreStore(rd.snapshot.data);
      this.appliedIndex = rd.snapshot.meta.index;
      this.appliedTerm = rd.snapshot.meta.term;
      this.snapshotIndex = rd.snapshot.meta.index;
      this.counters.snapshotsRestored++;
    }
    for (const e of rd.committedEntries) this.applyEntry(e);
    for (const d of rd.droppedProposals) this.onDropped(d.context, d.code);
    for (const rs of rd.readStates) {
      const tag = tagOf(rs.context);
      const req = tag === undefined ? undefined : this.pending.get(tagOfReadContext(tag));
      if (req?.kind === 'read' && req.readIndex === undefined) req.readIndex = rs.index;
    }
    node.advance(rd);
    this.answerReads();
    this.maybeSnapshot(node);
  }

  // ---- applying ----------------------------------------------------------------

  private applyEntry(e: Entry): void {
    if (e.index <= this.appliedIndex) return;
    this.appliedIndex = e.index;
    this.appliedTerm = e.term;
    this.counters.entriesApplied++;
    if (e.type === EntryType.ConfChange) {
      let cc;
      try {
        cc = decodeConfChange(e.data);
      } catch {
        this.counters.entriesUndecodable++;
        return;
      }
      this.autopilot.onConfChangeApplied(cc);
      if (cc.type === ConfChangeType.RemoveNode) {
        for (const req of [...this.pending.values()]) {
          if (req.kind === 'remove-peer' && req.node === cc.node) this.finish(req, { requestId: req.requestId, ok: true, value: { removed: cc.node } });
        }
      }
      return;
    }
    if (e.data.length === 0) return; // a leader's no-op
    const env = decodeEnvelope(e.data);
    if (!env.ok) {
      this.counters.entriesUndecodable++;
      return;
    }
    if (e.index <= this.storeValue.appliedIndex) return; // already in a restored snapshot
    const result = this.storeValue.applyEntry(env.command, e.index);
    const req = this.pending.get(env.tag);
    if (req !== undefined) this.finish(req, resultOf(req.requestId, result));
  }

  private answerReads(): void {
    for (const req of [...this.pending.values()]) {
      if (req.kind === 'read' && req.readIndex !== undefined && req.readIndex <= this.appliedIndex) {
        this.finish(req, this.answerRead(req.requestId, req.query));
      }
    }
  }

  private answerRead(requestId: string, q: ReadQuery): ControlResult {
    try {
      const store = this.storeValue;
      if (q.kind === 'get') {
        const kv = store.get(q.key, q.revision === undefined ? {} : { revision: q.revision });
        return { requestId, ok: true, value: { kv, revision: store.revision } };
      }
      const opts: { revision?: number; limit?: number; after?: string } = {};
      if (q.revision !== undefined) opts.revision = q.revision;
      if (q.limit !== undefined) opts.limit = q.limit;
      if (q.after !== undefined) opts.after = q.after;
      return { requestId, ok: true, value: store.range(q.prefix, opts) };
    } catch (e) {
      const error = e instanceof ShoalError ? e : new ShoalError(ErrorCode.InvalidArgument, (e as Error).message);
      return { requestId, ok: false, error };
    }
  }

  private finish(req: PendingRequest, result: ControlResult): void {
    this.pending.remove(req.tag);
    if (req.internal) {
      this.internalClient.onResult(result.ok ? undefined : result.error.code);
      return;
    }
    this.results.push(result);
  }

  private onDropped(context: Uint8Array, code: string): void {
    const tag = tagOf(context);
    if (tag === undefined) return;
    if (tag === this.tagFor(autopilotRequestId)) return this.autopilot.onProposalDropped();
    const req = this.pending.get(tagOfReadContext(tag));
    if (req === undefined) return;
    if (code === ErrorCode.NotLeader || code === ErrorCode.ProposalDropped || code === ErrorCode.Unavailable) {
      req.retryDue = true;
      return;
    }
    const errorCode = (Object.values(ErrorCode) as string[]).includes(code) ? (code as ErrorCode) : ErrorCode.ProposalDropped;
    this.finish(req, { requestId: req.requestId, ok: false, error: new ShoalError(errorCode, `request ${req.requestId} refused: ${code}`) });
  }

  // ---- requests ----------------------------------------------------------------

  /** Why a request cannot be taken now, or undefined. */
  private admit(requestId: string, needsRaft: boolean): ShoalError | undefined {
    if (requestId.length === 0 || new TextEncoder().encode(requestId).length > requestIdBytesMax) {
      return new ShoalError(ErrorCode.InvalidArgument, `request id must be 1..${requestIdBytesMax} bytes`);
    }
    if (needsRaft && !this.isMember()) {
      return new ShoalError(ErrorCode.NoQuorum, this.node === undefined ? 'not bootstrapped yet' : `${this.config.name} is neither voter nor learner`);
    }
    if (this.pending.has(this.tagFor(requestId))) return new ShoalError(ErrorCode.InvalidArgument, `request ${requestId} is already in flight`);
    if (this.pending.full) return new ShoalError(ErrorCode.ResourceExhausted, `${this.pending.size} requests in flight, at most ${this.pending.max}`);
    return undefined;
  }

  private isMember(): boolean {
    if (this.node === undefined) return false;
    const s = this.node.status();
    return s.voters.includes(this.config.name) || s.learners.includes(this.config.name);
  }

  private refuse(requestId: string, error: ShoalError): void {
    this.counters.requestsRefused++;
    this.results.push({ requestId, ok: false, error });
  }

  private addPending(req: PendingRequest): void {
    this.pending.add(req);
  }

  private timing(): { deadlineMs: number; lastAttemptMs: number; retryDue: boolean } {
    return { deadlineMs: this.nowMs + this.config.requestTimeoutMs, lastAttemptMs: this.nowMs, retryDue: false };
  }

  private tagFor(requestId: string): string {
    return formatTag({ origin: this.config.name, incarnation: this.incarnation, requestId });
  }

  private expireRequests(): void {
    for (const req of this.pending.takeExpired(this.nowMs)) {
      this.counters.requestsTimedOut++;
      const code = this.leader === '' ? ErrorCode.NoQuorum : ErrorCode.Timeout;
      const why = this.leader === '' ? 'no leader' : `leader ${this.leader}`;
      const error = new ShoalError(code, `request ${req.requestId} not answered within ${this.config.requestTimeoutMs} ms (${why})`);
      if (req.internal) this.internalClient.onResult(undefined);
      else this.results.push({ requestId: req.requestId, ok: false, error });
    }
  }

  /** Re-propose / re-ask what was dropped, or what may have gone to a leader that is gone. */
  private retryRequests(): void {
    const node = this.node;
    if (node === undefined || this.leader === '') return;
    for (const req of this.pending.values()) {
      if (!req.retryDue && this.nowMs - req.lastAttemptMs < this.retryIntervalMs) continue;
      if (req.kind === 'read' && req.readIndex !== undefined) continue;
      req.retryDue = false;
      req.lastAttemptMs = this.nowMs;
      if (req.kind === 'write') {
        this.counters.proposalsRetried++;
        node.propose(req.data, tagBytes(req.tag));
      } else if (req.kind === 'read') {
        this.counters.readsRetried++;
        req.attempt++;
        node.readIndex(tagBytes(readContext(req.tag, req.attempt)));
      } else {
        node.proposeConfChange({ type: ConfChangeType.RemoveNode, node: req.node }, tagBytes(req.tag));
      }
    }
  }

  // ---- leader duties -----------------------------------------------------------

  private leaderDuties(node: RaftNode): void {
    const busy = [...this.pending.values()].some((r) => r.internal);
    const cmd = this.leases.tick(this.storeValue, this.nowMs, busy, () => this.internalClient.next());
    if (cmd !== undefined) this.proposeInternal(node, cmd);
    if (this.autopilot.due(this.nowMs)) {
      const s = node.status();
      const matchIndex = new Map<string, number>();
      for (const [id, pr] of Object.entries(s.progress)) matchIndex.set(id, pr.match);
      const change = this.autopilot.plan(this.nowMs, { leader: this.config.name, voters: s.voters, learners: s.learners, matchIndex, lastIndex: s.lastIndex });
      if (change !== undefined) {
        this.counters.confChangesProposed++;
        node.proposeConfChange(change.cc, tagBytes(this.tagFor(autopilotRequestId)));
      }
    }
    if (this.storeValue.revision !== this.revTagValue && this.nowMs - this.revTagAtMs >= this.config.revTagIntervalMs) {
      this.revTagValue = this.storeValue.revision;
      this.revTagAtMs = this.nowMs;
    }
  }

  private proposeInternal(node: RaftNode, cmd: Command): void {
    const requestId = `shoal.internal/${cmd.req.client}/${cmd.req.seq}`;
    const tag = this.tagFor(requestId);
    const data = encodeEnvelope(tag, encodeCommand(cmd));
    if (data === undefined || this.pending.full) return;
    this.counters.leaseExpiriesProposed++;
    this.addPending({ kind: 'write', requestId, tag, data, ...this.timing(), internal: true });
    node.propose(data, tagBytes(tag));
  }

  // ---- raft lifecycle ----------------------------------------------------------

  private openRaft(initial: RaftInitialState, clusterId: string | undefined): void {
    if (initial.snapshot !== undefined) {
      this.restoreStore(initial.snapshot.data);
      this.appliedIndex = initial.snapshot.meta.index;
      this.appliedTerm = initial.snapshot.meta.term;
      this.snapshotIndex = initial.snapshot.meta.index;
    } else {
      this.openChangesWatch();
    }
    this.node = new RaftNode(this.raftConfig, initial, this.rng);
    this.clusterId = clusterId;
    this.role = RaftRole.Follower;
  }

  private onSoftState(role: RaftRole, leader: string): void {
    const wasLeader = this.role === RaftRole.Leader;
    this.role = role;
    if (leader !== this.leader) {
      this.leader = leader;
      // Proposals and reads forwarded to the old leader may be lost: ask the new one.
      for (const req of this.pending.values()) req.retryDue = true;
      if (leader !== '') this.events.push({ type: 'leader-changed', leader, term: this.node!.status().term });
    }
    if (role === RaftRole.Leader && !wasLeader) {
      this.leases.becameLeader();
      this.autopilot.onBecomeLeader(this.nowMs);
      this.revTagValue = undefined;
      this.revTagAtMs = Number.NEGATIVE_INFINITY;
    }
  }

  private restoreStore(data: Uint8Array): void {
    const store = ConfigStore.restore(data);
    this.changesWatch = undefined;
    this.storeValue.closeWatches('the store was replaced by a snapshot from the leader: resume the watch');
    this.storeValue = store;
    this.openChangesWatch();
  }

  /** config-changed events come from a watch of everything on the store. */
  private openChangesWatch(): void {
    const store = this.storeValue;
    this.changesWatch?.cancel();
    this.changesWatch = store.watch('', store.revision + 1, {
      send: (batch) => {
        let revision = -1;
        for (const ev of batch.events) {
          const last = this.events[this.events.length - 1];
          if (ev.kv.modRevision === revision && last?.type === 'config-changed') {
            last.changes.push(ev);
            continue;
          }
          revision = ev.kv.modRevision;
          if (this.events.length >= maxPendingEvents) {
            this.counters.eventsDropped++;
            continue;
          }
          this.events.push({ type: 'config-changed', revision, changes: [ev] });
        }
        return true;
      },
      closed: () => {
        if (this.storeValue === store) this.changesWatch = undefined;
      },
    });
  }

  private maybeSnapshot(node: RaftNode): void {
    if (this.appliedIndex - this.snapshotIndex < this.config.snapshotEveryEntries) return;
    const s = node.status();
    const data = this.storeValue.snapshot();
    node.compact(this.appliedIndex, data);
    this.snapshotIndex = this.appliedIndex;
    this.counters.snapshotsTaken++;
    this.compactedOut = {
      meta: { index: this.appliedIndex, term: this.appliedTerm, conf: { voters: s.voters, learners: s.learners } },
      data,
    };
  }

  // ---- tags, status ------------------------------------------------------------

  private currentTags(): Record<string, string> {
    const tags: Record<string, string> = {};
    if (this.clusterId !== undefined) tags[TAG_CLUSTER] = this.clusterId;
    if (this.boot.bootTag !== undefined) tags[TAG_BOOT] = this.boot.bootTag;
    if (this.role === RaftRole.Leader && this.revTagValue !== undefined) tags[TAG_REVISION] = String(this.revTagValue);
    return tags;
  }

  private tagsChanged(): boolean {
    if (!this.tagsSent) return true;
    const next = this.currentTags();
    const prev = this.advertisedTags;
    const keys = Object.keys(next);
    if (keys.length !== Object.keys(prev).length) return true;
    return keys.some((k) => prev[k] !== next[k]);
  }

  raftStatus(): RaftStatus | undefined {
    return this.node?.status();
  }

  status(): ControlStatus {
    const s = this.node?.status();
    return {
      name: this.config.name,
      leader: s?.leader ?? '',
      term: s?.term ?? 0,
      commitIndex: s?.commit ?? 0,
      appliedIndex: this.appliedIndex,
      voters: s?.voters ?? [],
      learners: s?.learners ?? [],
      role: s?.role ?? 'none',
      clusterId: this.clusterId ?? '',
      bootstrapped: this.node !== undefined,
      bootstrapState: this.node !== undefined ? 'running' : this.boot.state,
      revision: this.storeValue.revision,
      compactedRevision: this.storeValue.compactedRevision,
      progress: s?.progress ?? {},
      pendingRequests: this.pending.size,
      counters: { ...this.counters },
    };
  }

  private now(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
  }
}

function resultOf(requestId: string, r: ApplyResult): ControlResult {
  if (r.ok) return { requestId, ok: true, value: { revision: r.revision, duplicate: r.duplicate, response: r.response } };
  return { requestId, ok: false, error: failureToError(r.error) };
}
