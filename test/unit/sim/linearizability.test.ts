import test from 'ava';
import fc from 'fast-check';
import { History, type Operation } from '../../../src/sim/history.js';
import { checkLinearizable } from '../../../src/sim/linearizability.js';
import { kvModel, type KvInput, type KvOutput } from '../../../src/sim/linearizability-kv.js';
import { registerHistory } from '../../../src/sim/linearizability-register.js';
import { SeededRng } from '../../../src/util/rng.js';

type Op = Operation<KvInput, KvOutput>;
/** [client, input, output | 'info' | 'fail', callMs, returnMs] */
type Row = [string, KvInput, KvOutput | 'info' | 'fail', number, number];

const put = (key: string, value: string): KvInput => ({ op: 'put', key, value });
const get = (key: string): KvInput => ({ op: 'get', key });
const del = (key: string): KvInput => ({ op: 'delete', key });
const cas = (key: string, expected: string | null, value: string): KvInput => ({ op: 'cas', key, expected, value });
const got = (value: string | null): KvOutput => ({ op: 'get', value });
const done = (op: 'put' | 'delete'): KvOutput => ({ op });
const casOut = (ok: boolean): KvOutput => ({ op: 'cas', ok });

/** Builds a history through the recorder, events replayed in time order. */
function build(rows: Row[]): Op[] {
  const h = new History<KvInput, KvOutput>();
  const events = rows.flatMap((row, i) => [
    { t: row[3], call: true, i },
    { t: row[4], call: false, i },
  ]);
  events.sort((a, b) => a.t - b.t || Number(b.call) - Number(a.call));
  const ids: number[] = [];
  for (const e of events) {
    const [client, input, out] = rows[e.i];
    if (e.call) ids[e.i] = h.invoke(client, input, e.t);
    else if (out === 'info') h.info(ids[e.i], e.t);
    else if (out === 'fail') h.fail(ids[e.i], e.t);
    else h.ok(ids[e.i], out, e.t);
  }
  return h.forChecking();
}

const check = (rows: Row[]) => checkLinearizable(kvModel, build(rows), { timeoutMs: 5_000 });

test('accepts a sequential history', (t) => {
  const r = check([
    ['a', put('x', '1'), done('put'), 0, 1],
    ['a', get('x'), got('1'), 2, 3],
    ['b', cas('x', '1', '2'), casOut(true), 4, 5],
    ['b', cas('x', '1', '3'), casOut(false), 6, 7],
    ['a', del('x'), done('delete'), 8, 9],
    ['a', get('x'), got(null), 10, 11],
  ]);
  t.is(r.result, 'ok');
});

test('accepts reads of either value while a write overlaps them', (t) => {
  const r = check([
    ['a', put('x', '1'), done('put'), 0, 1],
    ['b', put('x', '2'), done('put'), 10, 30],
    ['c', get('x'), got('2'), 12, 14],
    ['d', get('x'), got('1'), 11, 20],
    ['c', get('x'), got('2'), 31, 32],
  ]);
  t.is(r.result, 'ok');
});

test('accepts a history that needs the later-invoked write ordered first', (t) => {
  // put(1) spans everything; put(2) finishes inside it; the read of 1 after put(2)
  // returned is only explained by put(2) then put(1).
  const r = check([
    ['a', put('x', '1'), done('put'), 0, 100],
    ['b', put('x', '2'), done('put'), 10, 20],
    ['c', get('x'), got('1'), 30, 40],
    ['c', get('x'), got('1'), 110, 120],
  ]);
  t.is(r.result, 'ok');
});

test('accepts a pending write that took effect', (t) => {
  const r = check([
    ['a', put('x', '1'), 'info', 0, 5],
    ['b', get('x'), got('1'), 50, 60],
    ['b', get('x'), got('1'), 70, 80],
  ]);
  t.is(r.result, 'ok');
});

test('accepts a pending write that never took effect', (t) => {
  const r = check([
    ['a', put('x', '1'), done('put'), 0, 5],
    ['a', put('x', '2'), 'info', 10, 15],
    ['b', get('x'), got('1'), 50, 60],
    ['b', cas('x', '1', '3'), casOut(true), 70, 80],
    ['b', get('x'), got('3'), 90, 100],
  ]);
  t.is(r.result, 'ok');
});

test('accepts a pending write that took effect late, between two reads', (t) => {
  const r = check([
    ['a', put('x', '1'), 'info', 0, 5],
    ['b', get('x'), got(null), 50, 60],
    ['b', get('x'), got('1'), 70, 80],
  ]);
  t.is(r.result, 'ok');
});

test('rejects a pending write observed before it was invoked', (t) => {
  const r = check([
    ['b', get('x'), got('1'), 0, 5],
    ['a', put('x', '1'), 'info', 10, 15],
  ]);
  t.is(r.result, 'illegal');
});

test('rejects a pending write that took effect and then vanished', (t) => {
  const r = check([
    ['a', put('x', '1'), 'info', 0, 5],
    ['b', get('x'), got('1'), 50, 60],
    ['b', get('x'), got(null), 70, 80],
  ]);
  t.is(r.result, 'illegal');
});

