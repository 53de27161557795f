/**
 * The ControlCore's contract with its shell: what comes
 * in at start, what ready() asks the shell to do, and the status view.
 */
import type { PeerProgressStatus } from '../raft/status.js';
import type { NodeId, RaftInitialState, RaftRole, Ready, Snapshot } from '../raft/types.js';
import type { ShoalError } from '../util/errors.js';
import type { BootCommitment } from './autopilot/bootstrap.js';
import type { SpaceUsage, StoreAlarm } from './store/config-store.js';
import type { StoreEvent } from './store/types.js';

/** A change as config-changed and watches deliver it. */
export type WatchEvent = StoreEvent;

/** What the shell loads from its durable state at start. */
export interface ControlInit {
  /** Raft state from storage; undefined = this member never had Raft state (it may bootstrap or join). */
  raft?: RaftInitialState;
  /** The cluster id persisted beside the Raft state (ControlReady.startRaft.clusterId). */
  clusterId?: string;
  /** A bootstrap commitment persisted earlier (ControlReady.bootCommitment); never changes once made. */
  bootCommitment?: BootCommitment;
  /**
   * This member joined an existing cluster with an empty log and has not yet
   * applied the record of its own node id (identity.ts): it neither votes nor
   * campaigns. Persisted with startRaft.fresh, cleared by identityConfirmed.
   */
  fresh?: boolean;
}

export type ReadQuery =
  | { kind: 'get'; key: string; revision?: number }
  | { kind: 'range'; prefix: string; revision?: number; limit?: number; limitBytes?: number; after?: string; continuation?: string };

export type ControlResult =
  | { requestId: string; ok: true; value: unknown }
  | { requestId: string; ok: false; error: ShoalError };

export type ControlEvent =
  | { type: 'leader-changed'; leader: string; term: number }
  /** One applied revision and its changes; `changes` empty: the store jumped to `revision` by a snapshot from the leader (re-read). */
  | { type: 'config-changed'; revision: number; changes: WatchEvent[] };

/**
 * What the shell does with a ready, in this order:
 *  1. durably: bootCommitment, then startRaft (create storage with its conf and
 *     cluster id), then raft (hardState, snapshot, entries, with fsync), then
 *     compactedSnapshot (write it, then drop the log up to its index);
 *  2. advertise tags (only after 1: a committed boot tag must be persisted first);
 *  3. send raft.messages;
 *  4. hand out results and events (they concern earlier readies: safe at any point);
 *  5. advance(ready), then ask for the next ready while hasReady().
 */
export interface ControlReady {
  /** Persist (hardState, entries, snapshot) BEFORE sending raft.messages, then call advance(). */
  raft?: Ready;
  /**
   * The core just bootstrapped or joined: the shell creates Raft storage holding
   * `initial` (and `clusterId`) durably before it persists `raft`.
   */
  startRaft?: { initial: RaftInitialState; clusterId: string; fresh: boolean };
  /** This member applied the record of its own node id: persist that it is no longer fresh (it votes from now on). */
  identityConfirmed?: true;
  /** Persist durably (never to change) BEFORE advertising `tags`. */
  bootCommitment?: BootCommitment;
  /**
   * A local snapshot the core took (store snapshot + Raft compaction): write it
   * durably (temp file, fsync, rename), then drop the stored log up to its index.
   */
  compactedSnapshot?: Snapshot;
  /** Answers to client requests, each exactly once. */
  results: ControlResult[];
  events: ControlEvent[];
  /** The control tags this member should advertise now (all of them); undefined = unchanged. */
  tags: Record<string, string> | undefined;
}

export interface ControlStatus {
  name: string;
  leader: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  voters: NodeId[];
  learners: NodeId[];
  role: RaftRole | 'none';
  clusterId: string;
  bootstrapped: boolean;
  /** What bootstrap is doing (wait / propose / bootstrap / join), for operators. */
  bootstrapState: string;
  revision: number;
  compactedRevision: number;
  /** Per-peer replication progress, on the leader only. */
  progress: Record<NodeId, PeerProgressStatus>;
  pendingRequests: number;
  counters: ControlCounters;
  /** Raised store alarms (replicated): ['NOSPACE'] while writes that grow the store are refused. */
  alarms: readonly StoreAlarm[];
  /** The store's space against its quota (store/config-store.ts: SpaceUsage). */
  space: SpaceUsage;
}

/** Monotonic counters of what the core did and refused. */
export interface ControlCounters {
  requestsTimedOut: number;
  requestsRefused: number;
  proposalsRetried: number;
  readsRetried: number;
  entriesApplied: number;
  entriesUndecodable: number;
  snapshotsTaken: number;
  snapshotsRestored: number;
  confChangesProposed: number;
  leaseExpiriesProposed: number;
  eventsDropped: number;
  /** Vote requests this fresh member withheld (received, dropped) or did not send (its own campaign). */
  votesWithheld: number;
  /** Identity records the leader wrote, and wiped members it removed from the configuration. */
  identitiesRecorded: number;
  identitiesReplaced: number;
}

export function newControlCounters(): ControlCounters {
  return {
    requestsTimedOut: 0,
    requestsRefused: 0,
    proposalsRetried: 0,
    readsRetried: 0,
    entriesApplied: 0,
    entriesUndecodable: 0,
    snapshotsTaken: 0,
    snapshotsRestored: 0,
    confChangesProposed: 0,
    leaseExpiriesProposed: 0,
    eventsDropped: 0,
    votesWithheld: 0,
    identitiesRecorded: 0,
    identitiesReplaced: 0,
  };
}
