/**
 * Watches: every change under a prefix from a start revision, in revision
 * order, first replayed from the history, then live, with no gap and no
 * duplicate. To resume after a disconnect, open a new watch from the last
 * revision seen + 1.
 *
 * Flow control is a stream's: sink.send() returns false when the consumer
 * cannot take more; the watch then holds back until resume(), in replay as
 * live. A held-back watch needs no memory of its own: its "buffer" is a
 * window on the shared history (a cursor), and a batch is bounded by
 * watchBatchEventsMax and watchBatchBytesMax (whole revisions, except that a
 * revision larger than a batch alone is split into fragments: its batches
 * then say revision - 1 until its last one). So what a sink holds per watch
 * is what it accepted, never more than a batch past its own bound.
 *
 * It is bounded all the same: a held-back watch that falls more than
 * watchBufferEventsMax events or watchBufferBytesMax bytes behind the
 * revisions written since it was held back is cancelled with
 * ERR_SLOW_WATCHER naming the revision to resume from (etcd cancels slow
 * watchers rather than letting them grow); one overtaken by compaction is
 * closed with ERR_COMPACTED. Either way the close names lastRevision, and
 * the client resumes from lastRevision + 1.
 *
 * Progress notifications (etcd's progress notify) are empty batches
 * carrying the current revision, sent to every caught-up watch on
 * notifyProgress() (the shell calls it on a timer), and by a compaction to
 * the caught-up watches whose last reported revision it passed: a client
 * watching a quiet prefix resumes from a revision compaction has not
 * removed.
 *
 * Watches are local to a replica: not replicated, not in snapshots.
 * A sink must not call apply() from send() (it may call cancel()).
 */
import { assert } from '../../util/assert.js';
import { ErrorCode, ShoalError } from '../../util/errors.js';
import type { History } from './history.js';
import { readLimits } from './limits.js';
import { watchEventBytes } from './space.js';
import type { RevisionRecord, StoreEvent } from './types.js';

export interface WatchBatch {
  readonly watchId: number;
  /**
   * Changes in revision order; an event's revision is event.kv.modRevision.
   * Whole revisions, except the fragments of a revision larger than a batch.
   * Empty: a progress notification.
   */
  readonly events: readonly StoreEvent[];
  /** Every change up to this revision has now been delivered: a client resumes from revision + 1. */
  readonly revision: number;
}

export interface WatchClosed {
  readonly watchId: number;
  /** Undefined when cancelled by its owner; else why (ERR_COMPACTED, ERR_SLOW_WATCHER, ERR_UNAVAILABLE). */
  readonly error: ShoalError | undefined;
  /** Every change up to this revision was delivered: resume from lastRevision + 1. */
  readonly lastRevision: number;
}

export interface WatchSink {
  /** Events for the consumer; false: it is full, hold back until resume(). */
  send(batch: WatchBatch): boolean;
  /** Called once, last. */
  closed(reason: WatchClosed): void;
}

export interface WatchHandle {
  readonly id: number;
  /** The consumer drained: deliver what is held back. */
  resume(): void;
  cancel(): void;
  /** Events written since the watch was held back and not yet delivered (0 while it is not held back). */
  readonly backlogEvents: number;
  /** The same in accounted bytes (space.ts: watchEventBytes). */
  readonly backlogBytes: number;
  readonly isClosed: boolean;
}

export interface WatchOptions {
  /**
   * Cancel with ERR_SLOW_WATCHER past the buffer bounds (default true).
   * false only for an in-process consumer that holds nothing while held
   * back (the control core's change feed): its bound is compaction alone.
   */
  cancelWhenSlow?: boolean;
}

export interface WatchLimits {
  watchBatchEventsMax: number;
  watchBatchBytesMax: number;
  watchBufferEventsMax: number;
  watchBufferBytesMax: number;
  watchesMax: number;
}

/** What the hub reads from the store. */
export interface WatchSource {
  history(): History;
  currentRevision(): number;
}

class Watcher implements WatchHandle {
  /** Next revision to look at; everything below it was delivered. */
  nextRevision: number;
  /** Events of nextRevision already delivered (a fragmented revision), else 0. */
  nextEvent = 0;
  blocked = false;
  backlogEvents = 0;
  backlogBytes = 0;
  isClosed = false;
  /** The revision of the last batch handed to the sink (what the client would resume after). */
  reportedRevision: number;

