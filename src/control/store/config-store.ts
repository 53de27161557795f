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
import { decodeCommand, type Command, type TxnOp } from './commands.js';
import { evaluateCompare } from './compare.js';
import { SessionTable } from './dedup.js';
import { History } from './history.js';
import { KeyIndex } from './key-index.js';
import { utf8Bytes } from './keys.js';
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
  type StoreResponse,
  type TxnOpResult,
} from './types.js';
import { validateCommand } from './validate.js';
import { WatchHub, type WatchHandle, type WatchLimits, type WatchSink } from './watch.js';

export interface ConfigStoreOptions {
  /** Replicated limits: must be equal on every replica (they travel in snapshots). */
  capacity?: Partial<StoreCapacity>;
  /** Local limits of watches. */
  watchLimits?: Partial<WatchLimits>;
}

type Outcome = { ok: true; response: StoreResponse } | { ok: false; error: StoreFailure };

export class ConfigStore {
  readonly capacity: Readonly<StoreCapacity>;
  private readonly keys = new KeyIndex();
  private history = new History();
  private readonly lessor = new Lessor();
  private readonly sessions: SessionTable;
  private readonly watches: WatchHub;
  private currentRevision = 0;
  private lastAppliedIndex = 0;

  constructor(options: ConfigStoreOptions = {}) {
    this.capacity = Object.freeze({ ...defaultStoreCapacity, ...options.capacity });
    assert(this.capacity.historyRevisionsMax >= 1, 'historyRevisionsMax must be at least 1');
    this.sessions = new SessionTable(this.capacity.sessionsMax);
    this.watches = new WatchHub(
      { history: () => this.history, currentRevision: () => this.currentRevision },
      { ...readLimits, ...options.watchLimits },
    );
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

  get leaseCount(): number {
    return this.lessor.size;
  }

  /** Decode a Raft entry's data and apply it; bad bytes are an error result (the index still counts as applied). */
  applyEntry(data: Uint8Array, raftIndex: number): ApplyResult {
    const decoded = decodeCommand(data);
    if (!decoded.ok) {
      this.advanceIndex(raftIndex);
      return { ok: false, revision: this.currentRevision, duplicate: false, error: failureOf(decoded.error) };
    }
    return this.apply(decoded.command, raftIndex);
  }

  /** Apply one committed command. Never throws on bad input: errors are results. */
  apply(command: Command, raftIndex: number): ApplyResult {
    this.advanceIndex(raftIndex);
    const invalid = validateCommand(command);
    if (invalid !== undefined) return { ok: false, revision: this.currentRevision, duplicate: false, error: failureOf(invalid) };
    const verdict = this.sessions.check(command.req);
    if (verdict.kind === 'duplicate') return verdict.result;
    if (verdict.kind === 'refuse') {
      return { ok: false, revision: this.currentRevision, duplicate: false, error: { code: verdict.code, message: verdict.message } };
    }
    const outcome = this.execute(command);
    const result: ApplyResult = outcome.ok
      ? { ok: true, revision: this.currentRevision, duplicate: false, response: outcome.response }
      : { ok: false, revision: this.currentRevision, duplicate: false, error: outcome.error };
    this.sessions.record(command.req, result);
    return result;
  }

  get(key: string, options: { revision?: number } = {}): KeyValue | undefined {
    return getAt(this.readSource(), key, options.revision);
  }

  range(prefix: string, options: RangeOptions = {}): RangeResult {
    return rangeAt(this.readSource(), prefix, options);
  }

  /** Every change under prefix from fromRevision on; throws ERR_COMPACTED naming the oldest revision. */
  watch(prefix: string, fromRevision: number, sink: WatchSink): WatchHandle {
    return this.watches.watch(prefix, fromRevision, sink);
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
    return l === undefined ? undefined : { id: l.id, ttlMs: l.ttlMs, keepAlives: l.keepAlives, keys: [...l.keys].sort() };
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

  private execute(c: Command): Outcome {
    switch (c.type) {
      case 'put': {
        const lease = c.lease ?? noLease;
        const pre = this.checkLease(lease) ?? this.checkCapacity([{ type: 'put', key: c.key, value: c.value }]);
        if (pre !== undefined) return { ok: false, error: pre };
        if (c.prevRevision !== undefined) {
          const modRevision = this.keys.get(c.key)?.modRevision ?? 0;
          if (modRevision !== c.prevRevision) {
            return failed(ErrorCode.Conflict, `key ${c.key} is at modRevision ${modRevision}, not ${c.prevRevision}`, {
              key: c.key,
              modRevision,
            });
          }
        }
        const w = this.writer();
        const prevKv = w.put(c.key, c.value, lease);
        this.commit(w);
        return { ok: true, response: { kind: 'put', prevKv } };
      }
      case 'delete': {
        const w = this.writer();
        const prevKv = w.delete(c.key);
        this.commit(w);
        return { ok: true, response: { kind: 'delete', deleted: prevKv === undefined ? 0 : 1, prevKv } };
      }
      case 'deleteRange': {
        const w = this.writer();
        let deleted = 0;
        for (const key of [...this.keys.keysWithPrefix(c.prefix)]) if (w.delete(key) !== undefined) deleted++;
        this.commit(w);
        return { ok: true, response: { kind: 'deleteRange', deleted } };
      }
      case 'txn':
        return this.executeTxn(c);
      case 'leaseGrant':
        if (this.lessor.get(c.id) !== undefined) return failed(ErrorCode.Conflict, `lease ${c.id} already exists`, { lease: c.id });
        if (this.lessor.size >= this.capacity.leasesMax) {
          return failed(ErrorCode.ResourceExhausted, `${this.lessor.size} leases, at most ${this.capacity.leasesMax}`, {});
        }
        this.lessor.grant(c.id, c.ttlMs);
        return { ok: true, response: { kind: 'leaseGrant', id: c.id, ttlMs: c.ttlMs } };
      case 'leaseKeepAlive': {
        const missing = this.checkLease(c.id);
        if (missing !== undefined) return { ok: false, error: missing };
        const l = this.lessor.keepAlive(c.id);
        return { ok: true, response: { kind: 'leaseKeepAlive', id: c.id, ttlMs: l.ttlMs } };
      }
      case 'leaseRevoke': {
        const missing = this.checkLease(c.id);
        if (missing !== undefined) return { ok: false, error: missing };
        const deleted = this.deleteLeaseKeys([c.id]);
        return { ok: true, response: { kind: 'leaseRevoke', deleted } };
      }
      case 'leaseExpire': {
        const expired: LeaseId[] = [];
        c.ids.forEach((id, i) => {
          const l = this.lessor.get(id);
          // A keep-alive applied after the leader decided wins: the lease lives on.
          if (l !== undefined && l.keepAlives === c.keepAlives[i] && !expired.includes(id)) expired.push(id);
        });
        const deleted = this.deleteLeaseKeys(expired);
        return { ok: true, response: { kind: 'leaseExpire', expired, deleted } };
      }
      case 'compact':
        if (c.revision > this.currentRevision) {
          return failed(ErrorCode.InvalidArgument, `cannot compact to revision ${c.revision}: the current one is ${this.currentRevision}`, {
            revision: c.revision,
            currentRevision: this.currentRevision,
          });
        }
        if (c.revision <= this.history.compactedRevision) {
          return failed(ErrorCode.Compacted, `revision ${c.revision} is compacted: the oldest available revision is ${this.history.compactedRevision}`, {
            revision: c.revision,
            oldestRevision: this.history.compactedRevision,
          });
        }
        this.compactTo(c.revision);
        return { ok: true, response: { kind: 'compact', compactedRevision: c.revision } };
    }
  }

  private executeTxn(c: Extract<Command, { type: 'txn' }>): Outcome {
    const succeeded = c.compare.every((cmp) => evaluateCompare(cmp, this.keys.get(cmp.key)));
    const ops = succeeded ? c.success : c.failure;
    for (const op of ops) {
      if (op.type !== 'put') continue;
      const missing = this.checkLease(op.lease ?? noLease);
      if (missing !== undefined) return { ok: false, error: missing };
    }
    const full = this.checkCapacity(ops);
    if (full !== undefined) return { ok: false, error: full };
    const w = this.writer();
    // Ops run in order; a get sees the writes of the ops before it (etcd's txn reads its own writes).
    const results: TxnOpResult[] = ops.map((op): TxnOpResult => {
      switch (op.type) {
        case 'put':
          return { kind: 'put', prevKv: w.put(op.key, op.value, op.lease ?? noLease) };
        case 'delete': {
          const prevKv = w.delete(op.key);
          return { kind: 'delete', deleted: prevKv === undefined ? 0 : 1, prevKv };
        }
        case 'get':
          return { kind: 'get', kv: this.keys.get(op.key) };
      }
    });
    this.commit(w);
    return { ok: true, response: { kind: 'txn', succeeded, results } };
  }

  private deleteLeaseKeys(ids: readonly LeaseId[]): number {
    const w = this.writer();
    let deleted = 0;
    for (const id of ids) {
      for (const key of this.lessor.remove(id).sort()) if (w.delete(key) !== undefined) deleted++;
    }
    this.commit(w);
    return deleted;
  }

  private checkLease(lease: LeaseId): StoreFailure | undefined {
    if (lease === noLease || this.lessor.get(lease) !== undefined) return undefined;
    return { code: ErrorCode.NotFound, message: `lease ${lease} not found`, details: { lease } };
  }

  /** Refuse writes that would grow the store past its capacity (shrinking is always allowed). */
  private checkCapacity(ops: readonly TxnOp[]): StoreFailure | undefined {
    let keysDelta = 0;
    let bytesDelta = 0;
    for (const op of ops) {
      const prev = this.keys.get(op.key);
      if (op.type === 'put') {
        keysDelta += prev === undefined ? 1 : 0;
        bytesDelta += op.value.length - (prev === undefined ? -utf8Bytes(op.key) : prev.value.length);
      } else if (op.type === 'delete' && prev !== undefined) {
        keysDelta -= 1;
      }
    }
    if (keysDelta > 0 && this.keys.size + keysDelta > this.capacity.keysMax) {
      return { code: ErrorCode.ResourceExhausted, message: `the store holds ${this.keys.size} keys, at most ${this.capacity.keysMax}` };
    }
    if (bytesDelta > 0 && this.keys.dataBytes + bytesDelta > this.capacity.dataBytesMax) {
      return { code: ErrorCode.ResourceExhausted, message: `the store holds ${this.keys.dataBytes} bytes, at most ${this.capacity.dataBytesMax}` };
    }
    return undefined;
  }

  private writer(): RevisionWriter {
    return new RevisionWriter(this.currentRevision + 1, this.keys, this.lessor);
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

function failed(code: ErrorCode, message: string, details: Record<string, string | number | boolean>): Outcome {
  return { ok: false, error: { code, message, details } };
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
