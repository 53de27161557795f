import test from 'ava';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfState, Snapshot } from '../../../src/raft/types.js';
import { CrashFs } from '../../../src/sim/crash-fs.js';
import { RaftStorage, type SaveRequest } from '../../../src/storage/raft-storage.js';
import { SeededRng } from '../../../src/util/rng.js';
import { entries, hs, summary } from './helpers.js';
import { replayModel, recordsOf, type ModelRecord } from './model.js';

const DIR = '/node1';
const BOOT: ConfState = { voters: ['n1', 'n2', 'n3'], learners: [] };
const SMALL = { wal: { segmentSizeBytes: 256 } };

function snap(index: number, term: number, voters = ['n1', 'n2']): Snapshot {
  return { meta: { index, term, conf: { voters, learners: [] } }, data: new TextEncoder().encode(`sm@${index}`) };
}

test('an empty directory loads as a fresh node with the bootstrap conf', async (t) => {
  const s = await RaftStorage.open(DIR, new CrashFs());
  t.deepEqual(s.load(BOOT), { hardState: { term: 0, vote: '', commit: 0 }, snapshot: undefined, entries: [], conf: BOOT });
  await s.close();
});

test('save round-trips hard state and entries across a restart', async (t) => {
  const fs = new CrashFs();
  const s = await RaftStorage.open(DIR, fs);
  await s.save({ hardState: hs(1, 'n1', 0), entries: entries(1, 4, 1) });
  await s.save({ hardState: hs(2, 'n2', 2), entries: entries(3, 5, 2) });
  const m = s.metrics();
  t.is(m.fsyncs, 2 + 1); // one per save plus the first segment's creation
  t.is(m.records, 1 + 4 + 1 + 3);
  t.true(m.bytesWritten > 0);
  t.is(m.batchAppends, 2);
  await s.close();
  fs.crash(new SeededRng(1));
  const r = await RaftStorage.open(DIR, fs);
  const st = r.load(BOOT);
  t.deepEqual(st.hardState, hs(2, 'n2', 2));
  t.deepEqual(summary(st.entries), summary([...entries(1, 2, 1), ...entries(3, 5, 2)]));
  t.is(st.conf, BOOT);
});

