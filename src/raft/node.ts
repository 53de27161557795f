/**
 * RaftNode: the shell's handle on the pure Raft core (etcd's RawNode).
 * tick / step / propose... change state; ready() says what to persist, send
 * and apply; advance(ready) says it was done.
 *
 * Contract details beyond src/raft/types.ts:
 *  - One Ready at a time: hasReady() is false while a Ready is outstanding and
 *    ready() before advance() is an assertion failure. step()/tick()/propose()
 *    may be called in between; their effects go into the next Ready.
 *  - Bootstrap: a node whose storage is empty (term 0, no entries, no
 *    snapshot) and whose init.conf has voters writes the membership as
 *    committed ConfChange entries 1..n of term 1 in its first Ready (etcd's
 *    Bootstrap), so members added later learn it from the log. Every founding
 *    member must bootstrap with the same conf; a joining node starts with an
 *    empty conf and is added by a conf change. The state machine must skip
 *    ConfChange entries (or decode them with decodeConfChange).
 *  - Membership changes take effect when APPLIED: in advance() for the
 *    committed entries of that Ready. See raft.ts for the safety rules.
 *  - Refusals never throw: proposals and reads this node cannot serve are
 *    listed in Ready.droppedProposals with a code (ERR_NOT_LEADER naming the
 *    known leader or '', ERR_PROPOSAL_DROPPED, ERR_CONF_CHANGE_IN_PROGRESS,
 *    ERR_INVALID_ARGUMENT, ERR_UNAVAILABLE for reads). A proposal forwarded to
 *    the leader and dropped there is only counted: the client must time out.
 *  - ReadIndex contexts must be unique cluster-wide (e.g. prefix the node id).
 *  - Strangers: a message whose sender is outside the configuration (not a
 *    voter or learner in force, not named by a conf change in the log, not a
 *    leader a member vouched for) is dropped and counted
 *    (counters.messagesDroppedUnknownPeer) before it can move term, log,
 *    commit or a quorum. The shell must make `from` the authenticated sender
 *    (the cluster transport does). A node with an empty configuration (about
 *    to bootstrap or be added) hears everyone.
 *  - Numbers: terms and indexes stay within wireUintMax (src/wire/uint.ts):
 *    at the bound a campaign is refused (counters.campaignsRefusedAtBound)
 *    and a proposal dropped, never an exception.
 *  - InstallSnapshot: SnapResp acknowledges each chunk (rejectHint = bytes
 *    held; reject = out of order) and, with commit > 0, the install itself;
 *    the leader keeps the follower in snapshot state until then.
 */
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { encodeConfChange } from './conf-change.js';
import type { RaftConfig } from './config.js';
import { hup } from './election.js';
import { emptyBytes } from './message.js';
import { Raft } from './raft.js';
import { proposeLocal, readIndexLocal, transferLocal } from './requests.js';
import type { PeerProgressStatus, RaftStatus } from './status.js';
import {
  EntryType,
  type ConfChange,
  type HardState,
  type Message,
  type NodeId,
  type RaftInitialState,
  type Ready,
  type SoftState,
} from './types.js';

export class RaftNode {
  private readonly r: Raft;
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private outstanding: Ready | undefined = undefined;

  constructor(config: RaftConfig, init: RaftInitialState, rng: Rng) {
    try {
      this.r = new Raft(config, init, rng);
    } catch (cause) {
      throw new ShoalError(ErrorCode.InvalidArgument, `cannot start raft node ${config.id}: ${(cause as Error).message}`, { cause });
    }
    // What storage holds already; a bootstrap changes it and so emits a HardState.
    this.prevHardState = { ...init.hardState };
    this.prevSoftState = { leader: '', role: this.r.role };
  }

  tick(): void {
    this.r.tick();
  }

  step(msg: Message): void {
    this.r.step(msg);
  }

