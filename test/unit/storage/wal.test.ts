import test from 'ava';
import { CrashFs } from '../../../src/sim/crash-fs.js';
import { Wal } from '../../../src/storage/wal.js';
import { segmentName } from '../../../src/storage/wal-segment.js';
import { isShoalError } from '../../../src/util/errors.js';
import { SeededRng } from '../../../src/util/rng.js';
import { entries, entry, hs, summary } from './helpers.js';

const DIR = '/data/wal';

async function fresh(options = {}): Promise<{ fs: CrashFs; wal: Wal }> {
  const fs = new CrashFs();
  return { fs, wal: await Wal.open(fs, DIR, options) };
}

test('appends survive close and reopen, hard state last-wins', async (t) => {
  const { fs, wal } = await fresh();
  await wal.append(hs(1, 'a', 0), entries(1, 3, 1));
  await wal.append(hs(2, 'b', 3), entries(4, 5, 2));
  await wal.close();
  const again = await Wal.open(fs, DIR);
  t.deepEqual(again.recovered.hardState, hs(2, 'b', 3));
  t.deepEqual(summary(again.recovered.entries), summary([...entries(1, 3, 1), ...entries(4, 5, 2)]));
  t.is(again.recovered.report.tornTail, undefined);
});

test('an entry overwriting index i discards everything >= i on replay', async (t) => {
  const { fs, wal } = await fresh();
  await wal.append(undefined, entries(1, 10, 1));
  await wal.append(undefined, entries(6, 7, 2));
  await wal.append(undefined, [entry(8, 3)]);
  await wal.append(undefined, entries(3, 4, 4));
  await wal.close();
  const again = await Wal.open(fs, DIR);
  t.deepEqual(summary(again.recovered.entries), summary([...entries(1, 2, 1), ...entries(3, 4, 4)]));
});

test('group commit: 100 concurrent appends share far fewer than 100 fsyncs', async (t) => {
  const { fs, wal } = await fresh();
  const before = fs.stats.fsyncs;
  const metricBefore = wal.metrics.fsyncs;
  await Promise.all(Array.from({ length: 100 }, (_, i) => wal.append(hs(1, 'a', i), [entry(i + 1, 1)])));
  const fsyncs = fs.stats.fsyncs - before;
  t.true(fsyncs <= 2, `${fsyncs} fsyncs`);
  t.is(wal.metrics.batchAppends, 100);
  t.true(wal.metrics.batchAppendsMax >= 50);
  t.is(wal.metrics.fsyncs - metricBefore, fsyncs);
  await wal.close();
  const again = await Wal.open(fs, DIR);
  t.is(again.recovered.entries.length, 100);
  t.deepEqual(again.recovered.hardState, hs(1, 'a', 99));
});

test('appends arriving during an in-flight fsync are batched into the next one', async (t) => {
  const { wal } = await fresh();
  const first = wal.append(undefined, [entry(1, 1)]);
  await Promise.resolve();
  await Promise.resolve();
  const rest = Array.from({ length: 20 }, (_, i) => wal.append(undefined, [entry(i + 2, 1)]));
  await Promise.all([first, ...rest]);
  t.true(wal.metrics.batches <= 3, `${wal.metrics.batches} batches`);
  t.is(wal.metrics.batchAppends, 21);
});

test('a torn tail record is truncated, reported, and appends continue', async (t) => {
  const { fs, wal } = await fresh();
  await wal.append(hs(1, 'a', 0), entries(1, 3, 1));
  await wal.close();
  const path = `${DIR}/${segmentName(1, 1)}`;
  const whole = fs.fileBytes(path);
  // Rebuild the file with the last record cut in half (a torn write).
  const h = await fs.open(path);
  await h.truncate(whole.length - 5);
  await h.sync();
  await h.close();
  const again = await Wal.open(fs, DIR);
  t.deepEqual(summary(again.recovered.entries), summary(entries(1, 2, 1)));
  const torn = again.recovered.report.tornTail;
  t.truthy(torn);
  t.is(torn?.file, segmentName(1, 1));
  t.true((torn?.droppedBytes ?? 0) > 0);
  t.is(fs.fileBytes(path).length, torn?.offset ?? -1);
  await again.append(undefined, entries(3, 4, 2));
  await again.close();
  const third = await Wal.open(fs, DIR);
  t.deepEqual(summary(third.recovered.entries), summary([...entries(1, 2, 1), ...entries(3, 4, 2)]));
  t.is(third.recovered.report.tornTail, undefined);
});