test('local snapshot + compaction: segments removed, log after the snapshot kept, conf from the snapshot', async (t) => {
  const fs = new CrashFs();
  const s = await RaftStorage.open(DIR, fs, SMALL);
  await s.save({ hardState: hs(3, 'n1', 0), entries: [] });
  for (let i = 1; i <= 40; i++) await s.save({ entries: entries(i, i, 3) });
  await s.save({ hardState: hs(3, 'n1', 30), entries: [] });
  const before = s.walSegmentNames().length;
  t.true(before > 3);
  await s.saveSnapshot(snap(30, 3));
  const removed = await s.compact(30);
  t.true(removed > 0);
  t.is(s.walSegmentNames().length, before - removed);
  t.is(s.metrics().segmentsRemoved, removed);
  t.throws(() => s.compact(31), { message: /beyond the latest snapshot/ });
  await s.close();
  const r = await RaftStorage.open(DIR, fs, SMALL);
  const st = r.load(BOOT);
  t.is(st.snapshot?.meta.index, 30);
  t.deepEqual(st.conf, snap(30, 3).meta.conf);
  t.deepEqual(st.entries.map((e) => e.index), [31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
  t.deepEqual(st.hardState, hs(3, 'n1', 30));
  t.is(r.report.logVsSnapshot, 'contiguous'); // the WAL's own marker already dropped entries <= 30
});

test('an installed snapshot that does not match the log replaces it; later entries survive restart', async (t) => {
  const fs = new CrashFs();
  const s = await RaftStorage.open(DIR, fs);
  await s.save({ hardState: hs(2, 'n1', 5), entries: entries(1, 20, 2) });
  await s.save({ hardState: hs(5, '', 50), entries: [], snapshot: snap(50, 4) });
  await s.save({ entries: entries(51, 52, 5) });
  await s.close();
  const r = await RaftStorage.open(DIR, fs);
  const st = r.load(BOOT);
  t.is(st.snapshot?.meta.index, 50);
  t.deepEqual(summary(st.entries), summary(entries(51, 52, 5)));
  t.deepEqual(st.hardState, hs(5, '', 50));
});

/** RaftStorage-level model: replay records; the loaded snapshot acts as a marker; commit >= snapshot index. */
function expected(records: ModelRecord[], p: number, loaded: Snapshot | undefined): string {
  const recs = records.slice(0, p);
  if (loaded) recs.push({ kind: 'marker', index: loaded.meta.index, term: loaded.meta.term });
  const m = replayModel(recs);
  const h = m.hardState ?? { term: 0, vote: '', commit: 0 };
  return JSON.stringify([h.term, h.vote, Math.max(h.commit, loaded?.meta.index ?? 0), m.entries]);
}

test('crash at every cut point of saves with snapshots: acknowledged state survives and load is consistent', async (t) => {
  const workload: SaveRequest[] = [
    { hardState: hs(1, 'n1', 0), entries: entries(1, 6, 1) },
    { hardState: hs(1, 'n1', 4), entries: entries(7, 9, 1) },
    { entries: [], snapshot: snap(5, 1) }, // local snapshot: log kept after 5
    { hardState: hs(2, 'n2', 4), entries: entries(8, 10, 2) },
    { hardState: hs(4, '', 30), entries: [], snapshot: snap(30, 3) }, // installed: log replaced
    { entries: entries(31, 33, 4) },
  ];
  const run = async (fs: CrashFs): Promise<{ records: ModelRecord[]; acked: number; ackedSnap: number }> => {
    const records: ModelRecord[] = [];
    let acked = 0;
    let ackedSnap = 0;
    let s: RaftStorage;
    try {
      s = await RaftStorage.open(DIR, fs, SMALL);
    } catch {
      return { records, acked, ackedSnap };
    }
    for (const w of workload) {
      const recs = recordsOf({ snapshotMarker: w.snapshot && { index: w.snapshot.meta.index, term: w.snapshot.meta.term }, hardState: w.hardState, entries: w.entries });
      records.push(...recs);
      try {
        await s.save(w);
      } catch {
        break;
      }
      acked = records.length;
      if (w.snapshot) ackedSnap = w.snapshot.meta.index;
    }
    return { records, acked, ackedSnap };
  };
  const probe = new CrashFs();
  await run(probe);
  const ops = probe.stats.mutatingOps;
  let cases = 0;
  for (let cut = 0; cut <= ops; cut++) {
    for (let seed = 1; seed <= 5; seed++) {
      const label = `cut ${cut} seed ${seed}`;
      const fs = new CrashFs();
      fs.haltAfterOps = cut;
      const { records, acked, ackedSnap } = await run(fs);
      fs.crash(new SeededRng(seed * 31 + cut));
      const r = await RaftStorage.open(DIR, fs, SMALL);
      const st = r.load(BOOT);
      const loadedIndex = st.snapshot?.meta.index ?? 0;
      t.true(loadedIndex >= ackedSnap, label);
      const got = JSON.stringify([st.hardState.term, st.hardState.vote, st.hardState.commit, summary(st.entries)]);
      let ok = false;
      for (let p = records.length; p >= acked && !ok; p--) ok = expected(records, p, st.snapshot) === got;
      if (!ok) t.fail(`${label}: loaded ${got} (snapshot ${loadedIndex}) matches no acknowledged prefix`);
      // Contiguous from the snapshot.
      st.entries.forEach((e, i) => t.is(e.index, loadedIndex + 1 + i, label));
      const next = loadedIndex + st.entries.length + 1;
      await r.save({ hardState: hs(9, 'n3', 0), entries: entries(next, next, 9) });
      await r.close();
      const again = (await RaftStorage.open(DIR, fs, SMALL)).load(BOOT);
      t.is(again.entries.at(-1)?.index, next, label);
      cases++;
    }
  }
  t.log(`${cases} cases over ${ops} ops`);
});

test('real file system: round trip, snapshot, compaction and restart in a temp dir', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-storage-'));
  try {
    const s = await RaftStorage.open(dir, undefined, { wal: { segmentSizeBytes: 4096 } });
    await s.save({ hardState: hs(1, 'n1', 0), entries: entries(1, 100, 1) });
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.save({ entries: entries(101 + i, 101 + i, 1) })));
    await s.save({ hardState: hs(1, 'n1', 150), entries: [] });
    await s.saveSnapshot(snap(120, 1));
    await s.compact(120);
    const m = s.metrics();
    t.true(m.fsyncs < 50, `${m.fsyncs} fsyncs for 53 saves`);
    await s.close();
    t.true((await readdir(join(dir, 'wal'))).length >= 1);
    t.deepEqual(await readdir(join(dir, 'snap')), ['snap-0000000000000001-0000000000000120.snap']);
    const r = await RaftStorage.open(dir, undefined, { wal: { segmentSizeBytes: 4096 } });
    const st = r.load(BOOT);
    t.is(st.snapshot?.meta.index, 120);
    t.deepEqual(st.entries.map((e) => e.index), Array.from({ length: 30 }, (_, i) => 121 + i));
    t.deepEqual(st.hardState, hs(1, 'n1', 150));
    await r.save({ entries: entries(151, 151, 2) });
    await r.close();
    const r2 = await RaftStorage.open(dir);
    t.is(r2.load(BOOT).entries.at(-1)?.index, 151);
    await r2.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
