import test from 'ava';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import type { Command } from '../../../src/control/store/commands.js';
import { b, s } from './store-helpers.js';

const put = (client: string, seq: number, key: string, value: string): Command => ({
  type: 'put',
  req: { client, seq },
  key,
  value: b(value),
});

test('a retried request is answered from the dedup table, not applied twice', (t) => {
  const store = new ConfigStore();
  const first = store.apply(put('c1', 1, '/k', 'v1'), 1);
  t.true(first.ok);
  // Another client writes in between; the retry must not overwrite it.
  store.apply(put('c2', 1, '/k', 'other'), 2);
  const retry = store.apply(put('c1', 1, '/k', 'v1'), 3);
  t.true(retry.duplicate);
  t.is(retry.revision, first.revision);
  t.deepEqual({ ...retry, duplicate: false }, first);
  t.is(s(store.get('/k')), 'other');
  t.is(store.revision, 2);
});

test('a retried txn that failed a compare returns the same failure, even when the compare would now pass', (t) => {
  const store = new ConfigStore();
  const txn: Command = {
    type: 'txn',
    req: { client: 'c1', seq: 1 },
    compare: [{ key: '/k', target: 'version', op: '=', value: 1 }],
    success: [{ type: 'put', key: '/won', value: b('1') }],
    failure: [],
  };
  const first = store.apply(txn, 1);
  t.true(first.ok && first.response.kind === 'txn' && !first.response.succeeded);
  store.apply(put('c2', 1, '/k', 'now version 1'), 2);
  const retry = store.apply(txn, 3);
  t.true(retry.ok && retry.response.kind === 'txn' && !retry.response.succeeded);
  t.true(retry.duplicate);
  t.is(store.get('/won'), undefined);
});

test('a stale request (older seq) is refused, a new seq is applied', (t) => {
  const store = new ConfigStore();
  store.apply(put('c1', 1, '/k', 'a'), 1);
  store.apply(put('c1', 2, '/k', 'b'), 2);
  const stale = store.apply(put('c1', 1, '/k', 'a'), 3);
  t.false(stale.ok);
  t.is(!stale.ok && stale.error.code, 'ERR_STALE_REQUEST');
  t.is(s(store.get('/k')), 'b');
  t.true(store.apply(put('c1', 3, '/k', 'c'), 4).ok);
  t.is(s(store.get('/k')), 'c');
});

test('sessions are bounded; an evicted client is refused rather than risking a double apply', (t) => {
  const store = new ConfigStore({ capacity: { sessionsMax: 2 } });
  store.apply(put('a', 1, '/a', '1'), 1);
  store.apply(put('b', 1, '/b', '1'), 2);
  store.apply(put('c', 1, '/c', '1'), 3); // evicts a (least recently used)
  const retry = store.apply(put('a', 1, '/a', '1'), 4);
  // seq 1 of an unknown client is indistinguishable from a first request: applied.
  t.true(retry.ok && !retry.duplicate);
  store.apply(put('d', 1, '/d', '1'), 5); // evicts b
  const next = store.apply(put('b', 2, '/b', '2'), 6);
  t.is(!next.ok && next.error.code, 'ERR_SESSION_EXPIRED');
  t.is(s(store.get('/b')), '1');
});

test('the dedup table is bounded by bytes: results past sessionResultsBytesMax are shed, never invented; the session goes on', (t) => {
  const store = new ConfigStore({ capacity: { sessionResultsBytesMax: 64 * 1024 } });
  const big = 'x'.repeat(20 * 1024);
  let index = 0;
  // Each put's result holds the previous value (prevKv): about 27 KiB of JSON each.
  for (const client of ['a', 'b', 'c', 'd']) {
    store.apply(put(client, 1, `/${client}`, big), ++index);
    store.apply(put(client, 2, `/${client}`, big), ++index);
  }
  const stats = store.stats();
  t.true(stats.space.sessionResultsBytes <= 64 * 1024, `${stats.space.sessionResultsBytes}`);
  t.true(stats.sessionResultsShed >= 2);
  t.is(stats.sessions, 4, 'sessions are not evicted by bytes, only their results shed');
  // The most recent result is still there: a retry is answered from it.
  const retryD = store.apply(put('d', 2, '/d', big), ++index);
  t.true(retryD.ok && retryD.duplicate);
  // The least recent was shed: its retry is refused, saying it was applied and where; nothing is applied twice.
  const revision = store.revision;
  const retryA = store.apply(put('a', 2, '/a', 'other'), ++index);
  t.false(retryA.ok);
  t.true(retryA.duplicate);
  t.is(!retryA.ok && retryA.error.code, 'ERR_STALE_REQUEST');
  t.is(!retryA.ok && retryA.error.details?.applied, true);
  t.is(!retryA.ok && retryA.error.details?.revision, 2);
  t.is(store.revision, revision);
  t.is(s(store.get('/a')), big);
  // The client goes on with its next request as usual.
  t.true(store.apply(put('a', 3, '/a', 'next'), ++index).ok);
  // A result larger than the whole bound is never kept.
  const huge = new ConfigStore({ capacity: { sessionResultsBytesMax: 1024 } });
  huge.apply(put('z', 1, '/z', big), 1);
  huge.apply(put('z', 2, '/z', big), 2);
  const retryZ = huge.apply(put('z', 2, '/z', big), 3);
  t.is(!retryZ.ok && retryZ.error.code, 'ERR_STALE_REQUEST');
  t.is(huge.stats().space.sessionResultsBytes, 0);
  // Shedding survives a snapshot: the restored table answers the same.
  const restored = ConfigStore.restore(store.snapshot());
  t.deepEqual(restored.apply(put('a', 3, '/a', 'next'), ++index), { ...store.apply(put('a', 3, '/a', 'next'), index), duplicate: true });
  t.is(restored.stats().space.sessionResultsBytes, store.stats().space.sessionResultsBytes);
});
