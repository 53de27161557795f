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
  const termOrVoteChanges =
    rd.hardState !== undefined && (persisted === undefined || rd.hardState.term !== persisted.term || rd.hardState.vote !== persisted.vote);
  if (termOrVoteChanges || rd.snapshot !== undefined) return { early: [], late: rd.messages };
  const early: Message[] = [];
  const late: Message[] = [];
  for (const m of rd.messages) {
    if (m.type === MessageType.App || m.type === MessageType.Heartbeat) early.push(m);
    else late.push(m);
  }
  return { early, late };
}
