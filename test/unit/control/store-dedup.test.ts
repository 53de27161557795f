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
