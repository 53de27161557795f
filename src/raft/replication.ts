/**
 * Leader-side sending: App batches (maxSizePerMsgBytes) pipelined within
 * the inflight limits, probes, heartbeats, InstallSnapshot chunks, and the
 * commit rule.
 */
import { entriesSizeBytes } from './log.js';
import type { Progress } from './progress.js';
import { committedIndex } from './quorum.js';
import type { Raft } from './raft.js';
import { snapshotChunk } from './snapshot-chunks.js';
import { ProgressState } from './status.js';
import { MessageType, type NodeId } from './types.js';

/** Heartbeat responses without a snapshot ack before the leader resends unacknowledged chunks. */
export const snapshotStallHeartbeats = 2;

/** Sends an App to `to` if flow control allows. Returns whether a message was sent. */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.progress.get(to);
  if (pr === undefined || to === r.id || pr.isPaused()) return false;
  const lastIndex = r.log.lastIndex();
  if (pr.next > lastIndex + 1) pr.next = lastIndex + 1;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  // A full window only sends an empty App: its ack or rejection clears the window if the Apps in it were lost.
  const windowFull = pr.state === ProgressState.Replicate && pr.inflights.full();
  const ents =
    prevTerm === undefined ? undefined : windowFull ? [] : r.log.slice(pr.next, lastIndex + 1, r.cfg.maxSizePerMsgBytes);
  if (prevTerm === undefined || ents === undefined) return sendSnapshot(r, to, pr);
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: r.log.committed });
  const last = ents.length > 0 ? ents[ents.length - 1].index : prevIndex;
  pr.sentEntries(ents.length, last, entriesSizeBytes(ents));
  return true;
}

export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

export function bcastAppend(r: Raft): void {
  for (const id of r.progress.keys()) if (id !== r.id) sendAppend(r, id);
}

export function sendHeartbeat(r: Raft, to: NodeId, context: Uint8Array): void {
  const pr = r.progress.get(to);
  if (pr === undefined) return;
  // Never tell a follower to commit beyond what it is known to hold.
  const commit = Math.min(pr.match, r.log.committed);
  // index carries our tick; the response echoes it, dating the follower's promise not to vote (leader lease).
  r.send({ type: MessageType.Heartbeat, to, commit, context, index: r.tickCount });
}

export function bcastHeartbeat(r: Raft, context: Uint8Array): void {
  for (const id of r.progress.keys()) if (id !== r.id) sendHeartbeat(r, id, context);
}

function sendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  // A follower we have not heard from would only drop the chunks.
  if (!pr.recentActive || r.snapshot === undefined) return false;
  pr.becomeSnapshot(r.snapshot);
  r.counters.snapshotsSent++;
  sendSnapshotChunks(r, to, pr);
  return true;
}

/** Sends chunks from the unacknowledged offset, within a window of inflight bytes. */
export function sendSnapshotChunks(r: Raft, to: NodeId, pr: Progress): void {
  const ss = pr.snapshotSend;
  if (pr.state !== ProgressState.Snapshot || ss === undefined) return;
  const chunkBytes = r.cfg.snapshotChunkBytes;
  const windowBytes = Math.max(chunkBytes, Math.min(r.cfg.maxInflightBytes, r.cfg.maxInflightMsgs * chunkBytes));
  const total = ss.snapshot.data.length;
  while (!ss.finalSent && ss.sentOffset - ss.ackedOffset < windowBytes) {
    const chunk = snapshotChunk(ss.snapshot, ss.sentOffset, chunkBytes);
    r.send({ type: MessageType.Snap, to, snapshot: { meta: ss.snapshot.meta, ...chunk } });
    ss.sentOffset += chunk.data.length;
    if (chunk.done || ss.sentOffset >= total) ss.finalSent = true;
  }
}

/** Go-back-N: resend the snapshot from the last acknowledged offset. */
export function resendSnapshotFrom(r: Raft, to: NodeId, pr: Progress, offset: number): void {
  const ss = pr.snapshotSend;
  if (ss === undefined) return;
  const at = Math.max(0, Math.min(offset, ss.snapshot.data.length));
  ss.ackedOffset = at;
  ss.sentOffset = at;
  ss.finalSent = false;
  ss.resendPending = false;
  ss.stalledHeartbeats = 0;
  sendSnapshotChunks(r, to, pr);
}

/**
 * Advances commit to the largest index a majority of voters holds, but only
 * if that entry is of the current term (§5.4.2: figure 8).
 */
export function maybeCommit(r: Raft): boolean {
  const idx = committedIndex(r.voters, (id) => r.progress.get(id)?.match ?? 0);
  return r.log.maybeCommit(idx, r.term);
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.timeoutNowSentTick = r.tickCount;
  r.send({ type: MessageType.TimeoutNow, to });
}
