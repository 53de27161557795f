import test from 'ava';
import { encodeCommand } from '../../../src/control/store/commands.js';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import { isShoalError } from '../../../src/util/errors.js';
import { b, Harness, s } from './store-helpers.js';

test('every write takes the next revision; reads and no-op deletes do not', (t) => {
  const h = new Harness();
  t.is(h.store.revision, 0);
  t.is(h.put('/a', '1').revision, 1);
  t.is(h.put('/b', '1').revision, 2);
  t.is(h.put('/a', '2').revision, 3);
  // Deleting a missing key changes nothing: no revision (etcd).
  const miss = h.ok({ type: 'delete', key: '/missing' });
  t.is(miss.deleted, 0);
  t.is(miss.revision, 3);
  t.is(h.ok({ type: 'delete', key: '/b' }).revision, 4);
  t.is(h.store.revision, 4);
});

test('version, createRevision and modRevision follow puts and deletes', (t) => {
  const h = new Harness();
  h.put('/k', 'a'); // rev 1
  h.put('/other', 'x'); // rev 2
  h.put('/k', 'b'); // rev 3
  let kv = h.store.get('/k');
  t.deepEqual([kv?.createRevision, kv?.modRevision, kv?.version, s(kv)], [1, 3, 2, 'b']);
  const del = h.ok({ type: 'delete', key: '/k' }); // rev 4
  t.is(s(del.prevKv), 'b');
  t.is(h.store.get('/k'), undefined);
  h.put('/k', 'c'); // rev 5: a new generation
  kv = h.store.get('/k');
  t.deepEqual([kv?.createRevision, kv?.modRevision, kv?.version], [5, 5, 1]);
});

test('put returns the previous key/value', (t) => {
  const h = new Harness();
  t.is(h.ok({ type: 'put', key: '/k', value: b('1') }).prevKv, undefined);
  t.is(s(h.ok({ type: 'put', key: '/k', value: b('2') }).prevKv), '1');
});

test('range by prefix returns keys in order, with limit, count, more and after', (t) => {
  const h = new Harness();
  for (const k of ['/svc/b', '/svc/a', '/svd/x', '/sv', '/svc/c', '/svc/ä', '/svc/😀', '/svc/\uffee']) h.put(k, k);
  const r = h.store.range('/svc/');
  // Code point order: U+00E4 < U+FFEE < U+1F600 (UTF-16 order would put the emoji before U+FFEE).
  t.deepEqual(
    r.kvs.map((kv) => kv.key),
    ['/svc/a', '/svc/b', '/svc/c', '/svc/ä', '/svc/\uffee', '/svc/😀'],
  );
  t.is(r.count, 6);
  t.false(r.more);
  const page1 = h.store.range('/svc/', { limit: 2 });
  t.deepEqual(
    page1.kvs.map((kv) => kv.key),
    ['/svc/a', '/svc/b'],
  );
  t.true(page1.more);
  t.is(page1.count, 6);
  const page2 = h.store.range('/svc/', { limit: 2, after: '/svc/b' });
  t.deepEqual(
    page2.kvs.map((kv) => kv.key),
    ['/svc/c', '/svc/ä'],
  );
  t.is(h.store.range('').count, 8);
  t.is(h.store.range('/nothing/').kvs.length, 0);
});

test('range and get at a past revision see the state of that revision', (t) => {
  const h = new Harness();
  h.put('/a', '1'); // 1
  h.put('/b', '1'); // 2
  h.put('/a', '2'); // 3
  h.apply({ type: 'delete', key: '/b' }); // 4
  h.put('/c', '1'); // 5
  const at = (rev: number): string[] => h.store.range('/', { revision: rev }).kvs.map((kv) => `${kv.key}=${s(kv)}@${kv.modRevision}`);
  t.deepEqual(at(0), []);
  t.deepEqual(at(1), ['/a=1@1']);
  t.deepEqual(at(2), ['/a=1@1', '/b=1@2']);
  t.deepEqual(at(3), ['/a=2@3', '/b=1@2']);
  t.deepEqual(at(4), ['/a=2@3']);
  t.deepEqual(at(5), ['/a=2@3', '/c=1@5']);
  t.is(s(h.store.get('/b', { revision: 3 })), '1');
  t.is(h.store.get('/b', { revision: 4 }), undefined);
  t.is(h.store.range('/', { revision: 2, limit: 1 }).more, true);
  const future = t.throws(() => h.store.range('/', { revision: 6 }));
  t.true(isShoalError(future, 'ERR_INVALID_ARGUMENT'));
});

test('deleteRange deletes a prefix in one revision', (t) => {
  const h = new Harness();
  h.put('/p/1', 'x');
  h.put('/p/2', 'x');
  h.put('/q/1', 'x');
  const r = h.ok({ type: 'deleteRange', prefix: '/p/' });
  t.is(r.deleted, 2);
  t.is(r.revision, 4);
  t.deepEqual(
    h.store.range('/').kvs.map((kv) => kv.key),
    ['/q/1'],
  );
  t.is(h.ok({ type: 'deleteRange', prefix: '/p/' }).revision, 4);
});

