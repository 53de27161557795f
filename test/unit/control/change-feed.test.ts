/**
 * config-changed events (change-feed.ts): bounded without dropping. Past
 * 10,000 events not yet taken the feed holds its watch back, and it goes on
 * once the core's ready() hands them out.
 */
import test from 'ava';
import { ChangeFeed, maxPendingEvents } from '../../../src/control/change-feed.js';
import { newControlCounters, type ControlEvent } from '../../../src/control/control-types.js';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import { Harness } from './store-helpers.js';

type Changed = Extract<ControlEvent, { type: 'config-changed' }>;

function feedOn(store: ConfigStore) {
  const events: ControlEvent[] = [];
  const counters = newControlCounters();
  const feed = new ChangeFeed(events, counters);
  feed.attach(store);
  /** What the core's ready() does: take the events, then let the feed go on. */
  const take = (): Changed[] => {
    const taken = events.splice(0) as Changed[];
    feed.taken();
    return taken;
  };
  return { events, counters, take };
}

test('more than 10,000 revisions between two readies: every config-changed arrives, in order, none dropped', (t) => {
  const h = new Harness();
  const { events, counters, take } = feedOn(h.store);
  const revisions = 25_000;
  for (let i = 0; i < revisions; i++) h.put(`/k${i % 10}`, String(i));
  t.true(events.length <= maxPendingEvents + 1000, `${events.length} events held`);
  const seen: number[] = [];
  for (let readies = 0; readies < 10 && seen.length < revisions; readies++) seen.push(...take().map((e) => e.revision));
  t.deepEqual(
    seen,
    Array.from({ length: revisions }, (_, i) => i + 1),
  );
  t.is(counters.eventsDropped, 0);
  h.put('/after', 'x');
  t.deepEqual(
    take().map((e) => e.revision),
    [revisions + 1],
  );
});

test('a revision larger than a watch batch is one config-changed while it is not taken', (t) => {
  const h = new Harness();
  for (let i = 0; i < 3000; i++) h.put(`/big/${String(i).padStart(4, '0')}`, 'x');
  const { take } = feedOn(h.store);
  h.ok({ type: 'deleteRange', prefix: '/big/' });
  const taken = take();
  t.is(taken.length, 1);
  t.is(taken[0].revision, 3001);
  t.is(taken[0].changes.length, 3000);
});

test('held back past a compaction, the feed says "re-read" once (changes: []) and follows on', (t) => {
  const h = new Harness(new ConfigStore({ capacity: { historyRevisionsMax: 4_000 } }));
  const { counters, take } = feedOn(h.store);
  for (let i = 0; i < 15_000; i++) h.put('/k', String(i)); // the history cap compacts past the held-back cursor
  const taken = [...take(), ...take(), ...take()];
  const jumps = taken.filter((e) => e.changes.length === 0);
  t.is(jumps.length, 1);
  t.is(counters.eventsDropped, 1);
  const at = taken.indexOf(jumps[0]);
  const before = taken.slice(0, at).map((e) => e.revision);
  const after = taken.slice(at + 1).map((e) => e.revision);
  t.deepEqual(before, Array.from({ length: before.length }, (_, i) => i + 1), 'in order up to where the feed held back');
  t.deepEqual(after, Array.from({ length: 15_000 - jumps[0].revision }, (_, i) => jumps[0].revision + 1 + i), 'then every revision after the jump');
  h.put('/k', 'after');
  t.deepEqual(
    take().map((e) => e.revision),
    [15_001],
  );
});
