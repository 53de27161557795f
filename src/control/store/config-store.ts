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
import {
  noLease,
  type ApplyResult,
  type KeyValue,
  type LeaseId,
  type StoreFailure,
} from './types.js';
import { validateCommand, validateKey, validatePrefix } from './validate.js';
import { WatchHub, type WatchHandle, type WatchLimits, type WatchSink } from './watch.js';

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
  /** Writes refused at a capacity limit (keys, bytes, leases). */
  capacityRefused: number;
}

export interface StoreStats {
  readonly revision: number;
  readonly compactedRevision: number;
  readonly appliedIndex: number;
  readonly keys: number;
  readonly dataBytes: number;
  readonly leases: number;
  readonly sessions: number;
  readonly historyRevisions: number;
  readonly watches: number;
  readonly watchesCancelledSlow: number;
  readonly watchesCancelledCompacted: number;
  readonly counters: Readonly<StoreCounters>;
}

export class ConfigStore {
  readonly capacity: Readonly<StoreCapacity>;
  private readonly keys = new KeyIndex();
  private history = new History();
  private readonly lessor = new Lessor();
  private readonly sessions: SessionTable;
  private readonly watches: WatchHub;
  private currentRevision = 0;
  private lastAppliedIndex = 0;
  private readonly counters: StoreCounters = { decodeFailed: 0, invalid: 0, duplicates: 0, sessionRefused: 0, capacityRefused: 0 };
  private readonly context: ExecContext;

  constructor(options: ConfigStoreOptions = {}) {
    this.capacity = Object.freeze({ ...defaultStoreCapacity, ...options.capacity });
    for (const [name, limit] of Object.entries(this.capacity)) {
      assert(Number.isSafeInteger(limit) && limit >= 1, `capacity ${name} must be a positive integer, not ${String(limit)}`);
    }
    this.sessions = new SessionTable(this.capacity.sessionsMax);
    this.watches = new WatchHub(
      { history: () => this.history, currentRevision: () => this.currentRevision },
      { ...readLimits, ...options.watchLimits },
    );
    const self = this;
    this.context = {
      keys: this.keys,
      lessor: this.lessor,
      capacity: this.capacity,
      get revision() {
        return self.currentRevision;
      },
      get compactedRevision() {
        return self.history.compactedRevision;
      },
      writer: () => new RevisionWriter(this.currentRevision + 1, this.keys, this.lessor),
      commit: (w) => this.commit(w),
      compactTo: (revision) => this.compactTo(revision),
    };
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
      this.counters.sessionRefused++;
      return { ok: false, revision: this.currentRevision, duplicate: false, error: { code: verdict.code, message: verdict.message } };
    }
    const outcome = executeCommand(this.context, command);
    if (!outcome.ok && outcome.error.code === ErrorCode.ResourceExhausted) this.counters.capacityRefused++;
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
  watch(prefix: string, fromRevision: number, sink: WatchSink): WatchHandle {
    throwIfInvalid(validatePrefix(prefix));
    return this.watches.watch(prefix, fromRevision, sink);
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
      historyRevisions: this.history.length,
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

  /** The whole replicated state (not watches, not lease deadlines). */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.state());
  }

  /** A new store from snapshot bytes; throws ERR_CORRUPT_SNAPSHOT and builds nothing on bad bytes. */
  static restore(bytes: Uint8Array, options: Pick<ConfigStoreOptions, 'watchLimits'> = {}): ConfigStore {
    const decoded = decodeSnapshot(bytes);
    if (!decoded.ok) throw decoded.error;
    const s = decoded.state;
    const store = new ConfigStore({ capacity: s.capacity, watchLimits: options.watchLimits });
    for (const l of s.leases) store.lessor.grant(l.id, l.ttlMs, l.keepAlives);
    for (const kv of s.kvs) {
      store.keys.set(kv);
      if (kv.lease !== noLease) store.lessor.attach(kv.lease, kv.key);
    }
    for (const session of s.sessions) store.sessions.record({ client: session.client, seq: session.lastSeq }, session.lastResult);
    store.history = History.restored(s.compactedRevision, [...s.history]);
    store.currentRevision = s.revision;
    store.lastAppliedIndex = s.appliedIndex;
    return store;
  }

  /** Close every watch, e.g. before this store is replaced by a restored one. */
  closeWatches(reason: string): void {
    this.watches.closeAll(new ShoalError(ErrorCode.Unavailable, reason));
  }

  private state(): StoreState {
    return {
      capacity: this.capacity,
      appliedIndex: this.lastAppliedIndex,
      revision: this.currentRevision,
      compactedRevision: this.history.compactedRevision,
      kvs: [...this.keys.all()],
      leases: this.lessor.all().map((l) => ({ id: l.id, ttlMs: l.ttlMs, keepAlives: l.keepAlives })),
      sessions: this.sessions.all(),
      history: [...this.history.all()],
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
    if (this.history.length > this.capacity.historyRevisionsMax) {
      this.compactTo(this.currentRevision - this.capacity.historyRevisionsMax + 1);
    }
    this.watches.onRevision(record);
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
