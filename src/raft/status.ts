/** Read-only views of a Raft node for the shell, the API and the TUI. */
import type { NodeId, RaftRole } from './types.js';

export const ProgressState = {
  /** Leader knows nothing of the follower's log: one App per heartbeat until a match. */
  Probe: 'probe',
  /** Steady state: Apps are pipelined up to the inflight limits. */
  Replicate: 'replicate',
  /** Follower needs a snapshot; Apps paused until it is installed. */
  Snapshot: 'snapshot',
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export interface PeerProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  /** App messages sent and not yet acknowledged. */
  inflight: number;
  inflightBytes: number;
  recentActive: boolean;
  isLearner: boolean;
  /** Snapshot index being sent (snapshot state), else 0. */
  pendingSnapshot: number;
}

/** Counters of everything the core dropped or refused (never thrown). */
export interface RaftCounters {
  /** Messages from an older term, addressed to another node, or answering something no longer pending. */
  messagesDroppedStale: number;
  /**
   * Messages from a sender outside the configuration (neither voter nor
   * learner, applied or pending in the log): they change no term, log or commit.
   */
  messagesDroppedUnknownPeer: number;
  /** Messages of an unknown or unexpected type for the current role. */
  messagesDroppedUnexpected: number;
  /** Messages dropped because the outgoing queue was full. */
  messagesDroppedQueueFull: number;
  /** Vote requests ignored because a leader was heard recently (leader stickiness). */
  votesIgnoredInLease: number;
  proposalsDropped: number;
  readIndexDropped: number;
  snapshotChunksRejected: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  elections: number;
  /** Campaigns refused because the term or the log reached wireUintMax (no number past it is ever made). */
  campaignsRefusedAtBound: number;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId | '';
  role: RaftRole;
  leader: NodeId | '';
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  voters: NodeId[];
  learners: NodeId[];
  /** Per-peer replication state; filled on the leader only (empty elsewhere). */
  progress: Record<NodeId, PeerProgressStatus>;
  leadTransferee: NodeId | '';
  counters: RaftCounters;
}

export function newRaftCounters(): RaftCounters {
  return {
    messagesDroppedStale: 0,
    messagesDroppedUnknownPeer: 0,
    messagesDroppedUnexpected: 0,
    messagesDroppedQueueFull: 0,
    votesIgnoredInLease: 0,
    proposalsDropped: 0,
    readIndexDropped: 0,
    snapshotChunksRejected: 0,
    snapshotsSent: 0,
    snapshotsInstalled: 0,
    elections: 0,
    campaignsRefusedAtBound: 0,
  };
}
