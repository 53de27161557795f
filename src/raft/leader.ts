/**
 * The leader's handlers (etcd's stepLeader / tickHeartbeat): proposals,
 * replication responses, ReadIndex, leadership transfer, CheckQuorum, and
 * reacting to membership changes.
 */
import { ErrorCode } from '../util/errors.js';
import { wireUintMax } from '../wire/uint.js';
import { confChangeRefusal, decodeConfChange } from './conf-change.js';
import { emptyBytes } from './message.js';
import { committedIndex, quorumActive } from './quorum.js';
import type { Raft } from './raft.js';
import type { ReadIndexRequest } from './read-only.js';
import {
  bcastAppend,
  bcastHeartbeat,
  maybeCommit,
  maybeSendAppend,
  resendSnapshotFrom,
  sendAppend,
  sendSnapshotChunks,
  sendTimeoutNow,
  snapshotStallHeartbeats,
} from './replication.js';
import { ProgressState } from './status.js';
import { EntryType, MessageType, RaftRole, type Entry, type Message, type NodeId } from './types.js';

/** Reads held until the leader commits an entry of its term. */
export const maxReadsBeforeFirstCommit = 4096;

const utf8 = new TextDecoder();

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Prop:
      for (const e of m.entries) leaderPropose(r, m.from, e.type, e.data, m.context);
      return;
    case MessageType.ReadIndex:
      leaderReadIndex(r, m.from, m.context);
      return;
    case MessageType.TransferLeader:
      leaderTransfer(r, m.context.length > 0 ? utf8.decode(m.context) : m.from);
      return;
    case MessageType.AppResp:
      handleAppendResponse(r, m);
      return;
    case MessageType.HeartbeatResp:
      handleHeartbeatResponse(r, m);
      return;
    case MessageType.SnapResp:
      handleSnapshotResponse(r, m);
      return;
    default:
      // Another leader's traffic at our term cannot exist; VoteResp etc. are late.
      r.counters.messagesDroppedUnexpected++;
  }
}

export function tickHeartbeat(r: Raft): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.cfg.electionTicks) {
    r.electionElapsed = 0;
    if (r.cfg.checkQuorum) {
      const active = quorumActive(r.voters, (id) => id === r.id || r.progress.get(id)?.recentActive === true);
      for (const [id, pr] of r.progress) pr.recentActive = id === r.id;
      if (!active) {
        r.becomeFollower(r.term, '');
        return;
      }
    }
    // A transfer that did not finish within an election timeout is abandoned.
    r.leadTransferee = '';
  }
  if (r.heartbeatElapsed >= r.cfg.heartbeatTicks) {
    r.heartbeatElapsed = 0;
    bcastHeartbeat(r, r.readOnly.lastPendingContext() ?? emptyBytes);
  }
}

/** Appends a proposal (from this node or forwarded by `origin`), or reports why not. */
export function leaderPropose(r: Raft, origin: NodeId, type: EntryType, data: Uint8Array, context: Uint8Array): void {
  const drop = (code: ErrorCode): void => r.reportDrop(origin, context, code, 'proposal');
  if (!r.progress.has(r.id)) return drop(ErrorCode.ProposalDropped); // removed, stepping down
  if (r.leadTransferee !== '') return drop(ErrorCode.ProposalDropped);
  if (r.log.lastIndex() >= wireUintMax) return drop(ErrorCode.ProposalDropped); // the log is full: no index past the bound
  if (type === EntryType.ConfChange) {
    let refusal: string | undefined;
    try {
      refusal = confChangeRefusal({ voters: r.voters, learners: r.learners }, decodeConfChange(data));
    } catch {
      return drop(ErrorCode.InvalidArgument);
    }
    if (refusal !== undefined) return drop(ErrorCode.InvalidArgument);
    // One change at a time, and only after this term's no-op committed and applied.
    if (r.pendingConfIndex > r.log.applied || !r.committedEntryInCurrentTerm()) return drop(ErrorCode.ConfChangeInProgress);
  } else if (type !== EntryType.Normal) {
    return drop(ErrorCode.InvalidArgument);
  }
  const entry: Entry = { term: r.term, index: r.log.lastIndex() + 1, type, data };
  if (!r.appendEntries([entry])) return drop(ErrorCode.ProposalDropped);
  if (type === EntryType.ConfChange) r.pendingConfIndex = entry.index;
  if (maybeCommit(r)) releasePendingReadIndex(r); // single voter
  bcastAppend(r);
}

