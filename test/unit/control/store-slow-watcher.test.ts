/**
 * Watches bounded in bytes: batches, fragments of large revisions,
 * backpressure from the first (replay) batch on, slow watchers cancelled
 * naming where to resume, and progress notifications.
 */
import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import { readLimits } from '../../../src/control/store/limits.js';
import { watchEventBytes } from '../../../src/control/store/space.js';
import type { WatchBatch, WatchClosed, WatchHandle, WatchSink } from '../../../src/control/store/watch.js';
import { Harness, RecordingSink } from './store-helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Heap and array buffers (values are Uint8Arrays) after a full collection. */
function memoryBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A consumer like an HTTP response: it buffers what it accepts and says
 * "full" past its high-water mark (Node's writable.write()); `reading`
 * decides whether it ever drains.
 */
class SocketSink implements WatchSink {
  bufferedBytes = 0;
  bufferedBytesMax = 0;
  deliveredBytes = 0;
  events = 0;
  closedWith: WatchClosed | undefined;
  lastRevision = 0;
  handle: WatchHandle | undefined;
  constructor(
    private readonly highWaterBytes: number,
    readonly reading: boolean,
  ) {}
  send(batch: WatchBatch): boolean {
    let bytes = 0;
    for (const e of batch.events) bytes += watchEventBytes(e);
    this.bufferedBytes += bytes;
    this.bufferedBytesMax = Math.max(this.bufferedBytesMax, this.bufferedBytes);
    this.events += batch.events.length;
    this.lastRevision = batch.revision;
    if (this.reading) {
      // A fast reader drains at once.
      this.deliveredBytes += this.bufferedBytes;
      this.bufferedBytes = 0;
      return true;
    }
    return this.bufferedBytes < this.highWaterBytes;
  }
  closed(reason: WatchClosed): void {
    this.closedWith = reason;
  }
}

test('Slow watcher: one that never reads holds at most one batch past its high-water mark, is cancelled naming where to resume; the others get everything', (t) => {
  const h = new Harness();
  const value = 'v'.repeat(32 * KiB);
  const stalled = new SocketSink(64 * KiB, false);
  const fast = new SocketSink(64 * KiB, true);
  const fastOther = new SocketSink(64 * KiB, true);
  const stalledHandle = h.store.watch('/app/', 1, stalled);
  h.store.watch('/app/', 1, fast);
  h.store.watch('/', 1, fastOther);
  const memoryBefore = memoryBytes();
  // 40 MiB of writes: five times the buffer bound of a held-back watcher.
  const writes = (40 * MiB) / (32 * KiB);
  let cancelledAt = 0;
  for (let i = 0; i < writes; i++) {
    h.put(`/app/k${i % 16}`, value);
    if (cancelledAt === 0 && stalled.closedWith !== undefined) cancelledAt = h.store.revision;
    // Keep the history short, to measure the watchers (once the stalled one is gone: compaction would close it first).
    if (cancelledAt > 0 && i % 64 === 63) h.apply({ type: 'compact', revision: h.store.revision });
  }
  // What the stalled consumer holds: what it accepted before it said "full", at most one batch past its mark.
  t.true(stalled.bufferedBytesMax <= 64 * KiB + readLimits.watchBatchBytesMax, `${stalled.bufferedBytesMax}`);
  t.is(stalled.closedWith?.error?.code, 'ERR_SLOW_WATCHER');
  t.regex(stalled.closedWith?.error?.message ?? '', /resume from revision \d+/);
  const resumeRevision = stalled.closedWith?.error?.details?.resumeRevision as number;
  t.is(resumeRevision, (stalled.closedWith?.lastRevision ?? 0) + 1);
  t.true(stalledHandle.isClosed);
  // It was cancelled once the writes since it stalled passed watchBufferBytesMax, not after all 40 MiB.
  const bytesPerWrite = 32 * KiB + 2 * 100;
  t.true(cancelledAt > 0 && cancelledAt * bytesPerWrite < 2 * readLimits.watchBufferBytesMax, `cancelled at revision ${cancelledAt}`);
  // The fast watchers got every change.
  t.is(fast.events, writes);
  t.is(fastOther.events, writes);
  t.is(fast.closedWith, undefined);
  t.is(h.store.watchCount, 2);
  t.is(h.store.stats().watchesCancelledSlow, 1);
  // The store holds no per-watcher buffer: memory grew by the live keys and the short history, not by the 40 MiB written.
  const grownBytes = memoryBytes() - memoryBefore;
  t.log(`stalled consumer held at most ${stalled.bufferedBytesMax} bytes; cancelled at revision ${cancelledAt}; memory grew ${(grownBytes / MiB).toFixed(1)} MiB`);
  // Heap figures move with GC timing when other test files share the cores (19.5 MiB seen once under load, 1 MiB alone);
  // a per-watcher buffer would add the whole 40 MiB written on top.
  t.true(grownBytes < 32 * MiB, `memory grew ${grownBytes} bytes`);
});

test('the first (replay) batch honours backpressure: nothing more is handed over until resume(), and batches are bounded in bytes', (t) => {
  const h = new Harness();
  for (let i = 0; i < 200; i++) h.put(`/k${i}`, 'x'.repeat(16 * KiB)); // 3.2 MiB of history
  const sink = new RecordingSink();
  sink.accept = () => false;
  const w = h.store.watch('/', 1, sink);
  t.is(sink.batches.length, 1, 'the replay stops at the first "full"');
  const bytes = (bt: WatchBatch): number => bt.events.reduce((n, e) => n + watchEventBytes(e), 0);
  t.true(bytes(sink.batches[0]) <= readLimits.watchBatchBytesMax);
  t.true(sink.batches[0].events.length < 200);
  h.put('/late', 'x'); // arrives while held back: not handed over
  t.is(sink.batches.length, 1);
  sink.accept = () => true;
  w.resume();
  t.deepEqual(sink.revisions(), Array.from({ length: 201 }, (_, i) => i + 1));
  for (const bt of sink.batches) t.true(bytes(bt) <= readLimits.watchBatchBytesMax);
});

test('a revision larger than a batch arrives in fragments; batch.revision says revision - 1 until its last fragment', (t) => {
  const h = new Harness(new ConfigStore({ watchLimits: { watchBatchBytesMax: 10 * KiB, watchBatchEventsMax: 1000 } }));
  for (let i = 0; i < 30; i++) h.put(`/big/k${String(i).padStart(2, '0')}`, 'x'.repeat(KiB)); // revisions 1..30
  h.ok({ type: 'deleteRange', prefix: '/big/' }); // revision 31: 30 deletes with their 1 KiB previous values
  const sink = new RecordingSink();
  let calls = 0;
  sink.accept = () => ++calls % 2 === 1; // full after every other batch
  const w = h.store.watch('/', 31, sink);
  while (!w.isClosed && sink.batches.reduce((n, bt) => n + bt.events.length, 0) < 30) w.resume();
  t.true(sink.batches.length >= 3, `${sink.batches.length} fragments`);
  t.deepEqual(
    sink.batches.map((bt) => bt.revision),
    [...sink.batches.slice(0, -1).map(() => 30), 31],
  );
  t.deepEqual(
    sink.batches.flatMap((bt) => bt.events.map((e) => e.kv.key)),
    Array.from({ length: 30 }, (_, i) => `/big/k${String(i).padStart(2, '0')}`),
  );
  // Live, the same: a deleteRange applied while caught up is fragmented too.
  const live = new RecordingSink();
  h.store.watch('/', 32, live);
  for (let i = 0; i < 30; i++) h.put(`/big/k${i}`, 'y'.repeat(KiB));
  h.ok({ type: 'deleteRange', prefix: '/big/' });
  const last = live.batches.filter((bt) => bt.events.some((e) => e.type === 'delete'));
  t.true(last.length >= 3);
  t.is(last[last.length - 1].revision, h.store.revision);
});

test('a slow watcher cancelled in the middle of a fragmented revision resumes from that revision: nothing is lost', (t) => {
  const h = new Harness(new ConfigStore({ watchLimits: { watchBatchBytesMax: 4 * KiB, watchBufferBytesMax: 8 * KiB } }));
  for (let i = 0; i < 10; i++) h.put(`/k${i}`, 'x'.repeat(KiB));
  const sink = new RecordingSink();
  let open = true;
  sink.accept = () => open;
  h.store.watch('/', 11, sink);
  open = false;
  h.ok({ type: 'deleteRange', prefix: '/k' }); // revision 11, fragmented; the sink stops after the first fragment
  t.is(sink.batches.length, 1);
  t.is(sink.batches[0].revision, 10);
  for (let i = 0; i < 10; i++) h.put('/m', 'y'.repeat(KiB)); // past 8 KiB behind
  t.is(sink.closedWith?.error?.code, 'ERR_SLOW_WATCHER');
  t.is(sink.closedWith?.lastRevision, 10);
  const again = new RecordingSink();
  h.store.watch('/', (sink.closedWith?.lastRevision ?? 0) + 1, again);
  t.deepEqual(again.revisions(), [...Array.from({ length: 10 }, () => 11), ...Array.from({ length: 10 }, (_, i) => 12 + i)]);
});

test('progress notifications carry the revision: after a quiet period and a compaction a watch resumes without ERR_COMPACTED', (t) => {
  const h = new Harness();
  const quiet = new RecordingSink();
  h.store.watch('/quiet/', 1, quiet);
  for (let i = 0; i < 50; i++) h.put('/busy', String(i));
  h.store.notifyWatchProgress();
  const progress = quiet.batches.filter((bt) => bt.events.length === 0);
  t.is(progress[progress.length - 1]?.revision, 50);
  for (let i = 0; i < 50; i++) h.put('/busy', String(i));
  h.ok({ type: 'compact', revision: 90 });
  // Compaction itself notified every caught-up watch of the current revision.
  const resumeFrom = quiet.batches[quiet.batches.length - 1].revision + 1;
  t.is(resumeFrom, 101);
  t.notThrows(() => h.store.watch('/quiet/', resumeFrom, new RecordingSink()));
  // Without a progress notification the last revision seen would be 0: compacted.
  t.throws(() => h.store.watch('/quiet/', 1, new RecordingSink()), { code: 'ERR_COMPACTED' });
  // A held-back watch gets no progress (it has not caught up), and nothing is lost for it.
  const held = new RecordingSink();
  held.accept = () => false;
  h.store.watch('/', 95, held);
  const before = held.batches.length;
  h.store.notifyWatchProgress();
  t.is(held.batches.length, before);
});
