/** What the Raft shell reports about itself (GET /status). */
import type { RaftCounters } from '../raft/status.js';
import type { NodeId, RaftRole } from '../raft/types.js';
import type { RaftShellProfileView } from './raft-shell-profile.js';

export interface RaftShellStatus {
  id: NodeId;
  role: RaftRole;
  term: number;
  leader: NodeId | '';
  commit: number;
  applied: number;
  lastIndex: number;
  snapshotIndex: number;
  voters: NodeId[];
  learners: NodeId[];
  /** Outbound peer link state by peer id (connected, connecting, backoff). */
  peers: Record<NodeId, string>;
  pendingProposals: number;
  pendingReads: number;
  keys: number;
  profile: RaftShellProfileView;
  counters: RaftCounters;
}
