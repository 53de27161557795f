/**
 * Byte accounting of the config store: the measure of the space quota, of
 * the dedup table's results and of watch batches. Pure functions of the
 * replicated state, so every replica (and a replica restored from a
 * snapshot) counts the same bytes and refuses the same writes.
 *
 * Each version of a key (what one put wrote) is counted once, for as long
 * as anything holds it: the live index while it is current, then the
 * history record of the change that replaced it (as that event's prevKv)
 * until compaction drops that record. This is also how snapshots (format 2)
 * carry it: once, with references for the other places that hold it, so
 * an accounted byte is an upper bound of a snapshot byte:
 *
 *   versionBytes(kv)   = kvOverheadBytes + key + value
 *   liveBytes(kv)      = versionBytes(kv) + reserve(key)
 *   eventBytes(e)      = eventOverheadBytes + key + versionBytes(e.prevKv) (0 without one)
 *   a revision         = recordOverheadBytes + its events
 *   a lease            = leaseBytes
 *
 * reserve(key) = eventOverheadBytes + key + recordOverheadBytes is charged to
 * a live key up front for the event and revision its delete will add, so a
 * delete never grows the store (etcd, too, lets deletes through when its
 * quota is reached) and usedBytes never exceeds the quota by more than a
 * quota change allowed.
 */
import { utf8Bytes } from './keys.js';
import { snapshotLimits, storeLimits, type StoreCapacity } from './limits.js';
import type { ApplyResult, KeyValue, StoreEvent } from './types.js';

/** A version's fixed-size fields (revisions, version, lease as varints, lengths, frame header) in a snapshot: at most 41 bytes. */
export const kvOverheadBytes = 64;
/** An event's type, flags and reference in a snapshot. */
export const eventOverheadBytes = 16;
/** A revision's frame header, revision and event count in a snapshot. */
export const recordOverheadBytes = 32;
/** A lease's JSON frame in a snapshot. */
export const leaseBytes = 128;
/** A dedup session's JSON frame without its result. */
export const sessionOverheadBytes = 256 + storeLimits.clientIdBytesMax;
/** Header, capacity and frame slack of a snapshot. */
export const snapshotSlackBytes = 64 * 1024;

export function versionBytes(kv: KeyValue): number {
  return kvOverheadBytes + utf8Bytes(kv.key) + kv.value.length;
}

/** What a key held in the live index is charged: its version and the reserve for its delete. */
export function liveBytes(kv: KeyValue): number {
  return versionBytes(kv) + reserveBytes(utf8Bytes(kv.key));
}

export function reserveBytes(keyBytes: number): number {
  return eventOverheadBytes + keyBytes + recordOverheadBytes;
}

export function eventBytes(e: StoreEvent): number {
  return eventOverheadBytes + utf8Bytes(e.kv.key) + (e.prevKv === undefined ? 0 : versionBytes(e.prevKv));
}

/**
 * A watch batch's size of one event: its key/value and previous value
 * (a watcher receives both, unlike the accounting above, which shares them).
 */
export function watchEventBytes(e: StoreEvent): number {
  return eventOverheadBytes + versionBytes(e.kv) + (e.prevKv === undefined ? 0 : versionBytes(e.prevKv));
}

/**
 * Growth of usedBytes when a put of keyBytes/valueBytes replaces `prev`
 * (undefined: a new key), not counting the revision's recordOverheadBytes.
 * An overwrite moves the old version to history (its reserve pays the
 * event) and adds the new version with a new event; a new key adds its
 * event, its version and its reserve.
 */
export function putGrowthBytes(keyBytes: number, valueBytes: number, prev: KeyValue | undefined): number {
  const version = kvOverheadBytes + keyBytes + valueBytes;
  if (prev !== undefined) return version + eventOverheadBytes + keyBytes;
  return version + 2 * (eventOverheadBytes + keyBytes) + recordOverheadBytes;
}

/** Growth of usedBytes when an existing key is deleted, not counting the revision's recordOverheadBytes: its reserve pays for the event and revision. */
export const deleteGrowthBytes = -recordOverheadBytes;

/**
 * Accounted size of a result kept in the dedup table: an upper bound of its
 * JSON in a snapshot (values in base64, keys possibly escaped).
 */
export function resultBytes(result: ApplyResult): number {
  let n = 128;
  const kv = (x: KeyValue | undefined): void => {
    if (x !== undefined) n += 128 + 2 * utf8Bytes(x.key) + 4 * Math.ceil(x.value.length / 3);
  };
  if (!result.ok) {
    n += 2 * utf8Bytes(result.error.message);
    for (const [k, v] of Object.entries(result.error.details ?? {})) n += 16 + 2 * utf8Bytes(k) + (typeof v === 'string' ? 2 * utf8Bytes(v) : 24);
    return n;
  }
  const r = result.response;
  switch (r.kind) {
    case 'put':
    case 'delete':
      kv(r.prevKv);
      break;
    case 'txn':
      for (const op of r.results) {
        n += 64;
        kv(op.kind === 'get' ? op.kv : op.prevKv);
      }
      break;
    case 'leaseExpire':
      n += 24 * r.expired.length;
      break;
    default:
      break;
  }
  return n;
}

/**
 * The largest snapshot a store of this capacity writes: usedBytes stays at
 * or below the quota (or below a larger quota it had before a setQuota
 * lowered it: at most storeLimits.quotaBytesMax), plus the dedup table.
 */
export function snapshotBytesBound(capacity: Readonly<StoreCapacity>): number {
  return snapshotSlackBytes + capacity.quotaBytes + capacity.sessionsMax * sessionOverheadBytes + capacity.sessionResultsBytesMax;
}

/** Does a store of this capacity always snapshot below what restore accepts? */
export function capacityFitsSnapshots(capacity: Readonly<StoreCapacity>): boolean {
  return snapshotBytesBound(capacity) <= snapshotLimits.snapshotBytesMax;
}

/** The NOSPACE alarm clears once usedBytes is at or below this: 1/16 of the quota free, so the alarm does not flap on every write and delete at the edge. */
export function alarmClearBytes(quotaBytes: number): number {
  return quotaBytes - Math.floor(quotaBytes / 16);
}
