/**
 * The control plane's Raft state machine: a revisioned key/value store with
 * compare-and-swap txns, leases, watches and compaction, modelled on etcd's
 * mvcc. Pure and deterministic: apply() depends only on the commands applied
 * before it (no clock, no randomness, no I/O), so every replica that applies
 * the same log holds the same state, and snapshot() bytes are equal.
 *
 * Revisions: the empty store is at revision 0; each command that changes
 * keys (put, a delete of an existing key, a deleteRange, a txn whose branch
 * writes, a lease revoke or expiry that deletes keys) is one revision, all
 * its changes sharing it, as in etcd. Reads and watches go back to
 * compactedRevision; below it they fail with ERR_COMPACTED naming it.
 *
 * Space (space.ts): live keys, history and leases are counted in accounted
 * bytes against the replicated quota (etcd's --quota-backend-bytes). A write
 * that would pass it is refused with ERR_NO_SPACE and, when the store is
 * full (usedBytes above alarmClearBytes, 15/16 of the quota), raises the
 * NOSPACE alarm, itself replicated state: while it is raised, every write
 * that grows the store is refused; reads, deletes, lease revokes and
 * compaction go on, and the alarm clears by itself once usedBytes is back
 * at or below alarmClearBytes. The quota bounds the snapshot
 * (snapshotBytesBound), whose size is checked again when it is written.
 * Compaction is the operator's or the leader's scheduler's (see
 * compactionCandidate); apply compacts on its own only past
 * historyRevisionsMax.
 */
import { assert } from '../../util/assert.js';
import { ErrorCode, ShoalError } from '../../util/errors.js';
import { decodeCommand, type Command } from './commands.js';
import { SessionTable } from './dedup.js';
import { executeCommand, type ExecContext } from './execute.js';
import { History } from './history.js';
import { KeyIndex } from './key-index.js';
import { compareKeys } from './keys.js';
import { Lessor, type ExpiredLeases } from './leases.js';
import { defaultStoreCapacity, readLimits, type StoreCapacity } from './limits.js';
import { getAt, rangeAt, type RangeOptions, type RangeResult } from './reads.js';
import { RevisionWriter } from './revision-writer.js';
import { decodeSnapshot, encodeSnapshot, type StoreState } from './snapshot.js';
import { alarmClearBytes, capacityFitsSnapshots, leaseBytes, sessionOverheadBytes, snapshotBytesBound, snapshotSlackBytes } from './space.js';
import {
  noLease,
  type ApplyResult,
  type KeyValue,
  type LeaseId,
  type StoreFailure,
} from './types.js';
import { validateCommand, validateKey, validatePrefix } from './validate.js';
import { WatchHub, type WatchHandle, type WatchLimits, type WatchOptions, type WatchSink } from './watch.js';

export interface ConfigStoreOptions {
  /** Replicated limits: must be equal on every replica (they travel in snapshots). */
  capacity?: Partial<StoreCapacity>;
  /** Local limits of watches. */
  watchLimits?: Partial<WatchLimits>;
}

/** Local counters for metrics (not replicated, not in snapshots). */
export interface StoreCounters {
  /** Entries whose bytes did not decode. */
  decodeFailed: number;
  /** Commands refused by validation at apply. */
  invalid: number;
  /** Retries answered from the dedup table. */
  duplicates: number;
  /** Requests refused as stale or from an evicted session. */
  sessionRefused: number;
  /** Writes refused at a capacity limit (keys, leases). */
  capacityRefused: number;
  /** Writes refused by the space quota or the NOSPACE alarm (ERR_NO_SPACE). */
  noSpaceRefused: number;
}

/** Alarms of the store, as etcd names them. ONLY APPEND. */
export const storeAlarms = ['NOSPACE'] as const;
export type StoreAlarm = (typeof storeAlarms)[number];

/**
 * The store's space (space.ts), for /v1/raft/status, /v1/health and metrics,
 * and for the shell's compaction scheduler and snapshot streaming.
 */
