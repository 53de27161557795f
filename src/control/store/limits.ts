/**
 * Named limits of the config store. Limits that change what apply() does
 * (keys, leases, history) are part of the replicated state machine's
 * definition: every replica must use the same values, so they are constants
 * here and only tests override them (see ConfigStoreOptions).
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
} as const;

/** Limits of one store instance that shape its replicated behaviour; equal on every replica. */
export interface StoreCapacity {
  /** Live keys. Past it, puts of new keys are refused (ERR_RESOURCE_EXHAUSTED). */
  keysMax: number;
  /** Live keys plus values, in bytes, like etcd's backend quota. */
  dataBytesMax: number;
  /** Leases granted and not yet revoked or expired. */
  leasesMax: number;
  /** Revisions of history kept for past reads and watches; older ones are compacted in apply(). */
  historyRevisionsMax: number;
  /** Clients remembered for dedup of retries (least recently used evicted first). */
  sessionsMax: number;
}

export const defaultStoreCapacity: Readonly<StoreCapacity> = Object.freeze({
  // A config store, not a database: a million keys of small documents.
  keysMax: 1_000_000,
  // etcd's default backend quota is 2 GiB; the config store lives in memory and in every snapshot.
  dataBytesMax: 256 * 1024 * 1024,
  // One lease per service instance is the common use; 100k instances is a large cluster.
  leasesMax: 100_000,
  // Watchers that disconnect for a while resume within this window; older ones re-list.
  historyRevisionsMax: 100_000,
  // One session per live client process (Ongaro's dissertation keeps one per client).
  sessionsMax: 10_000,
});

/** Limits of reads and watches: local to a replica, not part of the replicated state. */
export const readLimits = {
  /** Keys returned by one range when the caller gives no smaller limit; more: true past it. */
  rangeKeysMax: 10_000,
  /** Events in one batch handed to a watch sink (whole revisions are never split). */
  watchBatchEventsMax: 1000,
  /** Events a live watcher may fall behind by before it is cancelled as slow. */
  watchBufferEventsMax: 10_000,
  /** Watches open on one store at a time. */
  watchesMax: 10_000,
} as const;

/** Snapshot decoding bounds (refuse a corrupt count before allocating). */
export const snapshotLimits = {
  /** Largest snapshot accepted by restore(), in bytes. */
  snapshotBytesMax: 1024 * 1024 * 1024,
} as const;
