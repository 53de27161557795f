/**
 * The Raft core's data types and its contract with the shell, modelled on
 * etcd-io/raft's RawNode: tick / step / propose / ready / advance, no I/O.
 *
 * Node ids are member names (strings). Indexes and terms are JS numbers of
 * at most wireUintMax (2^48 - 1, src/wire/uint.ts): decoders refuse larger
 * ones and the core never makes one (it refuses to campaign or append past it).
 */

export type NodeId = string;

/** ONLY APPEND. Numeric values are part of the WAL and wire formats. */
export const EntryType = {
  /** Application data (may be empty: the leader's no-op of its term). */
  Normal: 0,
  /** A single-server membership change; data is an encoded ConfChange. */
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** Persisted atomically before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId | '';
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export const ConfChangeType = {
  AddVoter: 0,
  AddLearner: 1,
  RemoveNode: 2,
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

/** One server at a time (Ongaro's single-server change), applied when the entry is appended/committed as the core defines. */
export interface ConfChange {
  type: ConfChangeType;
  node: NodeId;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The state machine's serialized state at meta.index. */
  data: Uint8Array;
}

/** ONLY APPEND. Numeric values are part of the wire format. */
export const MessageType = {
  Vote: 1,
  VoteResp: 2,
  PreVote: 3,
  PreVoteResp: 4,
  App: 5,
  AppResp: 6,
  Heartbeat: 7,
  HeartbeatResp: 8,
  /** InstallSnapshot, one chunk: snapshot meta + data[offset, offset+len), `done` on the last. */
  Snap: 9,
  SnapResp: 10,
  TimeoutNow: 11,
  /** Follower -> leader: forwarded client proposal. */
  Prop: 12,
  /** Follower -> leader: ReadIndex request (context identifies it). */
  ReadIndex: 13,
  ReadIndexResp: 14,
  /** Follower -> leader: please transfer leadership to `from`... or to `transferee` in context. */
  TransferLeader: 15,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * One message between Raft peers. A flat record like etcd's raftpb.Message:
 * fields not used by a type are zero/empty.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** App: index of the entry before `entries`; AppResp: last index matched (or rejected index). */
  index: number;
  /** App: term of the entry at `index`. */
  logTerm: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** AppResp reject hint: follower's last index (fast back-off). */
  rejectHint: number;
  /** ReadIndex/heartbeat context, transfer target, etc. */
  context: Uint8Array;
  /** Snap: present on InstallSnapshot chunks. */
  snapshot?: { meta: SnapshotMeta; offset: number; data: Uint8Array; done: boolean };
}

/** A linearizable read that may be served once `applied >= index`. */
export interface ReadState {
  index: number;
  /** The request's context (opaque id) as given to readIndex(). */
  context: Uint8Array;
}

export const RaftRole = {
  Follower: 'follower',
  PreCandidate: 'pre-candidate',
  Candidate: 'candidate',
  Leader: 'leader',
} as const;
export type RaftRole = (typeof RaftRole)[keyof typeof RaftRole];

export interface SoftState {
  leader: NodeId | '';
  role: RaftRole;
}

/**
 * What the shell must do, in order:
 *  1. persist `hardState` (if set), `snapshot` (if set) and `entries` (appending;
 *     an entry with an index already stored truncates the stored log from there) with fsync;
 *  2. only then send `messages` (leader: may send before persisting its own entries? No: keep it simple, after);
 *  3. apply `committedEntries` to the state machine in order (after a `snapshot`, restore it first);
 *  4. answer `readStates` once applied >= index;
 *  5. call advance(ready).
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  messages: Message[];
  committedEntries: Entry[];
  readStates: ReadState[];
  /** Proposals the core refused or dropped (not leader, no leader, transfer in progress...), with a reason. */
  droppedProposals: { context: Uint8Array; code: string; leader: NodeId | '' }[];
}

/** What the shell loads from storage to restart a node. */
export interface RaftInitialState {
  hardState: HardState;
  /** The latest snapshot, if any (its conf is the membership as of its index). */
  snapshot?: Snapshot;
  /** Entries after the snapshot, in order, contiguous. */
  entries: Entry[];
  /** The membership used when there is no snapshot and no conf-change entries (bootstrap). */
  conf: ConfState;
}