export interface SpaceUsage {
  /** What the quota measures: live + history + leases. */
  readonly usedBytes: number;
  readonly quotaBytes: number;
  /** The NOSPACE alarm clears once usedBytes is at or below this. */
  readonly alarmClearBytes: number;
  readonly liveBytes: number;
  readonly historyBytes: number;
  readonly leaseBytes: number;
  /** The dedup table's kept results (bounded by capacity.sessionResultsBytesMax, outside the quota). */
  readonly sessionResultsBytes: number;
  /** The largest snapshot this store can write (snapshotBytesBound of its capacity). */
  readonly snapshotBytesBound: number;
  readonly alarms: readonly StoreAlarm[];
}

/** What to keep when compacting (see compactionCandidate). */
export interface Retention {
  /** Keep at most the last this many revisions of history. */
  revisions?: number;
  /** Keep at most this many accounted bytes of history (the newest revisions). */
  historyBytes?: number;
}

export interface StoreStats {
  readonly revision: number;
  readonly compactedRevision: number;
  readonly appliedIndex: number;
  readonly keys: number;
  readonly dataBytes: number;
  readonly leases: number;
  readonly sessions: number;
  readonly sessionResultsShed: number;
  readonly historyRevisions: number;
  readonly space: SpaceUsage;
  readonly watches: number;
  readonly watchesCancelledSlow: number;
  readonly watchesCancelledCompacted: number;
  readonly counters: Readonly<StoreCounters>;
}

export class ConfigStore {
  private capacityValue: Readonly<StoreCapacity>;
  private noSpaceAlarm = false;
  private keys = new KeyIndex();
  private history = new History();
  private readonly lessor = new Lessor();
  private readonly sessions: SessionTable;
  private readonly watches: WatchHub;
  private currentRevision = 0;
  private lastAppliedIndex = 0;
  private readonly counters: StoreCounters = { decodeFailed: 0, invalid: 0, duplicates: 0, sessionRefused: 0, capacityRefused: 0, noSpaceRefused: 0 };
  private readonly context: ExecContext;

  constructor(options: ConfigStoreOptions = {}) {
    this.capacityValue = Object.freeze({ ...defaultStoreCapacity, ...options.capacity });
    for (const [name, limit] of Object.entries(this.capacityValue)) {
      assert(Number.isSafeInteger(limit) && limit >= 1, `capacity ${name} must be a positive integer, not ${String(limit)}`);
    }
    assert(
      capacityFitsSnapshots(this.capacityValue),
      `capacity allows snapshots of ${snapshotBytesBound(this.capacityValue)} bytes, more than a member loads`,
    );
    this.sessions = new SessionTable(this.capacityValue.sessionsMax, this.capacityValue.sessionResultsBytesMax);
    this.watches = new WatchHub(
      { history: () => this.history, currentRevision: () => this.currentRevision },
      { ...readLimits, ...options.watchLimits },
    );
    const self = this;
    this.context = {
      get keys() {
        return self.keys;
      },
      lessor: this.lessor,
      get capacity() {
        return self.capacityValue;
      },
      get usedBytes() {
        return self.usedBytes;
      },
      get revision() {
        return self.currentRevision;
      },
      get compactedRevision() {
        return self.history.compactedRevision;
      },
      writer: () => new RevisionWriter(this.currentRevision + 1, this.keys, this.lessor),
      commit: (w) => this.commit(w),
      compactTo: (revision) => this.compactTo(revision),
      admit: (growthBytes) => this.admit(growthBytes),
      setQuota: (quotaBytes) => {
        this.capacityValue = Object.freeze({ ...this.capacityValue, quotaBytes });
        if (this.usedBytes > quotaBytes) this.noSpaceAlarm = true;
      },
    };
  }

  /** Replicated limits; quotaBytes changes through setQuota commands. */
  get capacity(): Readonly<StoreCapacity> {
    return this.capacityValue;
  }

  /** Accounted bytes the quota measures: live keys, history and leases (space.ts). */
  get usedBytes(): number {
    return this.keys.spaceBytes + this.history.spaceBytes + this.lessor.size * leaseBytes;
  }

  /** Raised alarms (replicated state: equal on every replica at the same applied index). */
  get alarms(): readonly StoreAlarm[] {
    return this.noSpaceAlarm ? ['NOSPACE'] : [];
  }