test('rejects a stale read', (t) => {
  const r = check([
    ['a', put('x', '1'), done('put'), 0, 10],
    ['a', put('x', '2'), done('put'), 20, 30],
    ['b', get('x'), got('1'), 40, 50],
  ]);
  t.is(r.result, 'illegal');
  t.truthy(r.explanation?.includes('get(x) -> 1'), r.explanation);
});

test('rejects a lost acknowledged write', (t) => {
  const r = check([
    ['a', put('x', '1'), done('put'), 0, 10],
    ['b', get('x'), got(null), 20, 30],
  ]);
  t.is(r.result, 'illegal');
});

test('rejects two compare-and-swaps from the same value both succeeding', (t) => {
  const r = check([
    ['a', put('x', '0'), done('put'), 0, 10],
    ['a', cas('x', '0', '1'), casOut(true), 20, 40],
    ['b', cas('x', '0', '2'), casOut(true), 25, 45],
  ]);
  t.is(r.result, 'illegal');
});

test('a failed operation is definitely not applied', (t) => {
  const ok = check([
    ['a', put('x', '1'), 'fail', 0, 10],
    ['b', get('x'), got(null), 20, 30],
  ]);
  t.is(ok.result, 'ok');
  const bad = check([
    ['a', put('x', '1'), 'fail', 0, 10],
    ['b', get('x'), got('1'), 20, 30],
  ]);
  t.is(bad.result, 'illegal');
});

test('reports the failing key partition only', (t) => {
  const r = check([
    ['a', put('x', '1'), done('put'), 0, 10],
    ['a', put('y', '1'), done('put'), 11, 12],
    ['b', get('y'), got('1'), 20, 30],
    ['b', get('x'), got('2'), 31, 40],
  ]);
  t.is(r.result, 'illegal');
  t.is(r.partitions, 2);
  t.true(r.failingPartition!.every((op) => op.input.key === 'x'));
  t.deepEqual(r.longestLinearized, [0]);
});

test('property: histories of a real atomic register are linearizable', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), (seed, clients, keys) => {
      const ops = registerHistory(new SeededRng(seed), { clients, keys, opsPerClient: 25, maxDurationMs: 30, infoProbability: 0.05 });
      const r = checkLinearizable(kvModel, ops, { timeoutMs: 5_000 });
      return r.result === 'ok';
    }),
    { numRuns: 150 },
  );
  t.pass();
});

test('property: a read of a value never written is always caught', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
      const rng = new SeededRng(seed);
      const ops = registerHistory(rng, { clients: 4, keys: 2, opsPerClient: 20, maxDurationMs: 30, infoProbability: 0.05 });
      const reads = ops.filter((op) => op.input.op === 'get' && op.status === 'ok');
      fc.pre(reads.length > 0);
      const victim = reads[rng.int(reads.length)];
      victim.output = { op: 'get', value: 'never-written' };
      return checkLinearizable(kvModel, ops, { timeoutMs: 5_000 }).result === 'illegal';
    }),
    { numRuns: 100 },
  );
  t.pass();
});

test('perf: 10 keys, 8 clients, ~2,000 operations check in seconds', (t) => {
  const ops = registerHistory(new SeededRng(20261127), { clients: 8, keys: 10, opsPerClient: 250, maxDurationMs: 200, infoProbability: 0.05 });
  t.true(ops.length >= 1_900);
  const r = checkLinearizable(kvModel, ops, { timeoutMs: 20_000 });
  t.is(r.result, 'ok');
  t.is(r.partitions, 10);
  t.log(`${ops.length} ops, ${r.steps} steps, ${r.elapsedMs.toFixed(0)} ms`);
  t.true(r.elapsedMs < 5_000, `took ${r.elapsedMs} ms`);
});

test('an exhausted time budget answers unknown, not ok', (t) => {
  const ops = registerHistory(new SeededRng(5), { clients: 8, keys: 1, opsPerClient: 250, maxDurationMs: 40, infoProbability: 0.02 });
  const r = checkLinearizable(kvModel, ops, { timeoutMs: 0 });
  t.is(r.result, 'unknown');
});

test('the history recorder keeps one operation per client in flight and refuses double completion', (t) => {
  const h = new History<KvInput, KvOutput>({ limitOps: 3 });
  const a = h.invoke('a', get('x'), 0);
  t.throws(() => h.invoke('a', get('x'), 1), { message: /in flight/ });
  h.info(a, 5);
  t.throws(() => h.ok(a, got(null), 6), { message: /already completed/ });
  const b = h.invoke('a', put('x', '1'), 6); // info freed the client
  h.fail(b, 7);
  const c = h.invoke('b', get('x'), 8);
  t.is(h.invoke('c', get('x'), 9), -1, 'full');
  t.is(h.droppedInvocations, 1);
  h.ok(c, got(null), 10);
  t.deepEqual(h.forChecking().map((op) => [op.id, op.status, op.returnMs]), [[a, 'info', Infinity], [c, 'ok', 10]]);
});
