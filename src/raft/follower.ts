/**
 * Follower and (pre-)candidate handlers (etcd's stepFollower /
 * stepCandidate), vote requests, and the receiving side of App, Heartbeat
 * and InstallSnapshot chunks.
 */
import { ErrorCode } from '../util/errors.js';
import { VoteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { MessageType, RaftRole, type Message } from './types.js';
import { hup, poll, wonElection } from './election.js';

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Prop:
    case MessageType.ReadIndex:
    case MessageType.TransferLeader:
      // Forwarded to us by mistake (we are not the leader): pass it on, or drop it.
      if (r.lead === '' || r.lead === m.from) {
        r.counters.messagesDroppedUnexpected++;
        if (m.type === MessageType.ReadIndex) r.send({ type: MessageType.ReadIndexResp, to: m.from, reject: true, context: m.context });
        return;
      }
      r.forward(m, r.lead);
      return;
    case MessageType.App:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppend(r, m);
      return;
    case MessageType.Heartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case MessageType.TimeoutNow:
      // The leader asks us to take over: campaign now, skipping PreVote and stickiness.
      hup(r, true);
      return;
    case MessageType.ReadIndexResp:
      if (m.reject) r.reportDrop(r.id, m.context, ErrorCode.Unavailable, 'read');
      else r.pushReadState({ index: m.index, context: m.context });
      return;
    default:
      r.counters.messagesDroppedUnexpected++;
  }
}

export function stepCandidate(r: Raft, m: Message): void {
  const myVoteResp = r.role === RaftRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.App:
      r.becomeFollower(m.term, m.from); // a leader exists at our term
      handleAppend(r, m);
      return;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case myVoteResp: {
      const result = poll(r, m.from, !m.reject);
      if (result === VoteResult.Won) wonElection(r);
      else if (result === VoteResult.Lost) r.becomeFollower(r.term, '');
      return;
    }
    default:
      // Proposals and reads without a leader, late responses, TimeoutNow: nothing to do.
      r.counters.messagesDroppedUnexpected++;
  }
}

function entriesWellFormed(m: Message): boolean {
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i];
    if (e.index !== m.index + 1 + i || e.term > m.term || e.term < m.logTerm) return false;
  }
  return true;
}

export function handleAppend(r: Raft, m: Message): void {
  if (!entriesWellFormed(m)) {
    r.counters.messagesDroppedUnexpected++;
    return;
  }
  if (m.index < r.log.committed) {
    r.send({ type: MessageType.AppResp, to: m.from, index: r.log.committed });
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew === 'conflicts-with-committed') {
    r.counters.messagesDroppedUnexpected++;
    return;
  }
  if (lastNew !== undefined) {
    r.send({ type: MessageType.AppResp, to: m.from, index: lastNew });
    return;
  }
  // Fast back-off: point the leader at the last index that can match its term.
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.send({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
}

export function handleHeartbeat(r: Raft, m: Message): void {
  r.log.commitTo(Math.min(m.commit, r.log.lastIndex()));
  r.send({ type: MessageType.HeartbeatResp, to: m.from, context: m.context, index: m.index });
}

export function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  if (s === undefined) {
    r.counters.messagesDroppedUnexpected++;
    return;
  }
  if (s.meta.index <= r.log.committed) {
    // Already past it: tell the leader where we are so it resumes App.
    r.assembler.reset();
    r.send({ type: MessageType.SnapResp, to: m.from, index: s.meta.index, commit: r.log.committed });
    return;
  }
  const res = r.assembler.receive(m.from, s.meta, s.offset, s.data, s.done);
  if (res.kind === 'ack') {
    r.send({ type: MessageType.SnapResp, to: m.from, index: s.meta.index, rejectHint: res.offset });
  } else if (res.kind === 'reject') {
    r.counters.snapshotChunksRejected++;
    r.send({ type: MessageType.SnapResp, to: m.from, index: s.meta.index, reject: true, rejectHint: res.expectedOffset });
  } else {
    // Installed, or not needed (we already hold it): either way our log matches the leader's up to commit.
    r.restore(res.snapshot);
    r.send({ type: MessageType.SnapResp, to: m.from, index: s.meta.index, commit: r.log.committed });
  }
}
