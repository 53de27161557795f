import test from 'ava';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import { isShoalError } from '../../../src/util/errors.js';
import { b, Harness, RecordingSink } from './store-helpers.js';

test('a watch replays history from its revision, then streams live changes, in order', (t) => {
  const h = new Harness();
  h.put('/a/1', 'x'); // 1
  h.put('/b/1', 'x'); // 2 (other prefix)
  h.put('/a/2', 'y'); // 3
  h.apply({ type: 'delete', key: '/a/1' }); // 4
  const sink = new RecordingSink();
  h.store.watch('/a/', 2, sink);
  t.deepEqual(sink.events(), ['put /a/2=y@3', 'delete /a/1=@4']);
  t.is(sink.batches[0].events[1].prevKv?.modRevision, 1);
  h.put('/a/3', 'z'); // 5
  h.put('/b/2', 'z'); // 6
  h.ok({
    type: 'txn',
    compare: [],
    success: [
      { type: 'put', key: '/a/4', value: b('t') },
      { type: 'put', key: '/a/5', value: b('t') },
    ],
    failure: [],
  }); // 7
  t.deepEqual(sink.events(), ['put /a/2=y@3', 'delete /a/1=@4', 'put /a/3=z@5', 'put /a/4=t@7', 'put /a/5=t@7']);
  // A txn's events arrive together, in one batch.
  t.is(sink.batches[sink.batches.length - 1].events.length, 2);
});

