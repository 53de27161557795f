/**
 * config-changed events: a watch of the whole store that turns every applied
 * revision into one event, in revision order.
 *
 * Bounded without dropping: past maxPendingEvents events (or
 * maxPendingBytes) not yet taken by the shell, the feed holds its watch back
 * (a cursor on the store's history: it costs nothing) and the core resumes
 * it once ready() has handed the events out (taken()). Only if compaction
 * overtakes the held-back cursor are changes lost: the feed then emits one
 * config-changed with no changes at the current revision (as after a
 * snapshot install: "re-read"), counts it in eventsDropped, and follows on
 * from there. A revision larger than a watch batch arrives in fragments:
 * they are merged into one event while the shell has not taken it.
 */
import { ErrorCode } from '../util/errors.js';
import type { ControlCounters, ControlEvent } from './control-types.js';
import type { ConfigStore } from './store/config-store.js';
import { watchEventBytes } from './store/space.js';
import type { WatchHandle } from './store/watch.js';

/** config-changed events held until the next ready(); past it the feed holds back. */
export const maxPendingEvents = 10_000;
/** Their accounted bytes (space.ts: watchEventBytes); past it the feed holds back. */
export const maxPendingBytes = 16 * 1024 * 1024;

export class ChangeFeed {
  private handle: WatchHandle | undefined;
  private store: ConfigStore | undefined;
  private pendingEvents = 0;
  private pendingBytes = 0;

  constructor(
    /** Where events go (the core's event queue). */
    private readonly events: ControlEvent[],
    private readonly counters: ControlCounters,
  ) {}

  /** Follow `store` from its next revision on (a new store after a snapshot install). */
  attach(store: ConfigStore): void {
    this.handle?.cancel();
    this.store = store;
    this.handle = store.watch(
      '',
      store.revision + 1,
      {
        send: (batch) => {
          for (const ev of batch.events) {
            const last = this.events[this.events.length - 1];
            const revision = ev.kv.modRevision;
            this.pendingBytes += watchEventBytes(ev);
            if (last?.type === 'config-changed' && last.revision === revision && last.changes.length > 0) {
              last.changes.push(ev);
              continue;
            }
            this.pendingEvents++;
            this.events.push({ type: 'config-changed', revision, changes: [ev] });
          }
          return this.pendingEvents < maxPendingEvents && this.pendingBytes < maxPendingBytes;
        },
        closed: (reason) => {
          if (this.store !== store) return;
          this.handle = undefined;
          const code = reason.error?.code;
          if (code === ErrorCode.Compacted || code === ErrorCode.SlowWatcher) {
            this.counters.eventsDropped++;
            this.events.push({ type: 'config-changed', revision: store.revision, changes: [] });
            this.attach(store);
          }
        },
      },
      { cancelWhenSlow: false },
    );
  }

  /** The shell took the events (ready()): deliver what was held back. */
  taken(): void {
    this.pendingEvents = 0;
    this.pendingBytes = 0;
    this.handle?.resume();
  }
}
