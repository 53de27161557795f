/**
 * Client requests made on this node (propose, readIndex, transfer), routed
 * by role: the leader serves them; a follower forwards them to the leader it
 * knows; otherwise they are refused in Ready.droppedProposals.
 */
import { ErrorCode } from '../util/errors.js';
import { leaderPropose, leaderReadIndex, leaderTransfer } from './leader.js';
import type { Raft } from './raft.js';
import { EntryType, MessageType, RaftRole, type NodeId } from './types.js';

const utf8 = new TextEncoder();

export function proposeLocal(r: Raft, type: EntryType, data: Uint8Array, context: Uint8Array): void {
  if (r.role === RaftRole.Leader) {
    leaderPropose(r, r.id, type, data, context);
    return;
  }
  if (r.role === RaftRole.Follower && r.lead !== '' && r.cfg.forwardProposals) {
    r.send({ type: MessageType.Prop, to: r.lead, entries: [{ term: 0, index: 0, type, data }], context });
    return;
  }
  // Not the leader: name the leader we know (or '' during an election).
  r.reportDrop(r.id, context, ErrorCode.NotLeader, 'proposal');
}

export function readIndexLocal(r: Raft, context: Uint8Array): void {
  if (r.role === RaftRole.Leader) {
    leaderReadIndex(r, r.id, context);
    return;
  }
  if (r.role === RaftRole.Follower && r.lead !== '') {
    r.send({ type: MessageType.ReadIndex, to: r.lead, context });
    return;
  }
  r.reportDrop(r.id, context, ErrorCode.NotLeader, 'read');
}

export function transferLocal(r: Raft, to: NodeId): void {
  if (r.role === RaftRole.Leader) {
    leaderTransfer(r, to);
    return;
  }
  if (r.lead !== '') {
    r.send({ type: MessageType.TransferLeader, to: r.lead, context: utf8.encode(to) });
    return;
  }
  r.counters.messagesDroppedUnexpected++;
}