test('put with prevRevision is a compare-and-swap on modRevision (0: create only)', (t) => {
  const h = new Harness();
  t.true(h.put('/k', 'a', { prevRevision: 0 }).ok);
  const again = h.put('/k', 'b', { prevRevision: 0 });
  t.false(again.ok);
  t.is(!again.ok && again.error.code, 'ERR_CONFLICT');
  t.is(!again.ok && again.error.details?.modRevision, 1);
  t.is(s(h.store.get('/k')), 'a');
  t.true(h.put('/k', 'b', { prevRevision: 1 }).ok);
  t.is(h.store.revision, 2);
});

test('compaction: reads below the compacted revision fail naming the oldest; at it they work', (t) => {
  const h = new Harness();
  for (let i = 1; i <= 5; i++) h.put('/k', String(i));
  t.true(h.ok({ type: 'compact', revision: 3 }).compactedRevision === 3);
  t.is(h.store.compactedRevision, 3);
  t.is(s(h.store.get('/k', { revision: 3 })), '3');
  const e = t.throws(() => h.store.get('/k', { revision: 2 }));
  t.true(isShoalError(e, 'ERR_COMPACTED'));
  t.regex(e.message, /oldest available revision is 3/);
  t.is((e as { details?: { oldestRevision?: number } }).details?.oldestRevision, 3);
  const again = h.apply({ type: 'compact', revision: 3 });
  t.is(!again.ok && again.error.code, 'ERR_COMPACTED');
  const future = h.apply({ type: 'compact', revision: 9 });
  t.is(!future.ok && future.error.code, 'ERR_INVALID_ARGUMENT');
});

test('history is bounded: past historyRevisionsMax the oldest revisions are compacted in apply', (t) => {
  const h = new Harness(new ConfigStore({ capacity: { historyRevisionsMax: 4 } }));
  for (let i = 1; i <= 10; i++) h.put('/k', String(i));
  t.is(h.store.compactedRevision, 7);
  t.is(s(h.store.get('/k', { revision: 7 })), '7');
  t.throws(() => h.store.get('/k', { revision: 6 }), { code: 'ERR_COMPACTED' });
});

test('capacity: keys and bytes past the limit are refused, overwrites and deletes still work', (t) => {
  const h = new Harness(new ConfigStore({ capacity: { keysMax: 2, quotaBytes: 700 } }));
  t.true(h.put('/a', 'x').ok);
  t.true(h.put('/b', 'x').ok);
  const third = h.put('/c', 'x');
  t.is(!third.ok && third.error.code, 'ERR_RESOURCE_EXHAUSTED');
  t.is(h.store.revision, 2);
  t.true(h.put('/a', 'y').ok);
  const big = h.put('/a', 'z'.repeat(400));
  t.is(!big.ok && big.error.code, 'ERR_NO_SPACE');
  t.true(h.apply({ type: 'delete', key: '/b' }).ok);
  t.true(h.apply({ type: 'compact', revision: h.store.revision }).ok); // frees the history: the alarm clears
  t.deepEqual(h.store.alarms, []);
  t.true(h.put('/c', 'x').ok);
});

test('apply refuses to go backwards in the Raft log', (t) => {
  const h = new Harness();
  h.put('/a', '1');
  t.throws(() => h.store.apply(h.cmd({ type: 'delete', key: '/a' }), 1), { code: 'ERR_ASSERTION' });
});

test('applyEntry decodes and applies; bad bytes are an error result that still advances the applied index', (t) => {
  const store = new ConfigStore();
  const r = store.applyEntry(encodeCommand({ type: 'put', req: { client: 'c', seq: 1 }, key: '/k', value: b('v') }), 1);
  t.true(r.ok);
  const bad = store.applyEntry(new Uint8Array([1, 2, 3]), 2);
  t.is(!bad.ok && bad.error.code, 'ERR_DECODE_FAILED');
  t.is(store.appliedIndex, 2);
  t.is(store.revision, 1);
});

test('reads refuse invalid keys and prefixes with ERR_INVALID_ARGUMENT', (t) => {
  const store = new ConfigStore();
  t.throws(() => store.get(''), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => store.range('/a\u0000'), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => store.range('/', { limit: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
});

test('long-running compaction keeps reads exact (history cut in chunks)', (t) => {
  const h = new Harness(new ConfigStore({ capacity: { historyRevisionsMax: 10 } }));
  for (let i = 1; i <= 3000; i++) h.put(`/k${i % 7}`, String(i));
  t.is(h.store.compactedRevision, 2991);
  for (let r = 2991; r <= 3000; r++) {
    const kv = h.store.get(`/k${r % 7}`, { revision: r });
    t.is(s(kv), String(r));
    t.is(kv?.modRevision, r);
  }
  t.is(s(h.store.get('/k0', { revision: 2991 })), '2989');
});

test('stats count what was refused, and skipEntry moves only the applied index', (t) => {
  const h = new Harness(new ConfigStore({ capacity: { keysMax: 1 } }));
  h.put('/a', '1');
  h.put('/b', '1'); // refused: full
  h.store.apply(h.cmd({ type: 'put', key: '', value: b('') }), ++h.index); // invalid
  h.store.applyEntry(new Uint8Array([0xff]), ++h.index); // does not decode
  h.store.skipEntry(++h.index);
  const st = h.store.stats();
  t.deepEqual(st.counters, { decodeFailed: 1, invalid: 1, duplicates: 0, sessionRefused: 0, capacityRefused: 1, noSpaceRefused: 0 });
  t.is(st.appliedIndex, 5);
  t.is(st.revision, 1);
  t.is(st.keys, 1);
  t.is(st.dataBytes, 3);
  t.is(st.historyRevisions, 1);
});
