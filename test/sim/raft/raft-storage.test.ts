import test from 'ava';
import { SimRaftStorage } from '../../../src/sim/raft-storage.js';
import { EntryType, type Entry } from '../../../src/raft/types.js';
import { SeededRng } from '../../../src/util/rng.js';

const conf = { voters: ['a', 'b', 'c'], learners: [] };
const entry = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: Uint8Array.of(index) });
const entries = (from: number, to: number, term: number) => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
/** An Rng whose draws are all `x` (0 <= x < 1). */
const fixedRng = (x: number) => ({ next: () => x, int: (n: number) => Math.floor(x * n) });

test('only fsynced writes survive a crash', (t) => {
  const s = new SimRaftStorage(conf);
  s.write({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 3, 1) });
  s.fsync();
  s.write({ hardState: { term: 2, vote: 'b', commit: 3 }, entries: entries(4, 5, 2) });
  s.crash(new SeededRng(1), 0);
  const init = s.load();
  t.deepEqual(init.hardState, { term: 1, vote: 'a', commit: 0 });
  t.deepEqual(init.entries.map((e) => e.index), [1, 2, 3]);
  t.deepEqual(init.conf, conf);
  t.is(s.batchesLost, 1);
});

test('a torn write keeps a prefix of the entries and never the hard state', (t) => {
  const s = new SimRaftStorage(conf);
  s.write({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 2, 1) });
  s.fsync();
  s.write({ hardState: { term: 2, vote: 'b', commit: 2 }, entries: entries(3, 6, 2) });
  s.crash(fixedRng(0.6), 100); // keeps floor(0.6 * 5) = 3 of the 4 staged entries
  const init = s.load();
  t.deepEqual(init.entries.map((e) => e.index), [1, 2, 3, 4, 5]);
  t.deepEqual(init.hardState, { term: 1, vote: 'a', commit: 0 });
  t.is(s.tornWrites, 1);
});

test('appending at an existing index truncates the conflicting suffix', (t) => {
  const s = new SimRaftStorage(conf);
  s.write({ entries: entries(1, 5, 1) });
  s.fsync();
  s.write({ entries: entries(3, 4, 2) });
  s.fsync();
  t.deepEqual(s.load().entries.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 2], [4, 2]]);
  t.throws(() => {
    s.write({ entries: entries(9, 9, 2) });
    s.fsync();
  }, { message: /gap/ });
});

test('compaction keeps the snapshot and the log after it; an installed snapshot restarts the log', (t) => {
  const s = new SimRaftStorage(conf);
  s.write({ entries: entries(1, 10, 1) });
  s.fsync();
  s.compact({ meta: { index: 6, term: 1, conf }, data: Uint8Array.of(6) });
  let init = s.load();
  t.is(init.snapshot?.meta.index, 6);
  t.deepEqual(init.entries.map((e) => e.index), [7, 8, 9, 10]);
  s.write({ snapshot: { meta: { index: 20, term: 3, conf }, data: Uint8Array.of(20) }, entries: entries(21, 22, 3) });
  s.fsync();
  init = s.load();
  t.is(init.snapshot?.meta.index, 20);
  t.deepEqual(init.entries.map((e) => e.index), [21, 22]);
  t.is(s.lastIndex(), 22);
});

test('the lying disk forgets everything since the process started, fsync or not', (t) => {
  const s = new SimRaftStorage(conf, true);
  s.write({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 2, 1) });
  s.fsync();
  s.load(); // a restart: this is what survives from now on
  s.write({ hardState: { term: 5, vote: 'c', commit: 2 }, entries: entries(3, 4, 5) });
  s.fsync();
  s.crash(new SeededRng(1), 0);
  const init = s.load();
  t.deepEqual(init.hardState, { term: 1, vote: 'a', commit: 0 });
  t.is(init.entries.length, 2);
});

test('load returns copies: a node cannot mutate the disk', (t) => {
  const s = new SimRaftStorage(conf);
  s.write({ entries: entries(1, 1, 1) });
  s.fsync();
  s.load().entries[0].data[0] = 99;
  t.is(s.load().entries[0].data[0], 1);
});
