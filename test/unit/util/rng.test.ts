import test from 'ava';
import { SeededRng, shuffle } from '../../../src/util/rng.js';

test('same seed gives the same stream', (t) => {
  const a = new SeededRng(42);
  const b = new SeededRng(42);
  const xs = Array.from({ length: 100 }, () => a.next());
  const ys = Array.from({ length: 100 }, () => b.next());
  t.deepEqual(xs, ys);
  t.true(xs.every((x) => x >= 0 && x < 1));
});

test('different seeds give different streams', (t) => {
  const a = new SeededRng(1);
  const b = new SeededRng(2);
  t.notDeepEqual(
    Array.from({ length: 10 }, () => a.int(1000)),
    Array.from({ length: 10 }, () => b.int(1000)),
  );
});

test('int is roughly uniform', (t) => {
  const r = new SeededRng(7);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[r.int(10)]++;
  for (const c of counts) t.true(c > 9_000 && c < 11_000, `bucket count ${c}`);
});

test('shuffle is a permutation', (t) => {
  const xs = shuffle([...Array(50).keys()], new SeededRng(3));
  t.deepEqual([...xs].sort((a, b) => a - b), [...Array(50).keys()]);
  t.notDeepEqual(xs, [...Array(50).keys()]);
});
