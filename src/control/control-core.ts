/**
 * ControlCore: the control plane of one member as a pure state machine
 * (its contract with the shell is control-types.ts). It composes
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
import { validateRaftConfig, type RaftConfig } from '../raft/config.js';
import { RaftNode } from '../raft/node.js';
import type { RaftStatus } from '../raft/status.js';
import { ConfChangeType, MessageType, RaftRole, type Message, type RaftInitialState, type Ready } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { AutopilotDriver, controlAutopilotConfig } from './autopilot-driver.js';
import { identityKey, identityRecorded, planIdentities, recordedIdentity } from './identity.js';
import { clusterIdOf } from './autopilot/tags.js';
import { BootstrapDriver } from './bootstrap-driver.js';
import { ControlTags } from './control-tags.js';
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
import { encodeEnvelope, formatTag, parseTag, tagBytes, tagOf } from './entry-envelope.js';
import { InternalClient, LeaseDriver } from './lease-driver.js';
import { AppliedState, type ApplyCallbacks } from './applied-state.js';
import { readContext, RequestTracker } from './requests.js';
import { encodeCommand, type Command } from './store/commands.js';
import { ConfigStore, failureToError } from './store/config-store.js';
import type { ApplyResult } from './store/types.js';
import { utf8Bytes } from './store/keys.js';
import { validateCommand } from './store/validate.js';

export type { ControlConfig } from './control-config.js';
export type * from './control-types.js';

/** Request ids longer than this are refused (they travel in every entry). */
export const requestIdBytesMax = 256;

const autopilotRequestId = 'shoal.autopilot';
const utf8Encoder = new TextEncoder();
/** Identity records written in one txn: a handful of new members at a time. */
const identityWritesMax = 16;

/** Vote and pre-vote requests (not their responses). */
function isVoteRequest(m: Message): boolean {
  return m.type === MessageType.Vote || m.type === MessageType.PreVote;
}

export class ControlCore {
  readonly config: ControlConfig;
  private readonly raftConfig: RaftConfig;
  private readonly incarnation: string;
  private node: RaftNode | undefined;
  private readonly state: AppliedState;
  private readonly boot: BootstrapDriver;
  private readonly requests: RequestTracker;
  private readonly autopilot: AutopilotDriver;
  private readonly leases: LeaseDriver;
  private readonly internalClient: InternalClient;
  private nowMs: number;
  /** The last gossip view, for a bootstrap decision re-made after this member committed. */
  private lastMembers: readonly MemberInfo[] = [];
  private redecideBootstrap = false;
  private nextRaftTickMs: number;
  /** --quota-bytes: the leader proposes it when the store's differs (setQuotaBytes). */
  private quotaBytes: number | undefined;

  private nextIdentityWriteMs = 0;
  private role: RaftRole | 'none' = 'none';
  private leader = '';
  /** Is this member a voter or learner? Refreshed when membership may have changed (conf change applied, snapshot). */
  private inConf = false;
  private confDirty = false;

  private readonly events: ControlEvent[] = [];
  /** Joined with an empty log, own node id not yet applied: no votes, no campaign (identity.ts). */
  private fresh: boolean;
  private identityConfirmedOut = false;
  private startRaftOut: ControlReady['startRaft'];
  private compactedOut: ControlReady['compactedSnapshot'];
  private readonly tags: ControlTags;
  private outstanding: ControlReady | undefined;
  readonly counters: ControlCounters = newControlCounters();