test('a bit flip in the tail record is treated as a torn tail', async (t) => {
  const { fs, wal } = await fresh();
  await wal.append(undefined, entries(1, 5, 1));
  await wal.close();
  const path = `${DIR}/${segmentName(1, 1)}`;
  fs.corruptByte(path, fs.fileBytes(path).length - 1, 0x40);
  const again = await Wal.open(fs, DIR);
  t.deepEqual(summary(again.recovered.entries), summary(entries(1, 4, 1)));
  t.truthy(again.recovered.report.tornTail);
});

test('a flipped bit in the middle of the log refuses to open, naming file and offset', async (t) => {
  const { fs, wal } = await fresh();
  await wal.append(undefined, entries(1, 5, 1));
  await wal.close();
  const path = `${DIR}/${segmentName(1, 1)}`;
  const size = fs.fileBytes(path).length;
  const recBytes = 9 + 17 + 'e3t1'.length;
  const third = size - 3 * recBytes; // the third of five entries
  fs.corruptByte(path, third + 12);
  const err = await t.throwsAsync(Wal.open(fs, DIR));
  t.true(isShoalError(err, 'ERR_CORRUPT_RECORD'), String(err));
  if (isShoalError(err)) {
    t.is(err.details?.file, segmentName(1, 1));
    t.is(err.details?.offset, third);
  }
});

test('a flipped length field in the middle is corruption, not a torn tail', async (t) => {
  const { fs, wal } = await fresh();
  await wal.append(undefined, entries(1, 5, 1));
  await wal.close();
  const path = `${DIR}/${segmentName(1, 1)}`;
  const recBytes = 9 + 17 + 4;
  const second = fs.fileBytes(path).length - 4 * recBytes;
  fs.corruptByte(path, second + 2, 0x10); // length becomes huge: looks like a short record
  const err = await t.throwsAsync(Wal.open(fs, DIR));
  t.true(isShoalError(err, 'ERR_CORRUPT_RECORD'), String(err));
});

test('segments roll at the size limit, start with the hard state, and corruption in a non-last one refuses to open', async (t) => {
  const { fs, wal } = await fresh({ segmentSizeBytes: 200 });
  await wal.append(hs(3, 'z', 0), []);
  for (let i = 1; i <= 30; i++) await wal.append(undefined, [entry(i, 3)]);
  t.true(wal.segmentCount >= 4, `${wal.segmentCount} segments`);
  const names = wal.segmentNames();
  await wal.close();
  const again = await Wal.open(fs, DIR, { segmentSizeBytes: 200 });
  t.is(again.recovered.entries.length, 30);
  await again.close();
  // Only the second segment left plus later ones: hard state still known.
  fs.corruptByte(`${DIR}/${names[1]}`, fs.fileBytes(`${DIR}/${names[1]}`).length - 1);
  const err = await t.throwsAsync(Wal.open(fs, DIR, { segmentSizeBytes: 200 }));
  t.true(isShoalError(err, 'ERR_CORRUPT_RECORD'));
  if (isShoalError(err)) t.is(err.details?.file, names[1]);
});

test('compact removes whole segments whose entries are all <= index, keeps the hard state', async (t) => {
  const { fs, wal } = await fresh({ segmentSizeBytes: 200 });
  await wal.append(hs(3, 'z', 0), []);
  for (let i = 1; i <= 30; i++) await wal.append(undefined, [entry(i, 3)]);
  const before = wal.segmentCount;
  const removed = await wal.compact(15);
  t.true(removed >= 1);
  t.is(wal.segmentCount, before - removed);
  t.is(wal.metrics.segmentsRemoved, removed);
  await wal.close();
  const again = await Wal.open(fs, DIR, { segmentSizeBytes: 200 });
  const got = again.recovered.entries;
  t.true(got[0].index <= 16, `first ${got[0].index}`);
  t.is(got.at(-1)?.index, 30);
  t.deepEqual(again.recovered.hardState, hs(3, 'z', 0));
  const count = again.segmentCount;
  t.is(await again.compact(100), count - 1);
  t.is(again.segmentCount, 1);
});

