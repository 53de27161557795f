/**
 * The leader's view of one follower (etcd's tracker.Progress): what it has
 * matched, what to send next, and in which of three states replication is.
 *  - probe: one App per heartbeat interval until the follower's log matches;
 *  - replicate: Apps are pipelined, bounded by Inflights (count and bytes);
 *  - snapshot: Apps paused while a snapshot is sent in chunks.
 */
import { assert } from '../util/assert.js';
import { Inflights } from './inflights.js';
import { ProgressState, type PeerProgressStatus } from './status.js';
import type { Snapshot } from './types.js';

/** State of an InstallSnapshot transfer in chunks (snapshot state only). */
export interface SnapshotSend {
  snapshot: Snapshot;
  /** Next byte offset to send. */
  sentOffset: number;
  /** Bytes the follower confirmed it holds, in order. */
  ackedOffset: number;
  /** The chunk with `done` has been sent (from sentOffset's run). */
  finalSent: boolean;
  /** Heartbeat responses since the last chunk ack; at a limit the leader resends from ackedOffset. */
  stalledHeartbeats: number;
  /**
   * The follower rejected a chunk: resend from ackedOffset at the next
   * heartbeat response. Resending at once on every rejection would let one
   * reordered window multiply into a storm of windows.
   */
  resendPending: boolean;
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /**
   * Probe: an App was sent this heartbeat interval. Replicate: the inflight
   * window is full. Either way wait for a response or a heartbeat response
   * (which clears it, so a window of lost Apps cannot stall replication).
   */
  msgAppFlowPaused = false;
  /** Heard from this peer since the last CheckQuorum round. */
  recentActive = false;
  pendingSnapshot = 0;
  /** Leader tick at which the newest heartbeat this peer answered was sent (leader lease). */
  heartbeatAckedSentTick = Number.NEGATIVE_INFINITY;
  snapshotSend: SnapshotSend | undefined = undefined;
  readonly inflights: Inflights;

  constructor(
    next: number,
    public isLearner: boolean,
    maxInflightMsgs: number,
    maxInflightBytes: number,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.snapshotSend = undefined;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      // After a snapshot, the follower's log ends at least at the snapshot.
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshot.meta.index;
    this.snapshotSend = { snapshot, sentOffset: 0, ackedOffset: 0, finalSent: false, stalledHeartbeats: 0, resendPending: false };
  }

  /** An App response acknowledged `index`. Returns false if it was stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Records an App carrying entries up to `lastIndex` (`sizeBytes` of entry data) or none. */
  sentEntries(entryCount: number, lastIndex: number, sizeBytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, sizeBytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === ProgressState.Probe) {
      this.msgAppFlowPaused = true;
    } else {
      assert(false, `sending entries in state ${this.state}`);
    }
  }

  /**
   * The follower rejected an App at `rejected`; `matchHint` is where its log
   * may match. Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
      case ProgressState.Replicate:
        return this.msgAppFlowPaused;
      case ProgressState.Snapshot:
        return true;
    }
  }

  view(): PeerProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      inflight: this.inflights.count,
      inflightBytes: this.inflights.bytes,
      recentActive: this.recentActive,
      isLearner: this.isLearner,
      pendingSnapshot: this.pendingSnapshot,
    };
  }
}
