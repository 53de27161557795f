/**
 * Named limits of the config store. Limits that change what apply() does
 * (keys, leases, history, the space quota) are part of the replicated state
 * machine's definition: every replica must use the same values, so they are
 * constants here or capacity fields that travel in snapshots (and the quota
 * changes only through a replicated setQuota command).
 */
export const storeLimits = {
  /** One key, in UTF-8 bytes. etcd has no key limit of its own; config paths are short. */
  keyBytesMax: 512,
  /** One value, in bytes. Config documents are small; the placement table is split by partition. */
  valueBytesMax: 256 * 1024,
  /** Compares, and ops of each branch, in one txn (etcd's --max-txn-ops default is 128). */
  txnOpsMax: 128,
  /** Keys plus values of one request, in bytes (etcd's --max-request-bytes is 1.5 MiB). */
  requestBytesMax: 1536 * 1024,
  /** An encoded command; the JSON encoding of values (base64) is 4/3 of the raw request. */
  encodedCommandBytesMax: 3 * 1024 * 1024,
  /** UTF-8 bytes of a client id in a request id. */
  clientIdBytesMax: 128,
  /** Lease ids in one leaseExpire command. */
  leaseExpireIdsMax: 1024,
  /** Shortest lease: shorter than a few election timeouts would flap on every leader change. */
  leaseTtlMsMin: 1000,
  /** Longest lease: 30 days. */
  leaseTtlMsMax: 30 * 24 * 3600 * 1000,
  /** Smallest quota a setQuota command may set: room for a working config store. */
  quotaBytesMin: 1024 * 1024,
  /**
   * Largest quota a setQuota command may set: a store at this quota still
   * snapshots below snapshotLimits.snapshotBytesMax (see snapshotBytesBound).
   */
  quotaBytesMax: 768 * 1024 * 1024,
} as const;

/** Limits of one store instance that shape its replicated behaviour; equal on every replica, carried in snapshots. */
export interface StoreCapacity {
  /** Live keys. Past it, puts of new keys are refused (ERR_RESOURCE_EXHAUSTED). */
  keysMax: number;
  /**
   * The space quota, as etcd's --quota-backend-bytes: accounted bytes
   * (space.ts) of live keys and values, history and leases. A write that
   * would grow the store past it is refused with ERR_NO_SPACE and raises the
   * NOSPACE alarm; reads, deletes, lease revokes and compaction still work.
   */
  quotaBytes: number;
  /** Leases granted and not yet revoked or expired. */
  leasesMax: number;
  /** Revisions of history kept for past reads and watches; older ones are compacted in apply (a last resort: the quota binds first). */
  historyRevisionsMax: number;
  /** Clients remembered for dedup of retries (least recently used evicted first). */
  sessionsMax: number;
  /** Accounted bytes of the results kept to answer retries; past it the least recently used results are shed (the session stays). */
  sessionResultsBytesMax: number;
}

export const defaultStoreCapacity: Readonly<StoreCapacity> = Object.freeze({
  // A config store, not a database: a million keys of small documents.
  keysMax: 1_000_000,
  // etcd's default is 2 GiB of an on-disk B-tree. This store lives in memory on every member, and its
  // snapshot is held whole several times over (encode buffer, Raft's copy, InstallSnapshot, decode):
  // 256 MiB keeps a snapshot below ~300 MiB (snapshotBytesBound), a quarter of what restore accepts.
  quotaBytes: 256 * 1024 * 1024,
  // One lease per service instance is the common use; 100k instances is a large cluster.
  leasesMax: 100_000,
  // Watchers that disconnect for a while resume within this window; older ones re-list.
  historyRevisionsMax: 100_000,
  // One session per live client process (Ongaro's dissertation keeps one per client).
  sessionsMax: 10_000,
  // A retry follows its request within a leader change or two: the most recent results suffice.
  sessionResultsBytesMax: 32 * 1024 * 1024,
});

/** Limits of reads and watches: local to a replica, not part of the replicated state. */
export const readLimits = {
  /** Keys returned by one range when the caller gives no smaller limit; more: true past it. */
  rangeKeysMax: 10_000,
  /** Keys plus values returned by one range (at least one key is always returned): a response fits in memory twice over. */
  rangeBytesMax: 4 * 1024 * 1024,
  /**
   * Keys one range at a past revision examines (keys that did not exist at
   * that revision are skipped): a page may come back short with more: true,
   * so one call never blocks the Raft loop for long.
   */
  rangeScanKeysMax: 20_000,
  /** Events in one batch handed to a watch sink (whole revisions unless one revision alone is larger). */
  watchBatchEventsMax: 1000,
  /** Accounted bytes (space.ts) in one watch batch; a single event may exceed it alone. */
  watchBatchBytesMax: 1024 * 1024,
  /** Events a held-back watcher may fall behind by before it is cancelled as slow. */
  watchBufferEventsMax: 10_000,
  /** Accounted bytes a held-back watcher may fall behind by before it is cancelled as slow. */
  watchBufferBytesMax: 8 * 1024 * 1024,
  /** Watches open on one store at a time. */
  watchesMax: 10_000,
} as const;

/** Snapshot bounds. */
export const snapshotLimits = {
  /** Largest snapshot written by snapshot() (ERR_NO_SPACE past it) and accepted by restore(), in bytes. */
  snapshotBytesMax: 1024 * 1024 * 1024,
} as const;
