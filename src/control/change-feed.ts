/**
 * config-changed events: a watch of the whole store that turns every applied
 * revision into one event, in revision order. Bounded: past maxPendingEvents
 * undrained events, further ones are dropped and counted.
 */
import type { ControlCounters, ControlEvent } from './control-types.js';
import type { ConfigStore } from './store/config-store.js';
import type { WatchHandle } from './store/watch.js';

/** config-changed events held until the next ready(). */
export const maxPendingEvents = 10_000;

export class ChangeFeed {
  private handle: WatchHandle | undefined;
  private store: ConfigStore | undefined;

  constructor(
    /** Where events go (the core's event queue). */
    private readonly events: ControlEvent[],
    private readonly counters: ControlCounters,
  ) {}

  /** Follow `store` from its next revision on (a new store after a snapshot install). */
  attach(store: ConfigStore): void {
    this.handle?.cancel();
    this.store = store;
    this.handle = store.watch('', store.revision + 1, {
      send: (batch) => {
        let revision = -1;
        for (const ev of batch.events) {
          const last = this.events[this.events.length - 1];
          if (ev.kv.modRevision === revision && last?.type === 'config-changed' && last.revision === revision) {
            last.changes.push(ev);
            continue;
          }
          revision = ev.kv.modRevision;
          if (this.events.length >= maxPendingEvents) {
            this.counters.eventsDropped++;
            continue;
          }
          this.events.push({ type: 'config-changed', revision, changes: [ev] });
        }
        return true;
      },
      closed: () => {
        if (this.store === store) this.handle = undefined;
      },
    });
  }
}