  spaceUsage(): SpaceUsage {
    const liveBytes = this.keys.spaceBytes;
    const historyBytes = this.history.spaceBytes;
    const leasesBytes = this.lessor.size * leaseBytes;
    return {
      usedBytes: liveBytes + historyBytes + leasesBytes,
      quotaBytes: this.capacityValue.quotaBytes,
      alarmClearBytes: alarmClearBytes(this.capacityValue.quotaBytes),
      liveBytes,
      historyBytes,
      leaseBytes: leasesBytes,
      sessionResultsBytes: this.sessions.resultsBytes,
      snapshotBytesBound: snapshotBytesBound(this.capacityValue),
      alarms: this.alarms,
    };
  }

  /**
   * For the leader's compaction scheduler: the revision to propose a
   * compact command at so that the history keeps at most `revisions`
   * revisions and at most `historyBytes` accounted bytes (the stricter of
   * the two wins); undefined when nothing needs compacting. A time-based
   * retention (etcd's periodic mode) is the scheduler's: it remembers which
   * revision was current when, and passes the revisions to keep.
   */
  compactionCandidate(retention: Retention): number | undefined {
    let target = 0;
    if (retention.revisions !== undefined) {
      assert(Number.isSafeInteger(retention.revisions) && retention.revisions >= 1, 'retention.revisions must be a positive integer');
      target = Math.max(target, this.currentRevision - retention.revisions + 1);
    }
    if (retention.historyBytes !== undefined) {
      assert(Number.isSafeInteger(retention.historyBytes) && retention.historyBytes >= 0, 'retention.historyBytes must be a non-negative integer');
      if (this.history.spaceBytes > retention.historyBytes) target = Math.max(target, this.history.revisionKeepingBytes(retention.historyBytes) ?? 0);
    }
    target = Math.min(target, this.currentRevision);
    return target > this.history.compactedRevision ? target : undefined;
  }

  get revision(): number {
    return this.currentRevision;
  }

  get compactedRevision(): number {
    return this.history.compactedRevision;
  }

  /** Index of the last Raft entry applied (0: none). A shell skips entries at or below it after a restore. */
  get appliedIndex(): number {
    return this.lastAppliedIndex;
  }

  get keyCount(): number {
    return this.keys.size;
  }

  /** Decode a Raft entry's data and apply it; bad bytes are an error result (the index still counts as applied). */
  applyEntry(data: Uint8Array, raftIndex: number): ApplyResult {
    const decoded = decodeCommand(data);
    if (!decoded.ok) {
      this.counters.decodeFailed++;
      this.advanceIndex(raftIndex);
      return { ok: false, revision: this.currentRevision, duplicate: false, error: failureOf(decoded.error) };
    }
    // decodeCommand() already validated it.
    this.advanceIndex(raftIndex);
    return this.applyValid(decoded.command);
  }

  /** Apply one committed command. Never throws on bad input: errors are results. */
  apply(command: Command, raftIndex: number): ApplyResult {
    this.advanceIndex(raftIndex);
    const invalid = validateCommand(command);
    if (invalid !== undefined) {
      this.counters.invalid++;
      return { ok: false, revision: this.currentRevision, duplicate: false, error: failureOf(invalid) };
    }
    return this.applyValid(command);
  }

  private applyValid(command: Command): ApplyResult {
    const verdict = this.sessions.check(command.req);
    if (verdict.kind === 'duplicate') {
      this.counters.duplicates++;
      return verdict.result;
    }
    if (verdict.kind === 'refuse') {
      // A retry whose result was shed is a duplicate too: it was applied once, and is not again.
      const duplicate = verdict.details?.applied === true;
      if (duplicate) this.counters.duplicates++;
      else this.counters.sessionRefused++;
      const error: StoreFailure = { code: verdict.code, message: verdict.message, ...(verdict.details === undefined ? {} : { details: verdict.details }) };
      return { ok: false, revision: this.currentRevision, duplicate, error };
    }
    const outcome = executeCommand(this.context, command);
    if (!outcome.ok && outcome.error.code === ErrorCode.ResourceExhausted) this.counters.capacityRefused++;
    if (!outcome.ok && outcome.error.code === ErrorCode.NoSpace) this.counters.noSpaceRefused++;
    // The last resort bound on history; the quota and the scheduler's compaction act first.
    if (this.history.length > this.capacityValue.historyRevisionsMax) this.compactTo(this.currentRevision - this.capacityValue.historyRevisionsMax + 1);
    if (this.noSpaceAlarm && this.usedBytes <= alarmClearBytes(this.capacityValue.quotaBytes)) this.noSpaceAlarm = false;
    const result: ApplyResult = outcome.ok
      ? { ok: true, revision: this.currentRevision, duplicate: false, response: outcome.response }
      : { ok: false, revision: this.currentRevision, duplicate: false, error: outcome.error };
    this.sessions.record(command.req, result);
    return result;
  }