export function leaderReadIndex(r: Raft, from: NodeId, context: Uint8Array): void {
  if (r.voters.length === 1 && r.voters[0] === r.id) {
    respondRead(r, { index: r.log.committed, from, context, acks: new Set() });
    return;
  }
  if (!r.committedEntryInCurrentTerm()) {
    // Our commit index is not known to be current until an entry of our term commits (§6.4).
    if (r.pendingReadIndex.length >= maxReadsBeforeFirstCommit) return dropRead(r, from, context);
    r.pendingReadIndex.push({ from, context });
    return;
  }
  serveReadIndex(r, from, context);
}

/**
 * The leader lease: a quorum of voters answered heartbeats sent at or after
 * tick q, so none of them votes for another leader before q + electionTicks
 * (CheckQuorum stickiness). One tick of margin for clock drift. No lease
 * while a transfer is under way or shortly after TimeoutNow (a forced
 * campaign ignores stickiness).
 */
export function leaseValid(r: Raft): boolean {
  if (r.leadTransferee !== '' || r.tickCount < r.timeoutNowSentTick + r.cfg.electionTicks) return false;
  const q = committedIndex(r.voters, (id) => (id === r.id ? r.tickCount : (r.progress.get(id)?.heartbeatAckedSentTick ?? -Infinity)));
  return r.tickCount < q + r.cfg.electionTicks - 1;
}

function serveReadIndex(r: Raft, from: NodeId, context: Uint8Array): void {
  if (r.cfg.readOnlyOption === 'lease-based' && leaseValid(r)) {
    respondRead(r, { index: r.log.committed, from, context, acks: new Set() });
    return;
  }
  // Safe mode, or a lease-based read without a valid lease: confirm leadership with a heartbeat round.
  if (!r.readOnly.add(r.log.committed, from, context)) return dropRead(r, from, context);
  r.readOnly.recvAck(r.id, context);
  bcastHeartbeat(r, context);
}

function dropRead(r: Raft, from: NodeId, context: Uint8Array): void {
  refuseRead(r, from, context, ErrorCode.Unavailable);
}

/** Tells the reader (this node's client via Ready, or the forwarding follower) that its read failed. */
export function refuseRead(r: Raft, from: NodeId, context: Uint8Array, code: ErrorCode): void {
  r.reportDrop(from, context, code, 'read');
  if (from !== r.id) r.send({ type: MessageType.ReadIndexResp, to: from, reject: true, context });
}

function respondRead(r: Raft, req: ReadIndexRequest): void {
  if (req.from === r.id) r.pushReadState({ index: req.index, context: req.context });
  else r.send({ type: MessageType.ReadIndexResp, to: req.from, index: req.index, context: req.context });
}

function releasePendingReadIndex(r: Raft): void {
  if (!r.committedEntryInCurrentTerm()) return;
  const pending = r.pendingReadIndex;
  r.pendingReadIndex = [];
  for (const p of pending) serveReadIndex(r, p.from, p.context);
}

export function leaderTransfer(r: Raft, target: NodeId): void {
  const pr = r.progress.get(target);
  if (target === r.id || pr === undefined || pr.isLearner) {
    r.counters.messagesDroppedUnexpected++;
    return;
  }
  if (r.leadTransferee === target) return;
  // The transfer must finish within one election timeout (tickHeartbeat aborts it).
  r.electionElapsed = 0;
  r.leadTransferee = target;
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, target);
  else sendAppend(r, target);
}

