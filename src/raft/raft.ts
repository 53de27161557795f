/**
 * The Raft state machine (etcd-io/raft's raft.go): terms, votes, roles and
 * the dispatch of messages and ticks to role handlers. Role behaviour lives in
 * follower.ts (followers and candidates) and leader.ts; replication.ts sends
 * entries, heartbeats and snapshots.
 *
 * Membership changes take effect when their entry is APPLIED (advance() after
 * the shell applied it), as in etcd-io/raft. Safety rules (single-server
 * changes): a leader accepts a change only once the no-op of its term has
 * committed and been applied and no earlier change is pending
 * (pendingConfIndex <= applied); a node with a committed but unapplied
 * change does not campaign; a leader removed (or demoted) by a change steps
 * down once it applies it.
 */
import { assert } from '../util/assert.js';
import { ErrorCode } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { RaftConfig } from './config.js';
import { handleVoteRequest, tickElection } from './election.js';
import { stepCandidate, stepFollower } from './follower.js';
import { leaderConfChanged, refuseRead, stepLeader, tickHeartbeat } from './leader.js';
import { RaftLog } from './log.js';
import { Membership, bootstrapEntries, pendingConfNodes } from './membership.js';
import {
  bytesEqual,
  campaignTransferContext,
  emptyBytes,
  isKnownMessageType,
  isTermless,
  isWellFormed,
  newMessage,
  voteResponseType,
  type MessageFields,
} from './message.js';
import { Progress } from './progress.js';
import { ReadOnly } from './read-only.js';
import { SnapshotAssembler } from './snapshot-chunks.js';
import { newRaftCounters, type RaftCounters } from './status.js';
import {
  EntryType,
  MessageType,
  RaftRole,
  type Entry,
  type Message,
  type NodeId,
  type RaftInitialState,
  type ReadState,
  type Snapshot,
} from './types.js';

export type StepFn = (r: Raft, m: Message) => void;
export type TickFn = (r: Raft) => void;

export interface DroppedProposal {
  context: Uint8Array;
  code: string;
  leader: NodeId | '';
}

/** Outgoing messages held until the next Ready; past it, messages are dropped (Raft tolerates loss). */
export const maxPendingMessages = 65_536;
/** Refused proposals and reads held until the next Ready. */
export const maxPendingDrops = 65_536;
/** ReadIndex requests waiting for a heartbeat quorum, or for the leader's first commit of its term. */
export const maxPendingReadIndex = 4096;
/** Leaders vouched for by members, remembered at once (a few: one per leader change we missed). */
export const maxVouchedLeaders = 8;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextEncoder();

/** The context of a vote refusal: the leader the refuser follows (noteVouchedLeader). */
function leaderContext(lead: NodeId): Uint8Array {
  return utf8.encode(lead);
}

export class Raft {
  readonly id: NodeId;
  readonly cfg: RaftConfig;
  private readonly rng: Rng;

  term = 0;
  vote: NodeId | '' = '';
  lead: NodeId | '' = '';
  role: RaftRole = RaftRole.Follower;
  readonly log: RaftLog;