  /** Throws ERR_INVALID_ARGUMENT (bad key, future revision) or ERR_COMPACTED. */
  get(key: string, options: { revision?: number } = {}): KeyValue | undefined {
    throwIfInvalid(validateKey(key));
    return getAt(this.readSource(), key, options.revision);
  }

  /** Throws ERR_INVALID_ARGUMENT (bad prefix, limit or future revision) or ERR_COMPACTED. */
  range(prefix: string, options: RangeOptions = {}): RangeResult {
    throwIfInvalid(validatePrefix(prefix));
    return rangeAt(this.readSource(), prefix, options);
  }

  /** Every change under prefix from fromRevision on; throws ERR_COMPACTED naming the oldest revision. */
  watch(prefix: string, fromRevision: number, sink: WatchSink, options: WatchOptions = {}): WatchHandle {
    throwIfInvalid(validatePrefix(prefix));
    return this.watches.watch(prefix, fromRevision, sink, options);
  }

  /**
   * A Raft entry that is not a store command (the leader's no-op, a
   * membership change) was applied: only the applied index moves.
   */
  skipEntry(raftIndex: number): void {
    this.advanceIndex(raftIndex);
  }

  stats(): StoreStats {
    return {
      revision: this.currentRevision,
      compactedRevision: this.history.compactedRevision,
      appliedIndex: this.lastAppliedIndex,
      keys: this.keys.size,
      dataBytes: this.keys.dataBytes,
      leases: this.lessor.size,
      sessions: this.sessions.size,
      sessionResultsShed: this.sessions.shed,
      historyRevisions: this.history.length,
      space: this.spaceUsage(),
      watches: this.watches.size,
      watchesCancelledSlow: this.watches.counters.cancelledSlow,
      watchesCancelledCompacted: this.watches.counters.cancelledCompacted,
      counters: { ...this.counters },
    };
  }

  /** Send every caught-up watch the current revision (see WatchHub.notifyProgress). */
  notifyWatchProgress(): void {
    this.watches.notifyProgress();
  }

  get watchCount(): number {
    return this.watches.size;
  }

  /** Leader only: what to propose as leaseExpire (see leases.ts). Undefined when nothing expired. */
  expiredLeases(leaderNowMs: number): ExpiredLeases | undefined {
    const expired = this.lessor.expiredLeases(leaderNowMs);
    return expired.ids.length === 0 ? undefined : expired;
  }

  /** This node became leader: every lease gets its full TTL from nowMs. */
  onLeaderChange(nowMs: number): void {
    this.lessor.onLeaderChange(nowMs);
  }

  lease(id: LeaseId): { id: LeaseId; ttlMs: number; keepAlives: number; keys: string[] } | undefined {
    const l = this.lessor.get(id);
    return l === undefined ? undefined : { id: l.id, ttlMs: l.ttlMs, keepAlives: l.keepAlives, keys: [...l.keys].sort(compareKeys) };
  }

  /** Leader only: time left on its clock. */
  leaseRemainingMs(id: LeaseId, nowMs: number): number | undefined {
    return this.lessor.remainingTtlMs(id, nowMs);
  }

  /**
   * The whole replicated state (not watches, not lease deadlines). Throws
   * ERR_NO_SPACE rather than write a snapshot larger than restore() accepts
   * (the quota keeps it far below: this is the check at write time).
   */
  snapshot(): Uint8Array {
    const space = this.spaceUsage();
    // An upper bound of the size (space.ts), so the buffer is allocated once.
    const sizeHintBytes = snapshotSlackBytes + space.usedBytes + this.sessions.size * sessionOverheadBytes + space.sessionResultsBytes;
    return encodeSnapshot(this.state(), undefined, sizeHintBytes);
  }

