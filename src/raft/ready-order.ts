import { MessageType, type HardState, type Message, type Ready } from './types.js';

/**
 * Which messages of a Ready may leave before its fsync (Raft thesis §10.2.1:
 * the leader writes its log in parallel with replicating it).
 *
 * Safe here because the shells handle one Ready at a time: a commit the leader
 * reaches while its own fsync is running (counting itself) is published only in
 * the next Ready, after advance(), i.e. after its entries are durable. If the
 * leader crashes before the fsync completes, nobody learned of that commit; the
 * followers' copies are ordinary uncommitted entries of its term.
 *
 * Only the leader's appends and heartbeats go early, and only when the Ready
 * changes neither term nor vote and installs no snapshot: everything that
 * acknowledges or promises something (AppResp, votes, TimeoutNow, read
 * responses) still waits for durability.
 */
export function splitReadyMessages(rd: Ready, persisted: HardState | undefined): { early: Message[]; late: Message[] } {
  if (termOrVoteChanges(rd, persisted) || rd.snapshot !== undefined) return { early: [], late: rd.messages };
  const early: Message[] = [];
  const late: Message[] = [];
  for (const m of rd.messages) {
    if (m.type === MessageType.App || m.type === MessageType.Heartbeat) early.push(m);
    else late.push(m);
  }
  return { early, late };
}

/**
 * Does this Ready need an fsync before its messages go (etcd's MustSync)?
 * Entries, a snapshot, or a term or vote change do. A hard state that only
 * advances `commit` does not: the commit index is volatile in Raft (a
 * restarted node relearns it from the leader; replaying from an older commit
 * is safe), so it rides along with the next write.
 */
export function mustSync(rd: Ready, persisted: HardState | undefined): boolean {
  return rd.entries.length > 0 || rd.snapshot !== undefined || termOrVoteChanges(rd, persisted);
}

function termOrVoteChanges(rd: Ready, persisted: HardState | undefined): boolean {
  const hs = rd.hardState;
  return hs !== undefined && (persisted === undefined || hs.term !== persisted.term || hs.vote !== persisted.vote);
}