  readonly membership: Membership;

  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  dropped: DroppedProposal[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** Logical clock: ticks since this node started (leader lease arithmetic). */
  tickCount = 0;
  /** Tick at which this leader last sent TimeoutNow: no lease reads for an election timeout after. */
  timeoutNowSentTick = Number.NEGATIVE_INFINITY;
  /**
   * Lease-based reads: after a restart we may have backed a leader's lease we
   * no longer remember, so we ignore vote requests for one election timeout.
   */
  private startupLeaseGuard: boolean;
  randomizedElectionTicks = 0;
  leadTransferee: NodeId | '' = '';
  pendingConfIndex = 0;
  uncommittedSizeBytes = 0;
  readOnly: ReadOnly;
  pendingReadIndex: { from: NodeId; context: Uint8Array }[] = [];
  /** The latest local snapshot (from compact() or installed from the leader), sent to slow followers. */
  snapshot: Snapshot | undefined;
  readonly assembler = new SnapshotAssembler();
  readonly counters: RaftCounters = newRaftCounters();

  private stepFn: StepFn = stepFollower;
  tickFn: TickFn = tickElection;
  /** Nodes named by unapplied conf changes in the log, cached for one log version and applied conf index. */
  private pendingPeers: { logVersion: number; confIndex: number; ids: ReadonlySet<NodeId> } | undefined;
  /** Leaders our own members named when refusing our votes (noteVouchedLeader); cleared when the membership changes. */
  private vouchedLeaders: NodeId[] = [];

  constructor(cfg: RaftConfig, init: RaftInitialState, rng: Rng) {
    this.id = cfg.id;
    this.cfg = cfg;
    this.rng = rng;
    this.readOnly = new ReadOnly(maxPendingReadIndex);
    this.snapshot = init.snapshot;
    this.startupLeaseGuard = cfg.readOnlyOption === 'lease-based' && init.hardState.term > 0;
    const fresh = init.hardState.term === 0 && init.snapshot === undefined && init.entries.length === 0;
    if (fresh && init.conf.voters.length > 0) {
      const ents = bootstrapEntries(init.conf);
      this.log = new RaftLog(undefined, [], 0);
      this.log.append(ents);
      this.log.commitTo(ents.length);
      this.term = 1;
      this.membership = new Membership(0, { voters: [], learners: [] });
    } else {
      this.log = new RaftLog(init.snapshot?.meta, init.entries, init.hardState.commit);
      this.term = init.hardState.term;
      this.vote = init.hardState.vote;
      this.membership = new Membership(this.log.snapshotIndex, init.snapshot?.meta.conf ?? init.conf);
    }
    // Committed conf changes are in force at once; their entries are still re-emitted for the state machine.
    for (let i = this.log.firstIndex(); i <= this.log.committed; i++) {
      const e = this.log.entryAt(i);
      if (e !== undefined) this.membership.applyEntry(e);
    }
    this.becomeFollower(this.term, '');
  }

  // ---- transitions ----

  becomeFollower(term: number, lead: NodeId | ''): void {
    // Reads a stepping-down leader had not confirmed are refused, not forgotten.
    const unansweredReads = this.role === RaftRole.Leader ? [...this.readOnly.drain(), ...this.pendingReadIndex] : [];
    this.reset(term);
    this.stepFn = stepFollower;
    this.tickFn = tickElection;
    this.lead = lead;
    this.role = RaftRole.Follower;
    for (const read of unansweredReads) refuseRead(this, read.from, read.context, ErrorCode.NotLeader);
  }

  becomePreCandidate(): void {
    assert(this.role !== RaftRole.Leader, 'invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote.
    this.stepFn = stepCandidate;
    this.tickFn = tickElection;
    this.votes = new Map();
    this.lead = '';
    this.role = RaftRole.PreCandidate;
  }

  becomeCandidate(): void {
    assert(this.role !== RaftRole.Leader, 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.stepFn = stepCandidate;
    this.tickFn = tickElection;
    this.vote = this.id;
    this.role = RaftRole.Candidate;
  }

  becomeLeader(): void {
    assert(this.role === RaftRole.Candidate, `invalid transition [${this.role} -> leader]`);
    this.reset(this.term);
    this.stepFn = stepLeader;
    this.tickFn = tickHeartbeat;
    this.lead = this.id;
    this.role = RaftRole.Leader;
    const self = this.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Conservatively treat the whole log as possibly holding a conf change:
    // no new change until everything up to the no-op is applied.
    this.pendingConfIndex = this.log.lastIndex();
    this.appendEntries([{ term: this.term, index: this.log.lastIndex() + 1, type: EntryType.Normal, data: emptyBytes }]);
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = '';
    }
    this.lead = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTicks = this.cfg.electionTicks + this.rng.int(this.cfg.electionTicks);
    this.leadTransferee = '';
    this.votes = new Map();
    this.progress = new Map();
    for (const id of [...this.voters, ...this.learners]) this.progress.set(id, this.newProgress(id));
    this.pendingConfIndex = 0;
    this.uncommittedSizeBytes = 0;
    this.readOnly = new ReadOnly(maxPendingReadIndex);
    this.pendingReadIndex = [];
  }

  newProgress(id: NodeId): Progress {
    const pr = new Progress(this.log.lastIndex() + 1, this.learners.includes(id), this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    if (id === this.id) pr.match = this.log.lastIndex();
    return pr;
  }

  // ---- messages ----

  send(f: MessageFields): void {
    const m = newMessage(this.id, f);
    if (m.type === MessageType.Vote || m.type === MessageType.PreVote || m.type === MessageType.VoteResp || m.type === MessageType.PreVoteResp) {
      assert(m.term !== 0, `${m.type} must carry a term`);
    } else if (!isTermless(m.type)) {
      m.term = this.term;
    }
    if (this.msgs.length >= maxPendingMessages) {
      this.counters.messagesDroppedQueueFull++;
      return;
    }
    this.msgs.push(m);
  }

  /** Passes a message on unchanged except for its destination (keeps the original sender). */
  forward(m: Message, to: NodeId): void {
    if (this.msgs.length >= maxPendingMessages) {
      this.counters.messagesDroppedQueueFull++;
      return;
    }
    this.msgs.push({ ...m, to });
  }

  step(m: Message): void {
    if (!isWellFormed(m) || !isKnownMessageType(m.type)) {
      this.counters.messagesDroppedUnexpected++;
      return;
    }
    if (m.to !== this.id || m.from === this.id) {
      this.counters.messagesDroppedStale++;
      return;
    }
    if (!this.mayHear(m)) {
      // Before any term handling: a stranger moves no term, log, commit or quorum.
      this.counters.messagesDroppedUnknownPeer++;
      return;
    }
    if ((m.type === MessageType.VoteResp || m.type === MessageType.PreVoteResp) && m.reject && m.context.length > 0 && this.isKnownPeer(m.from)) {
      this.noteVouchedLeader(m.context);
    }
    if (m.term === 0) {
      if (!isTermless(m.type)) {
        this.counters.messagesDroppedUnexpected++;
        return;
      }
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = bytesEqual(m.context, campaignTransferContext);
        const inLease =
          this.cfg.checkQuorum && (this.lead !== '' || this.startupLeaseGuard) && this.electionElapsed < this.cfg.electionTicks;
        if (!force && inLease) {
          // Leader stickiness: a leader was heard within the election timeout. The refusal
          // names that leader (a voter that missed the change that added it can follow it).
          this.counters.votesIgnoredInLease++;
          if (this.lead !== '') this.send({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true, context: leaderContext(this.lead) });
          return;
        }
      }
      if (m.type === MessageType.PreVote || (m.type === MessageType.PreVoteResp && !m.reject)) {
        // A pre-vote never changes our term; a granted pre-vote response carries the future term.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, '');
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === MessageType.App || m.type === MessageType.Heartbeat)) {
        // Tell a stale leader (e.g. one that was partitioned) about our term so it steps down.
        this.send({ type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      } else {
        this.counters.messagesDroppedStale++;
      }
      return;
    }
    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      handleVoteRequest(this, m);
      return;
    }
    this.stepFn(this, m);
  }

  /**
   * Whether `m.from` may speak to this node at all: a voter or learner of the
   * membership in force, or a node a conf change in our log (not yet applied)
   * names. etcd drops responses from unknown ids (rawnode.go) and its server
   * every message from a removed member; here every message from outside the
   * configuration is dropped, as the transport authenticates `from`. The one
   * exception: a node that knows no configuration at all (started empty to
   * join, or to be voted in by the member that bootstraps the cluster) hears
   * everyone: it has no term, log or quorum worth protecting yet, and it
   * learns its configuration (and casts its first votes) from whoever forms
   * or leads the cluster.
   */
  private mayHear(m: Message): boolean {
    if (this.isKnownPeer(m.from) || this.vouchedLeaders.includes(m.from)) return true;
    return this.voters.length === 0 && this.learners.length === 0;
  }

  /**
   * A voter or learner of ours refused our vote request naming the leader it
   * follows. That leader may be a node added by changes we missed (we were cut
   * off meanwhile): without them in our log it is a stranger to us, and
   * without hearing it we never get them. A member of our configuration
   * vouches for it, so we hear it (until our membership changes). Only a
   * member can vouch, and a hostile member could send us anything itself.
   */
  private noteVouchedLeader(context: Uint8Array): void {
    let id: string;
    try {
      id = strictUtf8.decode(context);
    } catch {
      this.counters.messagesDroppedUnexpected++;
      return;
    }
    if (id === this.id || this.isKnownPeer(id) || this.vouchedLeaders.includes(id)) return;
    if (this.vouchedLeaders.length >= maxVouchedLeaders) this.vouchedLeaders.shift();
    this.vouchedLeaders.push(id);
  }

  /** A voter or learner in force, or a node named by a conf change in the log not yet applied. */
  isKnownPeer(id: NodeId): boolean {
    if (this.membership.includes(id)) return true;
    const confIndex = this.membership.confIndex;
    let p = this.pendingPeers;
    if (p === undefined || p.logVersion !== this.log.version || p.confIndex !== confIndex) {
      p = { logVersion: this.log.version, confIndex, ids: pendingConfNodes(this.log, confIndex) };
      this.pendingPeers = p;
    }
    return p.ids.has(id);
  }

  // ---- log ----

  /** Leader: appends entries of its term; false if refused by the uncommitted-bytes limit. */
  appendEntries(ents: Entry[]): boolean {
    let size = 0;
    for (const e of ents) size += e.data.length;
    if (this.uncommittedSizeBytes > 0 && size > 0 && this.uncommittedSizeBytes + size > this.cfg.maxUncommittedEntriesBytes) {
      return false;
    }
    this.uncommittedSizeBytes += size;
    const last = this.log.append(ents);
    this.progress.get(this.id)?.maybeUpdate(last);
    return true;
  }

  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.role !== RaftRole.Leader) return;
    let size = 0;
    for (const e of ents) size += e.data.length;
    this.uncommittedSizeBytes = Math.max(0, this.uncommittedSizeBytes - size);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** A read this node's client may serve once applied >= index (bounded until the next Ready). */
  pushReadState(rs: ReadState): void {
    if (this.readStates.length >= maxPendingReadIndex) {
      this.counters.readIndexDropped++;
      return;
    }
    this.readStates.push(rs);
  }

  reportDrop(origin: NodeId, context: Uint8Array, code: ErrorCode, kind: 'proposal' | 'read'): void {
    if (kind === 'proposal') this.counters.proposalsDropped++;
    else this.counters.readIndexDropped++;
    if (origin !== this.id || this.dropped.length >= maxPendingDrops) return;
    this.dropped.push({ context, code, leader: this.lead });
  }

  // ---- membership ----

  get voters(): NodeId[] {
    return this.membership.voters;
  }

  get learners(): NodeId[] {
    return this.membership.learners;
  }

  /** The shell applied `e`: a conf change takes effect now. */
  applyConfChangeEntry(e: Entry): void {
    if (this.membership.applyEntry(e) !== undefined) this.membershipChanged();
  }

  /** Leader: track new peers, forget removed ones, then react (leader.ts). */
  private membershipChanged(): void {
    this.vouchedLeaders = [];
    if (this.role !== RaftRole.Leader) return;
    for (const id of [...this.voters, ...this.learners]) {
      let pr = this.progress.get(id);
      if (pr === undefined) {
        pr = this.newProgress(id);
        pr.recentActive = true;
        this.progress.set(id, pr);
      }
      pr.isLearner = this.learners.includes(id);
    }
    for (const id of [...this.progress.keys()]) {
      if (!this.voters.includes(id) && !this.learners.includes(id)) this.progress.delete(id);
    }
    leaderConfChanged(this);
  }

  /** Follower: install a snapshot from the leader. Returns false if it was not needed. */
  restore(snap: Snapshot): boolean {
    if (snap.meta.index <= this.log.committed) return false;
    // The snapshot may predate our own addition (the leader compacted before adding us):
    // install it anyway; the conf change that added us follows in the log.
    if (this.log.matchTerm(snap.meta.index, snap.meta.term)) {
      // We already hold the snapshot's last entry: fast-forward commit instead.
      this.log.commitTo(snap.meta.index);
      return false;
    }
    this.log.restore(snap);
    this.membership.resetTo(snap.meta.index, snap.meta.conf);
    this.membershipChanged();
    this.counters.snapshotsInstalled++;
    return true;
  }

  /** The shell snapshotted the state machine at applied `index`: keep it and drop the log up to it. */
  compact(index: number, data: Uint8Array): void {
    const term = this.log.term(index);
    assert(term !== undefined, `compact ${index}: no such entry`);
    const conf = this.membership.confAt(index);
    this.log.compact(index);
    this.membership.compactTo(index);
    this.snapshot = { meta: { index, term, conf }, data };
  }

  tick(): void {
    this.tickCount++;
    if (this.electionElapsed + 1 >= this.cfg.electionTicks) this.startupLeaseGuard = false;
    this.tickFn(this);
  }
}