  /** A new store from snapshot bytes; throws ERR_CORRUPT_SNAPSHOT and builds nothing on bad bytes. */
  static restore(bytes: Uint8Array, options: Pick<ConfigStoreOptions, 'watchLimits'> = {}): ConfigStore {
    const decoded = decodeSnapshot(bytes);
    if (!decoded.ok) throw decoded.error;
    const s = decoded.state;
    const store = new ConfigStore({ capacity: s.capacity, watchLimits: options.watchLimits });
    for (const l of s.leases) store.lessor.grant(l.id, l.ttlMs, l.keepAlives);
    store.keys = KeyIndex.fromSorted(s.kvs); // decodeSnapshot checked the key order
    for (const kv of s.kvs) if (kv.lease !== noLease) store.lessor.attach(kv.lease, kv.key);
    for (const session of s.sessions) store.sessions.restore(session);
    store.sessions.shedPastBound(); // a format-1 snapshot kept every result
    store.history = History.restored(s.compactedRevision, s.history);
    store.currentRevision = s.revision;
    store.lastAppliedIndex = s.appliedIndex;
    store.noSpaceAlarm = s.noSpaceAlarm;
    return store;
  }

  /** Close every watch, e.g. before this store is replaced by a restored one. */
  closeWatches(reason: string): void {
    this.watches.closeAll(new ShoalError(ErrorCode.Unavailable, reason));
  }

  private state(): StoreState {
    return {
      capacity: this.capacityValue,
      appliedIndex: this.lastAppliedIndex,
      revision: this.currentRevision,
      compactedRevision: this.history.compactedRevision,
      noSpaceAlarm: this.noSpaceAlarm,
      kvs: this.keys.all(),
      leases: this.lessor.all().map((l) => ({ id: l.id, ttlMs: l.ttlMs, keepAlives: l.keepAlives })),
      sessions: this.sessions.all(),
      history: this.history.all(),
    };
  }

  private readSource(): { keys: KeyIndex; history: History; revision: number } {
    return { keys: this.keys, history: this.history, revision: this.currentRevision };
  }

  private advanceIndex(raftIndex: number): void {
    assert(Number.isSafeInteger(raftIndex) && raftIndex > this.lastAppliedIndex, `apply of index ${raftIndex} after ${this.lastAppliedIndex}`);
    this.lastAppliedIndex = raftIndex;
  }

  private commit(w: RevisionWriter): void {
    if (!w.changed) return;
    const record = w.record();
    this.currentRevision = record.revision;
    this.history.append(record);
    this.watches.onRevision(record);
  }

  /** Undefined when the growth fits the quota (and no alarm is raised); else ERR_NO_SPACE, and the alarm is raised. */
  private admit(growthBytes: number): StoreFailure | undefined {
    if (growthBytes <= 0) return undefined;
    const usedBytes = this.usedBytes;
    const quotaBytes = this.capacityValue.quotaBytes;
    if (!this.noSpaceAlarm && usedBytes + growthBytes <= quotaBytes) return undefined;
    const why = this.noSpaceAlarm
      ? `the NOSPACE alarm is raised (${usedBytes} of ${quotaBytes} quota bytes used; it clears at ${alarmClearBytes(quotaBytes)})`
      : `the write needs ${growthBytes} bytes and ${usedBytes} of ${quotaBytes} quota bytes are used`;
    // The store is full (not merely asked for one write too large for what is left): raise the alarm.
    if (usedBytes > alarmClearBytes(quotaBytes)) this.noSpaceAlarm = true;
    return {
      code: ErrorCode.NoSpace,
      message: `no space: ${why}; delete keys or compact the history (reads, deletes and compaction still work)`,
      details: { usedBytes, quotaBytes, neededBytes: growthBytes, alarm: this.noSpaceAlarm },
    };
  }

  private compactTo(revision: number): void {
    this.history.compact(revision);
    this.watches.onCompact(revision);
  }
}

function throwIfInvalid(e: ShoalError | undefined): void {
  if (e !== undefined) throw e;
}

function failureOf(e: ShoalError): StoreFailure {
  const details: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(e.details ?? {})) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') details[k] = v;
  }
  return { code: e.code, message: e.message, details };
}

/** A result's error as a ShoalError (for callers that throw). */
export function failureToError(f: StoreFailure): ShoalError {
  return new ShoalError(f.code, f.message, f.details === undefined ? undefined : { details: { ...f.details } });
}