  constructor(config: Partial<ControlConfig> & { name: string }, init: ControlInit, private readonly rng: Rng, nowMs: number) {
    this.config = validateControlConfig(config);
    this.raftConfig = validateRaftConfig({ ...controlRaftDefaults, ...this.config.raft, id: this.config.name });
    const autopilotConfig = controlAutopilotConfig(this.config.autopilot, this.config.bootstrapExpect);
    this.incarnation = (rng.int(0x100000000) >>> 0).toString(16).padStart(8, '0');
    this.internalClient = new InternalClient(this.config.name, this.incarnation);
    const retryIntervalMs = Math.max(this.config.tickMs, Math.floor(this.config.requestTimeoutMs / 4));
    this.requests = new RequestTracker(this.config.maxPendingRequests, retryIntervalMs, this.counters, (code) => this.internalClient.onResult(code));
    this.state = new AppliedState(this.events, this.counters);
    this.autopilot = new AutopilotDriver(autopilotConfig, this.config.autopilotIntervalMs, this.config.requestTimeoutMs);
    this.leases = new LeaseDriver(this.config.leaseCheckIntervalMs);
    this.boot = new BootstrapDriver(this.config.name, this.config.eligible, this.config.bootstrapExpect, init.bootCommitment);
    this.tags = new ControlTags(this.config.revTagIntervalMs);
    this.tags.bootTag = this.boot.bootTag;
    this.nowMs = nowMs;
    this.nextRaftTickMs = nowMs + this.config.tickMs;
    this.fresh = init.fresh === true && this.config.nodeId !== '';
    if (init.raft !== undefined) this.openRaft(init.raft, init.clusterId);
  }

  /** The store (read-only use: watches and serializable reads). Replaced when a snapshot is installed. */
  get store(): ConfigStore {
    return this.state.store;
  }

  get bootstrapped(): boolean {
    return this.node !== undefined;
  }

  // ---- inputs ------------------------------------------------------------------

  onMembership(members: MemberInfo[], nowMs: number): void {
    this.now(nowMs);
    this.autopilot.onMembership(members);
    this.lastMembers = members;
    if (this.node === undefined) {
      this.decideBootstrap();
    } else if (this.tags.clusterId === undefined) {
      // Raft state without a persisted cluster id: take the one gossip shows.
      for (const m of members) {
        const id = m.name === this.config.name ? undefined : clusterIdOf(m.tags);
        if (id !== undefined) {
          this.tags.clusterId = id;
          break;
        }
      }
    }
  }

  private decideBootstrap(): void {
    const outcome = this.boot.decide(this.lastMembers);
    this.tags.bootTag = this.boot.bootTag;
    // Having just committed (or released), decide again at the next tick: our own tag change brings no gossip event.
    this.redecideBootstrap = this.boot.unpersistedCommitment !== undefined;
    if (outcome.kind !== 'start') return;
    const initial: RaftInitialState = {
      hardState: { term: 0, vote: '', commit: 0 },
      entries: [],
      conf: { voters: outcome.voters, learners: [] },
    };
    // Joining an existing cluster with an empty log: withhold votes until the leader records this data directory.
    // Not a member of the committed bootstrap set: that commitment is durable proof this directory never held Raft state.
    const c = this.boot.commitment;
    const initialVoter = c !== undefined && !c.released && c.candidate.includes(this.config.name);
    this.fresh = outcome.voters.length === 0 && this.config.nodeId !== '' && !initialVoter;
    this.openRaft(initial, outcome.clusterId);
    this.startRaftOut = { initial: structuredClone(initial), clusterId: outcome.clusterId, fresh: this.fresh };
  }

  tick(nowMs: number): void {
    this.now(nowMs);
    if (this.node === undefined && this.redecideBootstrap) this.decideBootstrap();
    const node = this.node;
    // Half a tick of slack: a shell timer firing a little early must not skip a Raft tick.
    if (node !== undefined && this.nowMs + this.config.tickMs / 2 >= this.nextRaftTickMs) {
      node.tick();
      this.nextRaftTickMs += this.config.tickMs;
      // A late timer (a paused process) skips the missed ticks rather than bursting them.
      if (this.nextRaftTickMs <= this.nowMs) this.nextRaftTickMs = this.nowMs + this.config.tickMs;
    }
    this.requests.expire(this.nowMs, this.leader, this.config.requestTimeoutMs);
    if (node !== undefined && this.leader !== '') this.requests.retry(this.nowMs, node);
    if (node !== undefined && this.role === RaftRole.Leader) this.leaderDuties(node);
  }

  stepRaft(msg: Message): void {
    if (this.fresh && isVoteRequest(msg)) {
      // Its log may lack what its old identity acknowledged: a vote now could elect a stale leader.
      this.counters.votesWithheld++;
      return;
    }
    this.node?.step(msg);
  }