  constructor(
    readonly id: number,
    readonly prefix: string,
    fromRevision: number,
    private readonly sink: WatchSink,
    private readonly hub: WatchHub,
    readonly cancelWhenSlow: boolean,
  ) {
    this.nextRevision = fromRevision;
    this.reportedRevision = fromRevision - 1;
  }

  resume(): void {
    if (this.isClosed) return;
    this.blocked = false;
    this.hub.pump(this);
  }

  cancel(): void {
    this.hub.close(this, undefined);
  }

  matches(record: RevisionRecord, from = 0): StoreEvent[] {
    const events: StoreEvent[] = [];
    for (let i = from; i < record.events.length; i++) {
      const e = record.events[i];
      if (e.kv.key.startsWith(this.prefix)) events.push(e);
    }
    return events;
  }

  /** Events up to nextRevision - 1 (and a fragment of nextRevision). */
  deliver(events: StoreEvent[]): boolean {
    this.reportedRevision = this.nextRevision - 1;
    return this.sink.send({ watchId: this.id, events, revision: this.reportedRevision });
  }

  finish(reason: WatchClosed): void {
    this.sink.closed(reason);
  }
}

export interface WatchCounters {
  /** Watches cancelled for falling behind the buffer bound. */
  cancelledSlow: number;
  /** Watches closed because compaction overtook their cursor. */
  cancelledCompacted: number;
}

export class WatchHub {
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 1;
  readonly counters: WatchCounters = { cancelledSlow: 0, cancelledCompacted: 0 };

  constructor(
    private readonly source: WatchSource,
    private readonly limits: WatchLimits = readLimits,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  /** Throws ERR_COMPACTED (naming the oldest revision) or ERR_RESOURCE_EXHAUSTED. */
  watch(prefix: string, fromRevision: number, sink: WatchSink, options: WatchOptions = {}): WatchHandle {
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 1) {
      throw new ShoalError(ErrorCode.InvalidArgument, `watch fromRevision ${fromRevision} is not a positive integer (to watch from now, pass revision + 1)`, {
        details: { field: 'fromRevision' },
      });
    }
    const compacted = this.source.history().compactedRevision;
    if (fromRevision < compacted) throw compactedError(fromRevision, compacted);
    if (this.watchers.size >= this.limits.watchesMax) {
      throw new ShoalError(ErrorCode.ResourceExhausted, `${this.watchers.size} watches open, at most ${this.limits.watchesMax}`);
    }
    const w = new Watcher(this.nextId++, prefix, fromRevision, sink, this, options.cancelWhenSlow ?? true);
    this.watchers.set(w.id, w);
    this.pump(w);
    return w;
  }

  /** The store appended a revision. */
  onRevision(record: RevisionRecord): void {
    for (const w of [...this.watchers.values()]) {
      if (w.isClosed) continue;
      if (w.blocked) {
        this.fallBehind(w, w.matches(record));
      } else if (w.nextRevision === record.revision && w.nextEvent === 0) {
        // Caught up: only this record is new (the common case, without a scan of the history).
        const matched = w.matches(record);
        if (this.fitsOneBatch(matched)) {
          w.nextRevision = record.revision + 1;
          if (matched.length > 0 && !w.deliver(matched)) w.blocked = true;
        } else {
          this.pump(w);
        }
      } else {
        this.pump(w);
      }
    }
  }

  /**
   * The store compacted: watches whose cursor is now below the history are
   * closed; caught-up ones whose last reported revision compaction passed
   * learn the current revision (so a resume after it is not refused).
   */
  onCompact(compactedRevision: number): void {
    for (const w of [...this.watchers.values()]) {
      if (!w.isClosed && w.nextRevision < compactedRevision) {
        this.counters.cancelledCompacted++;
        this.close(w, compactedError(w.nextRevision, compactedRevision));
      }
    }
    this.notifyProgress(compactedRevision);
  }

  /**
   * Progress notification (etcd's progress notify): every caught-up watch
   * that is not held back gets an empty batch with the current revision, so
   * a client watching a quiet prefix can resume from a recent revision
   * instead of one compaction has removed. With `compactedRevision`, only
   * the watches whose last reported revision + 1 is below it.
   */
  notifyProgress(compactedRevision?: number): void {
    const current = this.source.currentRevision();
    for (const w of [...this.watchers.values()]) {
      if (compactedRevision !== undefined && w.reportedRevision + 1 >= compactedRevision) continue;
      if (!w.isClosed && !w.blocked && w.nextRevision === current + 1 && w.nextEvent === 0) {
        if (!w.deliver([])) w.blocked = true;
      }
    }
  }