  propose(data: Uint8Array, context?: Uint8Array): void {
    proposeLocal(this.r, EntryType.Normal, data, context ?? emptyBytes);
  }

  proposeConfChange(cc: ConfChange, context?: Uint8Array): void {
    let data: Uint8Array;
    try {
      data = encodeConfChange(cc);
    } catch {
      this.r.reportDrop(this.r.id, context ?? emptyBytes, ErrorCode.InvalidArgument, 'proposal');
      return;
    }
    proposeLocal(this.r, EntryType.ConfChange, data, context ?? emptyBytes);
  }

  readIndex(context: Uint8Array): void {
    readIndexLocal(this.r, context);
  }

  transferLeadership(to: NodeId): void {
    transferLocal(this.r, to);
  }

  campaign(): void {
    hup(this.r, false);
  }

  private hardState(): HardState {
    return { term: this.r.term, vote: this.r.vote, commit: this.r.log.committed };
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const r = this.r;
    const hs = this.hardState();
    const p = this.prevHardState;
    return (
      hs.term !== p.term ||
      hs.vote !== p.vote ||
      hs.commit !== p.commit ||
      r.lead !== this.prevSoftState.leader ||
      r.role !== this.prevSoftState.role ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.dropped.length > 0 ||
      r.log.pendingSnapshot !== undefined ||
      r.log.stableIndex < r.log.lastIndex() ||
      r.log.hasNextCommittedEntries()
    );
  }

  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() called again before advance()');
    const r = this.r;
    const rd: Ready = {
      entries: r.log.unstableEntries(),
      messages: r.msgs,
      committedEntries: r.log.nextCommittedEntries(r.cfg.maxSizePerMsgBytes),
      readStates: r.readStates,
      droppedProposals: r.dropped,
    };
    const soft: SoftState = { leader: r.lead, role: r.role };
    if (soft.leader !== this.prevSoftState.leader || soft.role !== this.prevSoftState.role) {
      rd.softState = soft;
      this.prevSoftState = soft;
    }
    const hs = this.hardState();
    const p = this.prevHardState;
    if (hs.term !== p.term || hs.vote !== p.vote || hs.commit !== p.commit) {
      rd.hardState = hs;
      this.prevHardState = hs;
    }
    if (r.log.pendingSnapshot !== undefined) rd.snapshot = r.log.pendingSnapshot;
    r.msgs = [];
    r.readStates = [];
    r.dropped = [];
    r.reduceUncommittedSize(rd.committedEntries);
    this.outstanding = rd;
    return rd;
  }

  advance(ready: Ready): void {
    assert(this.outstanding === ready, 'advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const r = this.r;
    if (ready.snapshot !== undefined) {
      r.log.snapshotApplied(ready.snapshot.meta.index);
      r.snapshot = ready.snapshot;
    }
    if (ready.entries.length > 0) {
      const last = ready.entries[ready.entries.length - 1];
      r.log.stableTo(last.index, last.term);
    }
    for (const e of ready.committedEntries) {
      // Membership takes effect once the shell has applied the entry.
      if (e.type === EntryType.ConfChange) r.applyConfChangeEntry(e);
      r.log.appliedTo(e.index);
    }
  }

  compact(index: number, snapshotData: Uint8Array): void {
    const log = this.r.log;
    if (index <= log.snapshotIndex) return; // already compacted past it
    if (index > log.applied) {
      throw new ShoalError(ErrorCode.InvalidArgument, `compact(${index}) beyond applied index ${log.applied}`);
    }
    this.r.compact(index, snapshotData);
  }

  status(): RaftStatus {
    const r = this.r;
    const progress: Record<NodeId, PeerProgressStatus> = {};
    if (r.role === 'leader') for (const [id, pr] of r.progress) progress[id] = pr.view();
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      role: r.role,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      voters: [...r.voters],
      learners: [...r.learners],
      progress,
      leadTransferee: r.leadTransferee,
      counters: { ...r.counters },
    };
  }
}