  write(requestId: string, command: Command, nowMs: number): void {
    this.now(nowMs);
    const refusal = this.admit(requestId) ?? validateCommand(command);
    if (refusal !== undefined) return this.requests.refuse(requestId, refusal);
    const tag = this.tagFor(requestId);
    const data = encodeEnvelope(tag, encodeCommand(command));
    if (data === undefined) return this.requests.refuse(requestId, new ShoalError(ErrorCode.InvalidArgument, 'request id too long'));
    this.requests.add({ kind: 'write', requestId, tag, data, ...this.timing(), internal: false });
    this.node!.propose(data, tagBytes(tag));
  }

  read(requestId: string, query: ReadQuery, linearizable: boolean, nowMs: number): void {
    this.now(nowMs);
    if (!linearizable) {
      this.requests.answer(this.state.read(requestId, query));
      return;
    }
    const refusal = this.admit(requestId);
    if (refusal !== undefined) return this.requests.refuse(requestId, refusal);
    const tag = this.tagFor(requestId);
    this.requests.add({ kind: 'read', requestId, tag, query, attempt: 0, readIndex: undefined, ...this.timing(), internal: false });
    this.node!.readIndex(tagBytes(readContext(tag, 0)));
  }

  /**
   * The space quota this member was configured with (--quota-bytes), or
   * undefined to leave the store's as it is. The quota is replicated state:
   * while this member leads it proposes setQuota until the store has it
   * (with members configured differently, the leader's setting wins).
   */
  setQuotaBytes(quotaBytes: number | undefined): void {
    if (quotaBytes !== undefined) {
      const invalid = validateCommand({ type: 'setQuota', req: { client: 'check', seq: 1 }, quotaBytes });
      if (invalid !== undefined) throw invalid;
    }
    this.quotaBytes = quotaBytes;
  }

  transferLeadership(to: string): void {
    this.node?.transferLeadership(to);
  }

  removePeer(name: string, requestId: string): void {
    const refusal = this.admit(requestId);
    if (refusal !== undefined) return this.requests.refuse(requestId, refusal);
    const tag = this.tagFor(requestId);
    this.requests.add({ kind: 'remove-peer', requestId, tag, node: name, ...this.timing(), internal: false });
    this.node!.proposeConfChange({ type: ConfChangeType.RemoveNode, node: name }, tagBytes(tag));
  }