function handleAppendResponse(r: Raft, m: Message): void {
  const pr = r.progress.get(m.from);
  if (pr === undefined) {
    r.counters.messagesDroppedStale++;
    return;
  }
  if (!m.reject && m.index > r.log.lastIndex()) {
    // Acknowledges entries this leader never had: a broken or lying peer; counting it could fake a quorum.
    r.counters.messagesDroppedUnexpected++;
    return;
  }
  pr.recentActive = true;
  if (m.reject) {
    let hint = m.rejectHint;
    if (m.logTerm > 0) hint = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, hint)) {
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      sendAppend(r, m.from);
    }
    return;
  }
  const wasPaused = pr.isPaused();
  if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === ProgressState.Probe)) {
    if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) finishSnapshot(r, m.from);
    return;
  }
  if (pr.state === ProgressState.Probe) pr.becomeReplicate();
  else if (pr.state === ProgressState.Snapshot) {
    if (pr.match >= pr.pendingSnapshot) finishSnapshot(r, m.from);
  } else pr.inflights.freeLE(m.index);
  if (maybeCommit(r)) {
    releasePendingReadIndex(r);
    bcastAppend(r);
  } else if (wasPaused) {
    sendAppend(r, m.from);
  }
  // Pipelining: fill the window.
  for (let i = 0; i < r.cfg.maxInflightMsgs && maybeSendAppend(r, m.from, false); i++);
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

function finishSnapshot(r: Raft, id: NodeId): void {
  const pr = r.progress.get(id);
  if (pr === undefined) return;
  pr.becomeProbe();
  if (pr.match + 1 >= r.log.firstIndex()) pr.becomeReplicate();
  sendAppend(r, id);
}

function handleHeartbeatResponse(r: Raft, m: Message): void {
  const pr = r.progress.get(m.from);
  if (pr === undefined) {
    r.counters.messagesDroppedStale++;
    return;
  }
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  if (m.index <= r.tickCount && m.index > pr.heartbeatAckedSentTick) pr.heartbeatAckedSentTick = m.index;
  if (pr.state === ProgressState.Snapshot) {
    const ss = pr.snapshotSend;
    if (ss !== undefined && (ss.resendPending || ++ss.stalledHeartbeats >= snapshotStallHeartbeats)) {
      resendSnapshotFrom(r, m.from, pr, ss.ackedOffset);
    }
  } else if (pr.match < r.log.lastIndex() || pr.state === ProgressState.Probe) {
    sendAppend(r, m.from);
  }
  if (m.context.length === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (acks === undefined || !quorumActive(r.voters, (id) => acks.has(id))) return;
  for (const req of r.readOnly.advance(m.context)) respondRead(r, req);
}

function handleSnapshotResponse(r: Raft, m: Message): void {
  const pr = r.progress.get(m.from);
  const ss = pr?.snapshotSend;
  if (pr === undefined || ss === undefined || pr.state !== ProgressState.Snapshot || m.index !== pr.pendingSnapshot) {
    r.counters.messagesDroppedStale++;
    return;
  }
  pr.recentActive = true;
  ss.stalledHeartbeats = 0;
  if (!m.reject && m.commit > 0) {
    // The install is done: the follower's log matches ours up to its commit (>= the snapshot index).
    if (m.commit < pr.pendingSnapshot || m.commit > r.log.lastIndex()) {
      r.counters.messagesDroppedUnexpected++;
      return;
    }
    pr.maybeUpdate(m.commit);
    finishSnapshot(r, m.from);
    return;
  }
  if (m.reject) {
    // rejectHint is what the follower holds (0 after a restart).
    r.counters.snapshotChunksRejected++;
    ss.ackedOffset = Math.min(m.rejectHint, ss.sentOffset);
    ss.resendPending = true;
    return;
  }
  if (m.rejectHint > ss.ackedOffset) ss.ackedOffset = Math.min(m.rejectHint, ss.sentOffset);
  sendSnapshotChunks(r, m.from, pr);
}

/** After the leader applied a membership change: new quorum, new peers, or step down if removed. */
export function leaderConfChanged(r: Raft): void {
  if (r.role !== RaftRole.Leader) return;
  if (!r.voters.includes(r.id)) {
    // Removed or demoted: hand over to an up-to-date voter, then step down.
    const heir = r.voters.find((id) => r.progress.get(id)?.match === r.log.lastIndex());
    if (heir !== undefined) sendTimeoutNow(r, heir);
    r.becomeFollower(r.term, '');
    return;
  }
  if (r.leadTransferee !== '' && !r.voters.includes(r.leadTransferee)) r.leadTransferee = '';
  if (maybeCommit(r)) {
    releasePendingReadIndex(r);
    bcastAppend(r);
  } else {
    for (const id of r.progress.keys()) if (id !== r.id) maybeSendAppend(r, id, false);
  }
}