  /** Close every watch (the store is being replaced or shut down). */
  closeAll(error: ShoalError): void {
    for (const w of [...this.watchers.values()]) this.close(w, error);
  }

  /** Deliver from the cursor while the sink accepts. */
  pump(w: Watcher): void {
    const current = this.source.currentRevision();
    while (!w.isClosed && !w.blocked && w.nextRevision <= current) {
      const events: StoreEvent[] = [];
      let bytes = 0;
      for (const record of this.source.history().from(w.nextRevision)) {
        const from = record.revision === w.nextRevision ? w.nextEvent : 0;
        const matched = w.matches(record, from);
        const size = batchBytes(matched);
        if (events.length > 0 && (events.length + matched.length > this.limits.watchBatchEventsMax || bytes + size > this.limits.watchBatchBytesMax)) break;
        if (events.length === 0 && !this.fitsOneBatch(matched)) {
          // A revision larger than a batch: a fragment of it (at least one event), the rest next time.
          const taken = this.fragment(matched);
          for (let i = 0; i < taken; i++) events.push(matched[i]);
          bytes += batchBytes(events);
          if (taken < matched.length) {
            w.nextRevision = record.revision;
            w.nextEvent = record.events.indexOf(matched[taken]);
            break;
          }
        } else {
          for (const e of matched) events.push(e);
          bytes += size;
        }
        w.nextRevision = record.revision + 1;
        w.nextEvent = 0;
        if (events.length >= this.limits.watchBatchEventsMax || bytes >= this.limits.watchBatchBytesMax) break;
      }
      assert(events.length > 0 || w.nextRevision > current, 'watch: cursor did not move');
      if (events.length === 0) break;
      w.backlogEvents = Math.max(0, w.backlogEvents - events.length);
      w.backlogBytes = Math.max(0, w.backlogBytes - bytes);
      if (!w.deliver(events)) w.blocked = true;
    }
    if (!w.isClosed && !w.blocked) {
      w.backlogEvents = 0;
      w.backlogBytes = 0;
    }
  }

  close(w: Watcher, error: ShoalError | undefined): void {
    if (w.isClosed) return;
    w.isClosed = true;
    this.watchers.delete(w.id);
    w.finish({ watchId: w.id, error, lastRevision: w.nextRevision - 1 });
  }

  private fitsOneBatch(events: readonly StoreEvent[]): boolean {
    return events.length <= this.limits.watchBatchEventsMax && batchBytes(events) <= this.limits.watchBatchBytesMax;
  }

  /** How many of a large revision's events go in one batch: at least one. */
  private fragment(events: readonly StoreEvent[]): number {
    let bytes = 0;
    let n = 0;
    for (const e of events) {
      const size = watchEventBytes(e);
      if (n > 0 && (n >= this.limits.watchBatchEventsMax || bytes + size > this.limits.watchBatchBytesMax)) break;
      bytes += size;
      n++;
    }
    return n;
  }

  /** A held-back watch: the new revision adds to what it is behind by; past the bound it is cancelled. */
  private fallBehind(w: Watcher, matched: readonly StoreEvent[]): void {
    w.backlogEvents += matched.length;
    w.backlogBytes += batchBytes(matched);
    if (!w.cancelWhenSlow || (w.backlogEvents <= this.limits.watchBufferEventsMax && w.backlogBytes <= this.limits.watchBufferBytesMax)) return;
    this.counters.cancelledSlow++;
    const behind =
      w.backlogEvents > this.limits.watchBufferEventsMax
        ? `${w.backlogEvents} events (at most ${this.limits.watchBufferEventsMax})`
        : `${w.backlogBytes} bytes (at most ${this.limits.watchBufferBytesMax})`;
    this.close(
      w,
      new ShoalError(ErrorCode.SlowWatcher, `watch ${w.id} is not reading and fell ${behind} behind: resume from revision ${w.nextRevision}`, {
        details: { resumeRevision: w.nextRevision, lastRevision: w.nextRevision - 1, backlogEvents: w.backlogEvents, backlogBytes: w.backlogBytes },
      }),
    );
  }
}

function batchBytes(events: readonly StoreEvent[]): number {
  let n = 0;
  for (const e of events) n += watchEventBytes(e);
  return n;
}

export function compactedError(revision: number, compactedRevision: number): ShoalError {
  return new ShoalError(
    ErrorCode.Compacted,
    `revision ${revision} is compacted: the oldest available revision is ${compactedRevision}`,
    { details: { revision, oldestRevision: compactedRevision } },
  );
}
