/**
 * The JSON shapes of the control plane's HTTP API (config keys, txns, watches,
 * leases, Raft status) and ControlApi, the service its routes call. The
 * Agent's control shell implements ControlApi; tests use a fake.
 *
 * Values travel as UTF-8 strings (config documents are text); the store
 * holds bytes, so a value written through another client as non-UTF-8 bytes
 * reads back with U+FFFD replacements.
 */
import type { ShoalError } from '../util/errors.js';

export interface KvView {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Present only when the key is attached to a lease. */
  lease?: number;
}

export interface ReadOptions {
  /** true: answer from the local replica at once (may be stale); default: linearizable through ReadIndex. */
  serializable?: boolean;
  /** Read the state at this past revision (not compacted). */
  revision?: number;
  signal?: AbortSignal;
}

export interface RangeOptions extends ReadOptions {
  /** At most this many keys. */
  limit?: number;
  /** At most this many bytes of keys and values (at least one key is returned). */
  limitBytes?: number;
  /** Only keys after this one: the last key of the previous page (does not pin the revision). */
  after?: string;
  /** The previous page's continuation: the next page, at the same revision. Not with `after`. */
  continuation?: string;
}

export interface GetResult {
  kv: KvView | undefined;
  /** The store's revision the read was served at. */
  revision: number;
}

export interface RangeView {
  kvs: KvView[];
  /** Keys of the range at `revision` from this page on (this page and the ones after it). */
  count: number;
  more: boolean;
  revision: number;
  /** Present when more: pass it as ?continuation= for the next page (same revision). */
  continuation?: string;
}

export interface PutRequest {
  key: string;
  value: string;
  /** Attach to this lease (it must exist). */
  lease?: number;
  /** Put only if the key's modRevision is this (0: only if absent); else 409 ERR_CONFLICT. */
  prevRevision?: number;
}

export interface WriteOptions {
  signal?: AbortSignal;
}

export interface PutResult {
  /** The revision of this write. */
  revision: number;
  prevKv?: KvView;
}

export interface DeleteResult {
  /** The store's revision after the delete (unchanged when the key was absent). */
  revision: number;
  deleted: number;
  prevKv?: KvView;
}

export const compareTargetNames = ['value', 'version', 'createRevision', 'modRevision'] as const;
export const compareOpNames = ['=', '!=', '<', '>'] as const;

export interface TxnCompareView {
  key: string;
  target: (typeof compareTargetNames)[number];
  op: (typeof compareOpNames)[number];
  /** A string for target "value", a non-negative integer otherwise. */
  value: string | number;
}

export type TxnOpView =
  | { put: { key: string; value: string; lease?: number } }
  | { delete: { key: string } }
  | { get: { key: string } };

export interface TxnRequest {
  compare: TxnCompareView[];
  success: TxnOpView[];
  failure: TxnOpView[];
}

export type TxnOpResultView =
  | { put: { prevKv?: KvView } }
  | { delete: { deleted: number; prevKv?: KvView } }
  | { get: { kv?: KvView } };

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  responses: TxnOpResultView[];
}

export interface LeaseGrantRequest {
  ttlMs: number;
  /** Choose the id (a positive safe integer); default: a random one. */
  id?: number;
}

export interface LeaseView {
  id: number;
  ttlMs: number;
}

export interface LeaseRevokeResult {
  revision: number;
  /** Keys deleted with the lease. */
  deleted: number;
}

/** One change, as a line of the watch stream carries it. */
export interface WatchEventView {
  type: 'put' | 'delete';
  /** The change's revision (kv.modRevision). */
  revision: number;
  /** After a delete: the key with an empty value and version 0. */
  kv: KvView;
  prevKv?: KvView;
}

export interface WatchStreamSink {
  /** Changes of one or more whole revisions; false: the consumer is full, wait for resume(). */
  events(events: WatchEventView[]): boolean;
  /**
   * Progress (etcd's progress notify): every change up to `revision` has been
   * delivered, so a resume from revision + 1 misses nothing; false: full.
   */
  progress?(revision: number): boolean;
  /** Called once, last. error undefined: cancelled by its owner. Resume from lastRevision + 1. */
  closed(error: ShoalError | undefined, lastRevision: number): void;
}

export interface WatchStreamHandle {
  /** The store's revision when the watch opened; changes after fromRevision - 1 follow. */
  readonly startRevision: number;
  readonly fromRevision: number;
  resume(): void;
  cancel(): void;
}

/** `GET /v1/raft/status`: the contract fields first, more for operators after. */
export interface RaftStatusView {
  leader: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  voters: string[];
  learners: string[];
  name: string;
  role: string;
  clusterId: string;
  bootstrapped: boolean;
  revision: number;
  compactedRevision: number;
  [more: string]: unknown;
}

/** What the control routes need from the agent. Every method rejects with a ShoalError on failure. */
export interface ControlApi {
  /** A member outside the Raft group asks a Raft member (its own view has no leader or term), hence the promise. */
  raftStatus(): RaftStatusView | Promise<RaftStatusView>;
  get(key: string, options?: ReadOptions): Promise<GetResult>;
  range(prefix: string, options?: RangeOptions): Promise<RangeView>;
  put(request: PutRequest, options?: WriteOptions): Promise<PutResult>;
  delete(key: string, options?: WriteOptions): Promise<DeleteResult>;
  txn(request: TxnRequest, options?: WriteOptions): Promise<TxnResult>;
  /**
   * Every change under prefix from fromRevision on (default: the next
   * revision, i.e. only new changes). Rejects ERR_COMPACTED naming the oldest
   * revision when fromRevision is compacted.
   */
  watch(prefix: string, fromRevision: number | undefined, sink: WatchStreamSink, options?: { signal?: AbortSignal }): Promise<WatchStreamHandle>;
  leaseGrant(request: LeaseGrantRequest, options?: WriteOptions): Promise<LeaseView>;
  leaseKeepAlive(id: number, options?: WriteOptions): Promise<LeaseView>;
  leaseRevoke(id: number, options?: WriteOptions): Promise<LeaseRevokeResult>;
  /** Ask the leader to hand leadership to `to` (default: the most caught-up voter); resolves with the new leader. */
  transferLeader(to: string | undefined, options?: WriteOptions): Promise<{ leader: string }>;
  removePeer(name: string, options?: WriteOptions): Promise<{ removed: string }>;
  /** Drop history before revision: reads and watches below it fail with ERR_COMPACTED. */
  compact(revision: number, options?: WriteOptions): Promise<{ revision: number; compactedRevision: number }>;
}
