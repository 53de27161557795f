/**
 * The replicated state as this member has applied it: the ConfigStore, the
 * Raft index (and term) applied, and the last local snapshot. Committed
 * entries are applied here in order: ConfChange entries are handed back to
 * the caller (Raft applies membership itself), Normal entries are unwrapped
 * (entry-envelope.ts) and applied to the store. A snapshot from the leader
 * replaces the store (its watches are closed; watchers resume on the new one).
 */
import { decodeConfChange } from '../raft/conf-change.js';
import { EntryType, type ConfChange, type ConfState, type Entry, type Snapshot } from '../raft/types.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { ChangeFeed } from './change-feed.js';
import type { ControlCounters, ControlEvent, ControlResult, ReadQuery } from './control-types.js';
import { decodeEnvelope } from './entry-envelope.js';
import { ConfigStore } from './store/config-store.js';
import type { RangeOptions } from './store/reads.js';
import type { ApplyResult } from './store/types.js';

export interface ApplyCallbacks {
  confChange(cc: ConfChange): void;
  /** A store command proposed under `tag` was applied with `result`. */
  applied(tag: string, result: ApplyResult): void;
}

export class AppliedState {
  private storeValue = new ConfigStore();
  private readonly changes: ChangeFeed;
  appliedIndex = 0;
  appliedTerm = 0;
  snapshotIndex = 0;

  constructor(
    events: ControlEvent[],
    private readonly counters: ControlCounters,
  ) {
    this.changes = new ChangeFeed(events, counters);
    this.changes.attach(this.storeValue);
  }

  get store(): ConfigStore {
    return this.storeValue;
  }

  /** The shell took the pending events (ready()): the change feed delivers what it held back. */
  changesTaken(): void {
    this.changes.taken();
  }

  /** Start from a snapshot (restart from disk, or installed from the leader). */
  restore(snapshot: Snapshot): void {
    if (snapshot.meta.index <= this.appliedIndex) return;
    const store = ConfigStore.restore(snapshot.data);
    this.storeValue.closeWatches('the store was replaced by a snapshot from the leader: resume the watch');
    this.storeValue = store;
    this.changes.attach(store);
    this.appliedIndex = snapshot.meta.index;
    this.appliedTerm = snapshot.meta.term;
    this.snapshotIndex = snapshot.meta.index;
  }

  apply(e: Entry, cb: ApplyCallbacks): void {
    if (e.index <= this.appliedIndex) return;
    this.appliedIndex = e.index;
    this.appliedTerm = e.term;
    this.counters.entriesApplied++;
    if (e.type === EntryType.ConfChange) {
      let cc: ConfChange;
      try {
        cc = decodeConfChange(e.data);
      } catch {
        this.counters.entriesUndecodable++;
        return;
      }
      cb.confChange(cc);
      return;
    }
    if (e.data.length === 0) return; // a leader's no-op
    const env = decodeEnvelope(e.data);
    if (!env.ok) {
      this.counters.entriesUndecodable++;
      return;
    }
    if (e.index <= this.storeValue.appliedIndex) return; // already in the store's snapshot
    cb.applied(env.tag, this.storeValue.applyEntry(env.command, e.index));
  }

  /** A read of the store as applied here. */
  read(requestId: string, q: ReadQuery): ControlResult {
    try {
      const store = this.storeValue;
      if (q.kind === 'get') {
        const kv = store.get(q.key, q.revision === undefined ? {} : { revision: q.revision });
        return { requestId, ok: true, value: { kv, revision: store.revision } };
      }
      const opts: RangeOptions = {};
      if (q.revision !== undefined) opts.revision = q.revision;
      if (q.limit !== undefined) opts.limit = q.limit;
      if (q.limitBytes !== undefined) opts.limitBytes = q.limitBytes;
      if (q.after !== undefined) opts.after = q.after;
      if (q.continuation !== undefined) opts.continuation = q.continuation;
      return { requestId, ok: true, value: store.range(q.prefix, opts) };
    } catch (e) {
      const error = e instanceof ShoalError ? e : new ShoalError(ErrorCode.InvalidArgument, (e as Error).message);
      return { requestId, ok: false, error };
    }
  }

  snapshotDue(everyEntries: number): boolean {
    return this.appliedIndex - this.snapshotIndex >= everyEntries;
  }

  /** A snapshot of the store at the applied index, with the membership in force there. */
  takeSnapshot(conf: ConfState): Snapshot {
    this.snapshotIndex = this.appliedIndex;
    this.counters.snapshotsTaken++;
    return { meta: { index: this.appliedIndex, term: this.appliedTerm, conf }, data: this.storeValue.snapshot() };
  }
}
