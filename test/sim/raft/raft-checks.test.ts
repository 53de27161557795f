import test from 'ava';
import { History, type Operation } from '../../../src/sim/history.js';
import type { KvInput, KvOutput } from '../../../src/sim/linearizability-kv.js';
import { checkLogMatching, checkNoLostWrites } from '../../../src/sim/raft-checks.js';
import { RaftCluster } from '../../../src/sim/raft-cluster.js';
import { EntryType, type Entry } from '../../../src/raft/types.js';
import { generateFaultSchedule, RaftFaultKind } from '../../../src/sim/raft-faults.js';
import { SeededRng } from '../../../src/util/rng.js';

type Row = [KvInput, KvOutput | 'info', number, number];

function ops(rows: Row[]): Operation<KvInput, KvOutput>[] {
  const h = new History<KvInput, KvOutput>();
  rows.forEach(([input, out, call, ret], i) => {
    const id = h.invoke(`c${i}`, input, call);
    if (out === 'info') h.info(id, ret);
    else h.ok(id, out, ret);
  });
  return h.forChecking();
}

const put = (value: string): KvInput => ({ op: 'put', key: 'k', value });

test('the last acknowledged write must be the final value', (t) => {
  const history = ops([
    [put('a'), { op: 'put' }, 0, 1],
    [put('b'), { op: 'put' }, 2, 3],
  ]);
  t.deepEqual(checkNoLostWrites(history, new Map([['k', 'b']])), []);
  t.is(checkNoLostWrites(history, new Map([['k', 'a']])).length, 1, 'a was superseded by b');
  t.is(checkNoLostWrites(history, new Map()).length, 1, 'b was lost');
});

test('concurrent and unknown-outcome writes may each be the final value', (t) => {
  const history = ops([
    [put('a'), { op: 'put' }, 0, 10],
    [put('b'), { op: 'put' }, 5, 6],
    [put('c'), 'info', 7, 8],
  ]);
  for (const v of ['a', 'b', 'c']) t.deepEqual(checkNoLostWrites(history, new Map([['k', v]])), [], v);
  t.is(checkNoLostWrites(history, new Map([['k', 'z']])).length, 1);
});

test('a failed compare-and-swap writes nothing; a delete writes absence', (t) => {
  const history = ops([
    [put('a'), { op: 'put' }, 0, 1],
    [{ op: 'cas', key: 'k', expected: 'x', value: 'b' }, { op: 'cas', ok: false }, 2, 3],
  ]);
  t.is(checkNoLostWrites(history, new Map([['k', 'b']])).length, 1);
  const deleted = ops([
    [put('a'), { op: 'put' }, 0, 1],
    [{ op: 'delete', key: 'k' }, { op: 'delete' }, 2, 3],
  ]);
  t.deepEqual(checkNoLostWrites(deleted, new Map()), []);
  t.is(checkNoLostWrites(deleted, new Map([['k', 'a']])).length, 1);
});

test('fault schedules are a pure function of the seed, in order and in range', (t) => {
  const opts = { startMs: 500, endMs: 10_000, meanGapMs: 300 };
  const a = generateFaultSchedule(new SeededRng(9), opts);
  t.deepEqual(generateFaultSchedule(new SeededRng(9), opts), a);
  t.notDeepEqual(generateFaultSchedule(new SeededRng(10), opts), a);
  t.true(a.length > 15 && a.length < 60, `${a.length} faults`);
  t.true(a.every((f, i) => f.atMs >= 500 && f.atMs < 10_000 && (i === 0 || f.atMs >= a[i - 1].atMs)));
  const only = generateFaultSchedule(new SeededRng(9), { ...opts, kinds: [RaftFaultKind.Loss] });
  t.true(only.every((f) => f.kind === RaftFaultKind.Loss));
  t.true(new Set(a.map((f) => f.kind)).size >= 8, 'a long schedule draws many kinds');
});

test('log matching: logs that agree at an index and term must agree before it', (t) => {
  const e = (index: number, term: number, byte = index): Entry => ({ index, term, type: EntryType.Normal, data: Uint8Array.of(byte) });
  const cluster = new RaftCluster({ seed: 1, nodeIds: ['a', 'b', 'c'], conf: { voters: ['a', 'b', 'c'], learners: [] } });
  const write = (id: string, entries: Entry[]) => {
    const s = cluster.storages.get(id)!;
    s.write({ entries });
    s.fsync();
  };
  write('a', [e(1, 1), e(2, 1), e(3, 2)]);
  write('b', [e(1, 1), e(2, 1), e(3, 3)]); // diverges after 2: fine, uncommitted
  write('c', [e(1, 1), e(2, 1)]);
  t.deepEqual(checkLogMatching(cluster), []);
  const broken = new RaftCluster({ seed: 1, nodeIds: ['a', 'b'], conf: { voters: ['a', 'b'], learners: [] } });
  for (const [id, entries] of [['a', [e(1, 1), e(2, 1), e(3, 2)]], ['b', [e(1, 1), e(2, 1, 99), e(3, 2)]]] as const) {
    const s = broken.storages.get(id)!;
    s.write({ entries: [...entries] });
    s.fsync();
  }
  const problems = checkLogMatching(broken);
  t.is(problems.length, 1);
  t.regex(problems[0], /agree at index 3 term 2 but differ at 2/);
});
