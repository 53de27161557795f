/**
 * The config store's data types: key/values with their revisions, events,
 * and the results apply() returns. Revisions are cluster-wide: the empty
 * store is at revision 0 and every write (put, delete, a txn with writes,
 * a lease revoke or expiry that deletes keys) takes the next one.
 */
import type { ErrorCode } from '../../util/errors.js';

/** A lease id: a positive safe integer chosen by the proposer. 0 means "no lease". */
export type LeaseId = number;
export const noLease: LeaseId = 0;

export interface KeyValue {
  readonly key: string;
  readonly value: Uint8Array;
  /** Revision of the put that created the key (after its last delete). */
  readonly createRevision: number;
  /** Revision of the last put of the key. */
  readonly modRevision: number;
  /** Puts since creation: 1 for a new key. */
  readonly version: number;
  /** The lease the key is attached to, or 0. */
  readonly lease: LeaseId;
}

/** ONLY APPEND to event types. */
export type EventType = 'put' | 'delete';

export interface StoreEvent {
  readonly type: EventType;
  /**
   * After a put, the new key/value. After a delete, a tombstone: the key, an
   * empty value, modRevision = the delete's revision, version and
   * createRevision 0, as etcd's watch does.
   */
  readonly kv: KeyValue;
  /**
   * The key/value before this event, if the key existed; absent too on the
   * events of the compacted revision itself (compaction dropped the values
   * they superseded, as etcd's watch has no prevKv once it is compacted).
   */
  readonly prevKv?: KeyValue;
}

/** Optional fields are absent, never present and undefined: results round-trip through snapshots unchanged. */
export function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

/** Every change of one revision, in the order they were made. */
export interface RevisionRecord {
  readonly revision: number;
  readonly events: readonly StoreEvent[];
}

/** Who sent a request, for dedup of retries (Ongaro's dissertation, §6.3). */
export interface RequestId {
  /** Stable for the life of one client process; at most storeLimits.clientIdBytesMax bytes. */
  readonly client: string;
  /** 1, 2, 3... per client; a retry reuses its number. */
  readonly seq: number;
}

/** An operating error as data: results are cached, snapshotted and compared. */
export interface StoreFailure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export type TxnOpResult =
  | { readonly kind: 'put'; readonly prevKv?: KeyValue }
  | { readonly kind: 'delete'; readonly deleted: number; readonly prevKv?: KeyValue }
  | { readonly kind: 'get'; readonly kv?: KeyValue };

export type StoreResponse =
  | { readonly kind: 'put'; readonly prevKv?: KeyValue }
  | { readonly kind: 'delete'; readonly deleted: number; readonly prevKv?: KeyValue }
  | { readonly kind: 'deleteRange'; readonly deleted: number }
  | { readonly kind: 'txn'; readonly succeeded: boolean; readonly results: readonly TxnOpResult[] }
  | { readonly kind: 'leaseGrant'; readonly id: LeaseId; readonly ttlMs: number }
  | { readonly kind: 'leaseKeepAlive'; readonly id: LeaseId; readonly ttlMs: number }
  | { readonly kind: 'leaseRevoke'; readonly deleted: number }
  | { readonly kind: 'leaseExpire'; readonly expired: readonly LeaseId[]; readonly deleted: number }
  | { readonly kind: 'compact'; readonly compactedRevision: number }
  | { readonly kind: 'setQuota'; readonly quotaBytes: number };

/**
 * What apply() returns. `revision` is the store's revision after the command
 * (like etcd's response header): a write's own revision, or the unchanged one.
 * `duplicate` is true when a retry was answered from the dedup table.
 */
export type ApplyResult =
  | { readonly ok: true; readonly revision: number; readonly duplicate: boolean; readonly response: StoreResponse }
  | { readonly ok: false; readonly revision: number; readonly duplicate: boolean; readonly error: StoreFailure };