test('resume after a disconnect from lastSeen + 1: no gap, no duplicate', (t) => {
  const h = new Harness();
  const all = new RecordingSink();
  h.store.watch('/', 1, all);
  const first = new RecordingSink();
  const w = h.store.watch('/', 1, first);
  for (let i = 0; i < 5; i++) h.put(`/k${i % 2}`, String(i));
  w.cancel();
  t.is(first.closedWith?.error, undefined);
  const lastSeen = Math.max(...first.revisions());
  for (let i = 5; i < 9; i++) h.put(`/k${i % 2}`, String(i)); // written while disconnected
  const second = new RecordingSink();
  h.store.watch('/', lastSeen + 1, second);
  for (let i = 9; i < 12; i++) h.put(`/k${i % 2}`, String(i));
  t.deepEqual([...first.events(), ...second.events()], all.events());
  t.deepEqual(
    all.revisions(),
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
});

test('a watch from a compacted revision fails naming the oldest revision; at it, it works', (t) => {
  const h = new Harness();
  for (let i = 0; i < 6; i++) h.put('/k', String(i));
  h.apply({ type: 'compact', revision: 4 });
  const e = t.throws(() => h.store.watch('/', 3, new RecordingSink()));
  t.true(isShoalError(e, 'ERR_COMPACTED'));
  t.regex(e.message, /oldest available revision is 4/);
  const sink = new RecordingSink();
  h.store.watch('/', 4, sink);
  t.deepEqual(sink.revisions(), [4, 5, 6]);
});

test('backpressure: a held-back watch resumes where it stopped', (t) => {
  const h = new Harness();
  const sink = new RecordingSink();
  let open = false;
  sink.accept = () => open;
  const w = h.store.watch('/', 1, sink);
  h.put('/a', '1'); // delivered, then the sink says "full"
  h.put('/a', '2');
  h.put('/a', '3');
  t.deepEqual(sink.revisions(), [1]);
  t.is(w.backlogEvents, 2);
  open = true;
  w.resume();
  t.deepEqual(sink.revisions(), [1, 2, 3]);
  h.put('/a', '4');
  t.deepEqual(sink.revisions(), [1, 2, 3, 4]);
});

test('replay is delivered in bounded batches of whole revisions', (t) => {
  const h = new Harness(new ConfigStore({ watchLimits: { watchBatchEventsMax: 3 } }));
  for (let i = 0; i < 7; i++) h.put('/k', String(i));
  const sink = new RecordingSink();
  h.store.watch('/', 1, sink);
  t.deepEqual(
    sink.batches.map((bt) => bt.events.length),
    [3, 3, 1],
  );
});

test('a slow live watcher is cancelled at the buffer bound, naming where to resume', (t) => {
  const h = new Harness(new ConfigStore({ watchLimits: { watchBufferEventsMax: 5 } }));
  const slow = new RecordingSink();
  slow.accept = () => false;
  const w = h.store.watch('/', 1, slow);
  const other = new RecordingSink();
  h.store.watch('/other/', 1, other);
  h.put('/k', '0'); // delivered; the sink is full from now on
  for (let i = 1; i <= 5; i++) h.put('/k', String(i));
  t.is(slow.closedWith, undefined);
  t.is(w.backlogEvents, 5);
  h.put('/other/x', 'y'); // the 6th event behind: past the bound of 5
  t.is(slow.closedWith?.error?.code, 'ERR_SLOW_WATCHER');
  t.is(slow.closedWith?.lastRevision, 1);
  t.true(w.isClosed);
  t.is(h.store.stats().watchesCancelledSlow, 1);
  t.is(h.store.watchCount, 1); // the other watch lives on
  // Resuming from lastRevision + 1 replays what it missed.
  const again = new RecordingSink();
  h.store.watch('/', (slow.closedWith?.lastRevision ?? 0) + 1, again);
  t.deepEqual(again.revisions(), [2, 3, 4, 5, 6, 7]);
});

test('a replaying watcher overtaken by compaction is closed with ERR_COMPACTED', (t) => {
  const h = new Harness(new ConfigStore({ watchLimits: { watchBatchEventsMax: 1 } }));
  for (let i = 0; i < 4; i++) h.put('/k', String(i));
  const sink = new RecordingSink();
  sink.accept = () => false;
  h.store.watch('/', 1, sink); // takes revision 1 and stops
  h.apply({ type: 'compact', revision: 3 });
  t.is(sink.closedWith?.error?.code, 'ERR_COMPACTED');
  t.is(sink.closedWith?.lastRevision, 1);
  t.regex(sink.closedWith?.error?.message ?? '', /oldest available revision is 3/);
});

test('a sink may cancel its watch from send()', (t) => {
  const h = new Harness();
  const sink = new RecordingSink();
  const handle = { cancel: (): void => undefined };
  sink.accept = () => {
    handle.cancel();
    return true;
  };
  const w = h.store.watch('/', 1, sink);
  handle.cancel = () => w.cancel();
  h.put('/a', '1');
  h.put('/a', '2');
  t.deepEqual(sink.revisions(), [1]);
  t.is(sink.closedWith?.lastRevision, 1);
});

test('watch arguments are checked: bad prefix or start revision is ERR_INVALID_ARGUMENT', (t) => {
  const store = new ConfigStore();
  t.throws(() => store.watch('/a\u0000', 1, new RecordingSink()), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => store.watch('/', 0, new RecordingSink()), { code: 'ERR_INVALID_ARGUMENT' });
});

test('a watch from a future revision starts delivering when the store gets there', (t) => {
  const h = new Harness();
  const sink = new RecordingSink();
  h.store.watch('/', 3, sink);
  h.put('/a', '1');
  h.put('/a', '2');
  t.deepEqual(sink.revisions(), []);
  h.put('/a', '3');
  t.deepEqual(sink.revisions(), [3]);
});

test('watches are bounded by watchesMax, and closeWatches closes them all', (t) => {
  const store = new ConfigStore({ watchLimits: { watchesMax: 2 } });
  const a = new RecordingSink();
  store.watch('/', 1, a);
  store.watch('/', 1, new RecordingSink());
  t.throws(() => store.watch('/', 1, new RecordingSink()), { code: 'ERR_RESOURCE_EXHAUSTED' });
  store.closeWatches('restored from a snapshot');
  t.is(a.closedWith?.error?.code, 'ERR_UNAVAILABLE');
  t.is(store.watchCount, 0);
});

test('batches carry the revision delivered up to; progress notifications let a quiet watch resume past compaction', (t) => {
  const h = new Harness();
  const quiet = new RecordingSink();
  h.store.watch('/quiet/', 1, quiet);
  h.put('/quiet/a', '1'); // 1
  t.is(quiet.batches[0].revision, 1);
  for (let i = 0; i < 10; i++) h.put('/busy', String(i)); // 2..11
  h.store.notifyWatchProgress();
  const progress = quiet.batches[quiet.batches.length - 1];
  t.deepEqual(progress.events, []);
  t.is(progress.revision, 11);
  h.apply({ type: 'compact', revision: 8 });
  // Resuming from the last event (revision 1) would fail; from the progress revision it works.
  t.throws(() => h.store.watch('/quiet/', 2, new RecordingSink()), { code: 'ERR_COMPACTED' });
  const resumed = new RecordingSink();
  h.store.watch('/quiet/', progress.revision + 1, resumed);
  h.put('/quiet/b', '2'); // 12
  t.deepEqual(resumed.events(), ['put /quiet/b=2@12']);
});
