import test from 'ava';
import type { Snapshot } from '../../../src/raft/types.js';
import { CrashFs } from '../../../src/sim/crash-fs.js';
import { SnapshotStore, decodeSnapshotFile, encodeSnapshotFile, snapshotFileName } from '../../../src/storage/snapshot-store.js';
import { isShoalError } from '../../../src/util/errors.js';
import { SeededRng } from '../../../src/util/rng.js';

const DIR = '/n1/snap';

function snap(index: number, term: number, text = `state@${index}`): Snapshot {
  return { meta: { index, term, conf: { voters: ['a', 'b', 'ç'], learners: ['d'] } }, data: new TextEncoder().encode(text) };
}

test('file format round-trips and detects any flipped byte', (t) => {
  const s = snap(42, 7);
  const buf = encodeSnapshotFile(s);
  t.deepEqual(decodeSnapshotFile('x', buf), s);
  for (let i = 0; i < buf.length; i++) {
    const c = buf.slice();
    c[i] ^= 0x20;
    const err = t.throws(() => decodeSnapshotFile('x', c), undefined, `byte ${i}`);
    t.true(isShoalError(err, 'ERR_CORRUPT_SNAPSHOT'));
  }
});

test('save then load the newest; only the newest two are kept', async (t) => {
  const fs = new CrashFs();
  const store = await SnapshotStore.open(fs, DIR);
  t.is(await store.loadNewest(), undefined);
  for (const [i, term] of [[10, 1], [20, 2], [30, 2]] as const) await store.save(snap(i, term));
  t.deepEqual(store.list(), [snapshotFileName(2, 20), snapshotFileName(2, 30)]);
  t.deepEqual(await fs.readdir(DIR), [snapshotFileName(2, 20), snapshotFileName(2, 30)]);
  fs.crash(new SeededRng(1));
  const again = await SnapshotStore.open(fs, DIR);
  t.deepEqual((await again.loadNewest())?.meta.index, 30);
  t.deepEqual(again.list().length, 2);
});

test('a crash between the tmp write and the rename leaves the old snapshot; the tmp file is removed at open', async (t) => {
  // Enumerate every cut point of the second save.
  const probe = new CrashFs();
  const s0 = await SnapshotStore.open(probe, DIR);
  await s0.save(snap(10, 1));
  const start = probe.stats.mutatingOps;
  await s0.save(snap(20, 2));
  const ops = probe.stats.mutatingOps - start;
  t.true(ops >= 5); // create, write, fsync, rename, fsyncDir
  const outcomes = new Set<number>();
  for (let cut = 0; cut <= ops; cut++) {
    for (let seed = 1; seed <= 4; seed++) {
      const fs = new CrashFs();
      const store = await SnapshotStore.open(fs, DIR);
      await store.save(snap(10, 1));
      fs.haltAfterOps = fs.stats.mutatingOps + cut;
      let acked = false;
      await store.save(snap(20, 2)).then(() => (acked = true), () => undefined);
      fs.crash(new SeededRng(seed));
      const reopened = await SnapshotStore.open(fs, DIR);
      const names = await fs.readdir(DIR);
      t.false(names.some((n) => n.endsWith('.tmp')), `cut ${cut}: ${names.join(',')}`);
      const got = await reopened.loadNewest();
      t.truthy(got, `cut ${cut}`);
      if (acked) t.is(got?.meta.index, 20, `cut ${cut}`);
      t.deepEqual(got, got?.meta.index === 20 ? snap(20, 2) : snap(10, 1));
      outcomes.add(got?.meta.index ?? 0);
    }
  }
  t.deepEqual([...outcomes].sort(), [10, 20]);
});

test('a corrupt newest snapshot is a clear error naming the file', async (t) => {
  const fs = new CrashFs();
  const store = await SnapshotStore.open(fs, DIR);
  await store.save(snap(10, 1));
  await store.save(snap(20, 2));
  fs.corruptByte(`${DIR}/${snapshotFileName(2, 20)}`, 30);
  const again = await SnapshotStore.open(fs, DIR);
  const err = await t.throwsAsync(again.loadNewest());
  t.true(isShoalError(err, 'ERR_CORRUPT_SNAPSHOT'));
  if (isShoalError(err)) t.is(err.details?.file, snapshotFileName(2, 20));
});

test('a snapshot file above maxSnapshotBytes is refused before it is read', async (t) => {
  const fs = new CrashFs();
  const store = await SnapshotStore.open(fs, DIR);
  await store.save(snap(10, 1, 'x'.repeat(500)));
  const small = await SnapshotStore.open(fs, DIR, { maxSnapshotBytes: 100 });
  const err = await t.throwsAsync(small.loadNewest());
  t.true(isShoalError(err, 'ERR_CORRUPT_SNAPSHOT'));
  t.regex(String(err), /above 100/);
});