  // ---- ready / advance ---------------------------------------------------------

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    return (
      this.requests.hasResults ||
      this.events.length > 0 ||
      this.startRaftOut !== undefined ||
      this.compactedOut !== undefined ||
      this.boot.unpersistedCommitment !== undefined ||
      this.tags.changed() ||
      (this.node?.hasReady() ?? false)
    );
  }

  ready(): ControlReady {
    assert(this.outstanding === undefined, 'ControlCore.ready() called again before advance()');
    const rd: ControlReady = { results: this.requests.takeResults(), events: this.events.splice(0), tags: this.tags.take() };
    // The change feed held back while the events were pending: it goes on into the next ready.
    this.state.changesTaken();
    if (this.startRaftOut !== undefined) rd.startRaft = this.startRaftOut;
    this.startRaftOut = undefined;
    if (this.boot.unpersistedCommitment !== undefined) rd.bootCommitment = this.boot.unpersistedCommitment;
    this.boot.unpersistedCommitment = undefined;
    if (this.compactedOut !== undefined) rd.compactedSnapshot = this.compactedOut;
    this.compactedOut = undefined;
    if (this.identityConfirmedOut) rd.identityConfirmed = true;
    this.identityConfirmedOut = false;
    if (this.node?.hasReady()) {
      rd.raft = this.node.ready();
      if (this.fresh) rd.raft = this.withoutCampaign(rd.raft);
    }
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
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > this.state.appliedIndex) {
      const before = this.state.store.revision;
      this.state.restore(rd.snapshot);
      this.counters.snapshotsRestored++;
      this.confDirty = true;
      // The store jumped: tell followers of config-changed to re-read (changes are not itemized).
      if (this.state.store.revision !== before) this.events.push({ type: 'config-changed', revision: this.state.store.revision, changes: [] });
    }
    for (const e of rd.committedEntries) this.state.apply(e, this.applyCallbacks);
    for (const d of rd.droppedProposals) this.onDropped(d.context, d.code);
    for (const rs of rd.readStates) {
      const context = tagOf(rs.context);
      if (context !== undefined) this.requests.onReadIndex(context, rs.index);
    }
    node.advance(rd);
    if (this.fresh && recordedIdentity(this.state.store, this.config.name) === this.config.nodeId) {
      // The leader recorded this data directory: the old identity is out of the configuration, votes are safe.
      this.fresh = false;
      this.identityConfirmedOut = true;
    }
    if (this.confDirty) this.refreshConf(node);
    this.requests.answerReads(this.state.appliedIndex, (id, q) => this.state.read(id, q));
    if (this.state.snapshotDue(this.config.snapshotEveryEntries)) {
      const s = node.status();
      this.compactedOut = this.state.takeSnapshot({ voters: s.voters, learners: s.learners });
      node.compact(this.compactedOut.meta.index, this.compactedOut.data);
    }
  }

  private readonly applyCallbacks: ApplyCallbacks = {
    confChange: (cc) => {
      this.confDirty = true;
      this.autopilot.onConfChangeApplied(cc);
      this.requests.onConfChangeApplied(cc);
    },
    applied: (rawTag, result) => {
      const tag = parseTag(rawTag);
      if (tag !== undefined && tag.origin === this.config.name && tag.incarnation === this.incarnation) {
        this.requests.onApplied(rawTag, resultOf(tag.requestId, result));
      }
    },
  };

  private onDropped(context: Uint8Array, code: string): void {
    const tag = tagOf(context);
    if (tag === undefined) return;
    if (tag === this.tagFor(autopilotRequestId)) this.autopilot.onProposalDropped();
    else this.requests.onDropped(tag, code);
  }

  // ---- requests ----------------------------------------------------------------

  /** Why a request cannot be taken now, or undefined. */
  private admit(requestId: string): ShoalError | undefined {
    if (requestId.length === 0 || utf8Bytes(requestId) > requestIdBytesMax) {
      return new ShoalError(ErrorCode.InvalidArgument, `request id must be 1..${requestIdBytesMax} bytes`);
    }
    if (!this.isMember()) {
      return new ShoalError(ErrorCode.NoQuorum, this.node === undefined ? 'not bootstrapped yet' : `${this.config.name} is neither voter nor learner`);
    }
    if (this.requests.has(this.tagFor(requestId))) return new ShoalError(ErrorCode.InvalidArgument, `request ${requestId} is already in flight`);
    if (this.requests.full) return new ShoalError(ErrorCode.ResourceExhausted, `${this.requests.size} requests in flight, at most ${this.requests.max}`);
    return undefined;
  }

  private isMember(): boolean {
    return this.node !== undefined && this.inConf;
  }

  private refreshConf(node: RaftNode): void {
    this.confDirty = false;
    const s = node.status();
    this.inConf = s.voters.includes(this.config.name) || s.learners.includes(this.config.name);
  }

  private timing(): { deadlineMs: number; lastAttemptMs: number; retryDue: boolean } {
    return { deadlineMs: this.nowMs + this.config.requestTimeoutMs, lastAttemptMs: this.nowMs, retryDue: false };
  }

  private tagFor(requestId: string): string {
    return formatTag({ origin: this.config.name, incarnation: this.incarnation, requestId });
  }

  // ---- leader duties -----------------------------------------------------------

  private leaderDuties(node: RaftNode): void {
    const busy = this.requests.internalInFlight;
    const cmd = this.leases.tick(this.state.store, this.nowMs, busy, () => this.internalClient.next());
    if (cmd !== undefined) this.proposeInternal(node, cmd);
    else if (!busy && this.quotaBytes !== undefined && this.quotaBytes !== this.state.store.capacity.quotaBytes) {
      this.proposeInternal(node, { type: 'setQuota', req: this.internalClient.next(), quotaBytes: this.quotaBytes });
    }
    if (this.autopilot.due(this.nowMs)) {
      const replaced = this.identityDuty(node, busy || cmd !== undefined);
      const s = node.status();
      const action = this.autopilot.plan(this.nowMs, {
        leader: this.config.name,
        voters: s.voters,
        learners: s.learners,
        progress: s.progress,
        lastIndex: s.lastIndex,
        replaced,
        addable: (m) => this.config.nodeId === '' || identityRecorded(this.state.store, m),
      });
      if (action?.kind === 'change') {
        this.counters.confChangesProposed++;
        if (action.cc.type === ConfChangeType.RemoveNode && replaced.has(action.cc.node)) this.counters.identitiesReplaced++;
        node.proposeConfChange(action.cc, tagBytes(this.tagFor(autopilotRequestId)));
      } else if (action?.kind === 'transfer') {
        node.transferLeadership(action.to);
      }
    }
    this.tags.leaderRevision(this.state.store.revision, this.nowMs);
  }

  /** A fresh member's own vote requests are not sent: it cannot win, and its term does not disturb the cluster. */
  private withoutCampaign(rd: Ready): Ready {
    const messages = rd.messages.filter((m) => !isVoteRequest(m));
    if (messages.length === rd.messages.length) return rd;
    this.counters.votesWithheld += rd.messages.length - messages.length;
    return { ...rd, messages };
  }

  /**
   * The leader's identity duty (identity.ts), once per autopilot interval:
   * record the node id of members it may add (and adopt those of members
   * already in), and name the wiped ones for autopilot to remove first.
   */
  private identityDuty(node: RaftNode, busy: boolean): ReadonlySet<string> {
    if (this.config.nodeId === '') return new Set();
    const s = node.status();
    const plan = planIdentities(this.state.store, this.config.name, this.lastMembers, new Set([...s.voters, ...s.learners]));
    if (!busy && plan.writes.length > 0 && this.nowMs >= this.nextIdentityWriteMs) {
      this.nextIdentityWriteMs = this.nowMs + this.config.autopilotIntervalMs;
      const puts = plan.writes.slice(0, identityWritesMax).map((w) => ({ type: 'put' as const, key: identityKey(w.name), value: utf8Encoder.encode(w.nodeId) }));
      this.counters.identitiesRecorded += puts.length;
      this.proposeInternal(node, { type: 'txn', req: this.internalClient.next(), compare: [], success: puts, failure: [] });
    }
    return new Set(plan.replaced);
  }

  private proposeInternal(node: RaftNode, cmd: Command): void {
    const requestId = `shoal.internal/${cmd.req.client}/${cmd.req.seq}`;
    const tag = this.tagFor(requestId);
    const data = encodeEnvelope(tag, encodeCommand(cmd));
    if (data === undefined || this.requests.full) return;
    if (cmd.type === 'leaseExpire') this.counters.leaseExpiriesProposed++;
    this.requests.add({ kind: 'write', requestId, tag, data, ...this.timing(), internal: true });
    node.propose(data, tagBytes(tag));
  }

  // ---- raft lifecycle ----------------------------------------------------------

  private openRaft(initial: RaftInitialState, clusterId: string | undefined): void {
    if (initial.snapshot !== undefined) this.state.restore(initial.snapshot);
    this.node = new RaftNode(this.raftConfig, initial, this.rng);
    this.refreshConf(this.node);
    this.tags.clusterId = clusterId;
    this.role = RaftRole.Follower;
  }

  private onSoftState(role: RaftRole, leader: string): void {
    const wasLeader = this.role === RaftRole.Leader;
    this.role = role;
    if (leader !== this.leader) {
      this.leader = leader;
      // Proposals and reads forwarded to the old leader may be lost: ask the new one.
      this.requests.onLeaderChanged();
      if (leader !== '') this.events.push({ type: 'leader-changed', leader, term: this.node!.status().term });
    }
    if (wasLeader && role !== RaftRole.Leader) {
      this.requests.forgetInternal();
      this.tags.notLeader();
    }
    if (role === RaftRole.Leader && !wasLeader) {
      this.leases.becameLeader();
      this.autopilot.onBecomeLeader(this.nowMs);
    }
  }

  // ---- tags, status ------------------------------------------------------------

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
      appliedIndex: this.state.appliedIndex,
      voters: s?.voters ?? [],
      learners: s?.learners ?? [],
      role: s?.role ?? 'none',
      clusterId: this.tags.clusterId ?? '',
      bootstrapped: this.node !== undefined,
      bootstrapState: this.node !== undefined ? 'running' : this.boot.state,
      revision: this.state.store.revision,
      compactedRevision: this.state.store.compactedRevision,
      progress: s?.progress ?? {},
      pendingRequests: this.requests.size,
      counters: { ...this.counters },
      alarms: this.state.store.alarms,
      space: this.state.store.spaceUsage(),
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
