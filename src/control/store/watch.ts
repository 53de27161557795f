/**
 * Watches: every change under a prefix from a start revision, in revision
 * order, first replayed from the history, then live, with no gap and no
 * duplicate. To resume after a disconnect, open a new watch from the last
 * revision seen + 1.
 *
 * Flow control is a stream's: sink.send() returns false when the consumer
 * cannot take more; the watch then holds back until resume(). A held-back
 * watch needs no memory of its own: its "buffer" is a window on the shared
 * history (a cursor). It is bounded all the same: a live watch (one that had
 * caught up) that falls more than watchBufferEventsMax matching events
 * behind is cancelled with ERR_SLOW_WATCHER, as etcd cancels slow watchers
 * rather than letting them grow; one still replaying is cancelled with
 * ERR_COMPACTED if compaction overtakes its cursor. Either way the close
 * names lastRevision, and the client resumes from lastRevision + 1.
 *
 * Watches are local to a replica: not replicated, not in snapshots.
 * A sink must not call apply() from send() (it may call cancel()).
 */
import { assert } from '../../util/assert.js';
import { ErrorCode, ShoalError } from '../../util/errors.js';
import type { History } from './history.js';
import { readLimits } from './limits.js';
import type { RevisionRecord, StoreEvent } from './types.js';

export interface WatchBatch {
  readonly watchId: number;
  /** Whole revisions in revision order; an event's revision is event.kv.modRevision. Empty: a progress notification. */
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
  /** Events held back while live (0 while replaying). */
  readonly backlogEvents: number;
  readonly isClosed: boolean;
}

export interface WatchLimits {
  watchBatchEventsMax: number;
  watchBufferEventsMax: number;
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
  blocked = false;
  /** Caught up with the store at least once: from then on the backlog is bounded. */
  live = false;
  backlogEvents = 0;
  isClosed = false;

  constructor(
    readonly id: number,
    readonly prefix: string,
    fromRevision: number,
    private readonly sink: WatchSink,
    private readonly hub: WatchHub,
  ) {
    this.nextRevision = fromRevision;
  }

  resume(): void {
    if (this.isClosed) return;
    this.blocked = false;
    this.hub.pump(this);
  }

  cancel(): void {
    this.hub.close(this, undefined);
  }

  matches(record: RevisionRecord): StoreEvent[] {
    const events: StoreEvent[] = [];
    for (const e of record.events) if (e.kv.key.startsWith(this.prefix)) events.push(e);
    return events;
  }

  /** Events up to nextRevision - 1. */
  deliver(events: StoreEvent[]): boolean {
    return this.sink.send({ watchId: this.id, events, revision: this.nextRevision - 1 });
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
  watch(prefix: string, fromRevision: number, sink: WatchSink): WatchHandle {
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
    const w = new Watcher(this.nextId++, prefix, fromRevision, sink, this);
    this.watchers.set(w.id, w);
    this.pump(w);
    return w;
  }

  /** The store appended a revision. */
  onRevision(record: RevisionRecord): void {
    for (const w of [...this.watchers.values()]) {
      if (w.isClosed) continue;
      if (!w.blocked && w.nextRevision === record.revision) {
        // Caught up: only this record is new (the common case, without a scan of the history).
        const matched = w.matches(record);
        w.nextRevision = record.revision + 1;
        if (matched.length > 0 && !w.deliver(matched)) w.blocked = true;
      } else if (!w.blocked) {
        this.pump(w);
      } else if (w.live) {
        w.backlogEvents += w.matches(record).length;
        if (w.backlogEvents > this.limits.watchBufferEventsMax) {
          this.counters.cancelledSlow++;
          this.close(
            w,
            new ShoalError(
              ErrorCode.SlowWatcher,
              `watch ${w.id} fell ${w.backlogEvents} events behind (at most ${this.limits.watchBufferEventsMax}): resume from revision ${w.nextRevision}`,
              { details: { resumeRevision: w.nextRevision } },
            ),
          );
        }
      }
    }
  }

  /** The store compacted: watches whose cursor is now below the history are closed. */
  onCompact(compactedRevision: number): void {
    for (const w of [...this.watchers.values()]) {
      if (!w.isClosed && w.nextRevision < compactedRevision) {
        this.counters.cancelledCompacted++;
        this.close(w, compactedError(w.nextRevision, compactedRevision));
      }
    }
  }

  /**
   * Progress notification (etcd's progress notify): every caught-up watch
   * that is not held back gets an empty batch with the current revision, so
   * a client watching a quiet prefix can resume from a recent revision
   * instead of one compaction has removed. Not wired yet: the HTTP watch
   * stream's keep-alive does not carry a revision (see the closing note).
   */
  notifyProgress(): void {
    const current = this.source.currentRevision();
    for (const w of [...this.watchers.values()]) {
      if (!w.isClosed && !w.blocked && w.live && w.nextRevision === current + 1) {
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
      let next = w.nextRevision;
      for (const record of this.source.history().from(w.nextRevision)) {
        const matched = w.matches(record);
        // Whole revisions only; a batch may exceed the bound only by a single large revision.
        if (events.length > 0 && events.length + matched.length > this.limits.watchBatchEventsMax) break;
        for (const e of matched) events.push(e);
        next = record.revision + 1;
        if (events.length >= this.limits.watchBatchEventsMax) break;
      }
      assert(next > w.nextRevision, 'watch: cursor did not move');
      w.nextRevision = next;
      if (events.length === 0) break;
      w.backlogEvents = Math.max(0, w.backlogEvents - events.length);
      if (!w.deliver(events)) w.blocked = true;
    }
    if (!w.isClosed && w.nextRevision > current) {
      w.live = true;
      w.backlogEvents = 0;
    }
  }

  close(w: Watcher, error: ShoalError | undefined): void {
    if (w.isClosed) return;
    w.isClosed = true;
    this.watchers.delete(w.id);
    w.finish({ watchId: w.id, error, lastRevision: w.nextRevision - 1 });
  }
}

export function compactedError(revision: number, compactedRevision: number): ShoalError {
  return new ShoalError(
    ErrorCode.Compacted,
    `revision ${revision} is compacted: the oldest available revision is ${compactedRevision}`,
    { details: { revision, oldestRevision: compactedRevision } },
  );
}