test('a segment created but not made durable vanishes in a crash without losing acknowledged data', async (t) => {
  // header (30 bytes) + one entry (30 bytes) fills a segment: every append rolls.
  const { fs, wal } = await fresh({ segmentSizeBytes: 60 });
  for (let i = 1; i <= 5; i++) await wal.append(undefined, [entry(i, 1)]);
  t.is(wal.segmentCount, 5);
  fs.haltAfterOps = fs.stats.mutatingOps + 2; // create + write of the next roll, then die before fdatasync
  const p = wal.append(undefined, [entry(6, 1)]);
  await t.throwsAsync(p);
  await t.throwsAsync(wal.append(undefined, [entry(7, 1)]));
  fs.crash(new SeededRng(5));
  const again = await Wal.open(fs, DIR, { segmentSizeBytes: 60 });
  const got = again.recovered.entries.map((e) => e.index);
  t.deepEqual(got.slice(0, 5), [1, 2, 3, 4, 5]);
  t.true(got.length <= 6);
});

test('a snapshot marker with a matching entry keeps the suffix; a mismatching one drops the log', async (t) => {
  const { fs, wal } = await fresh();
  await wal.append(undefined, entries(1, 10, 1));
  await wal.appendSnapshotMarker({ index: 5, term: 1 });
  await wal.close();
  const a = await Wal.open(fs, DIR);
  t.deepEqual(a.recovered.entries.map((e) => e.index), [6, 7, 8, 9, 10]);
  t.deepEqual(a.recovered.snapshotMarker, { index: 5, term: 1 });
  await a.appendSnapshotMarker({ index: 20, term: 4 });
  await a.append(undefined, entries(21, 22, 4));
  await a.close();
  const b = await Wal.open(fs, DIR);
  t.deepEqual(summary(b.recovered.entries), summary(entries(21, 22, 4)));
});

test('closed WAL rejects appends; bad options are refused', async (t) => {
  const { wal } = await fresh();
  await wal.close();
  const err = await t.throwsAsync(wal.append(undefined, [entry(1, 1)]));
  t.true(isShoalError(err, 'ERR_NOT_RUNNING'));
  const e2 = await t.throwsAsync(Wal.open(new CrashFs(), DIR, { segmentSizeBytes: 0 }));
  t.true(isShoalError(e2, 'ERR_INVALID_CONFIG'));
});

test('queue bound: appends past maxPendingAppends are refused and counted', async (t) => {
  const { wal } = await fresh({ maxPendingAppends: 10 });
  const ps = Array.from({ length: 15 }, (_, i) => wal.append(undefined, [entry(i + 1, 1)]).then(() => 'ok', (e) => (isShoalError(e, 'ERR_UNAVAILABLE') ? 'full' : 'other')));
  const results = await Promise.all(ps);
  t.is(results.filter((r) => r === 'full').length, 5);
  t.is(wal.metrics.rejectedQueueFull, 5);
});

test('a write with nothing new (repeated hard state) resolves only when the queued original is durable', async (t) => {
  const { fs, wal } = await fresh();
  fs.haltAfterOps = fs.stats.mutatingOps + 1; // the write happens, its fdatasync does not
  const first = wal.append(hs(4, 'a', 0), []);
  const repeat = wal.append(hs(4, 'a', 0), []);
  await t.throwsAsync(first);
  await t.throwsAsync(repeat);
  const { wal: ok } = await fresh();
  await ok.append(hs(4, 'a', 0), []);
  const before = ok.metrics.fsyncs;
  await ok.append(hs(4, 'a', 0), []);
  t.is(ok.metrics.fsyncs, before, 'no write for a repeat once the original is durable');
});

test('an entry above the record limit is refused without touching the log', async (t) => {
  const { fs, wal } = await fresh({ maxRecordPayloadBytes: 64 });
  const err = await t.throwsAsync(wal.append(undefined, [{ index: 1, term: 1, type: 0, data: new Uint8Array(100) }]));
  t.true(isShoalError(err, 'ERR_INVALID_ARGUMENT'));
  await wal.append(undefined, [entry(1, 1)]);
  await wal.close();
  t.deepEqual(summary((await Wal.open(fs, DIR, { maxRecordPayloadBytes: 64 })).recovered.entries), summary([entry(1, 1)]));
});
