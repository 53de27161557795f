import test from 'ava';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import { expiredLeaseRetryMs } from '../../../src/control/store/leases.js';
import { Harness, RecordingSink } from './store-helpers.js';

function withLease(ttlMs = 5000): Harness {
  const h = new Harness();
  h.ok({ type: 'leaseGrant', id: 7, ttlMs });
  h.put('/svc/a', 'x', { lease: 7 }); // 1
  h.put('/svc/b', 'x', { lease: 7 }); // 2
  h.put('/svc/c', 'x'); // 3, no lease
  return h;
}

/** What the leader does on a tick: ask, and propose what expired. */
function leaderTick(h: Harness, nowMs: number): number[] {
  const expired = h.store.expiredLeases(nowMs);
  if (expired === undefined) return [];
  const r = h.ok({ type: 'leaseExpire', ids: expired.ids, keepAlives: expired.keepAlives, leaderTimeMs: nowMs });
  return [...r.expired];
}

test('revoke deletes the attached keys in one revision', (t) => {
  const h = withLease();
  const sink = new RecordingSink();
  h.store.watch('/', 4, sink);
  const r = h.ok({ type: 'leaseRevoke', id: 7 });
  t.is(r.deleted, 2);
  t.is(r.revision, 4);
  t.deepEqual(
    h.store.range('/').kvs.map((kv) => kv.key),
    ['/svc/c'],
  );
  t.deepEqual(sink.events(), ['delete /svc/a=@4', 'delete /svc/b=@4']);
  t.is(h.store.lease(7), undefined);
  const again = h.apply({ type: 'leaseRevoke', id: 7 });
  t.is(!again.ok && again.error.code, 'ERR_NOT_FOUND');
});

test('keys move between leases and leave them when overwritten without one', (t) => {
  const h = withLease();
  h.ok({ type: 'leaseGrant', id: 8, ttlMs: 5000 });
  h.put('/svc/a', 'y', { lease: 8 });
  h.put('/svc/b', 'y');
  t.deepEqual(h.store.lease(7)?.keys, []);
  t.deepEqual(h.store.lease(8)?.keys, ['/svc/a']);
  t.is(h.store.get('/svc/b')?.lease, 0);
  h.apply({ type: 'delete', key: '/svc/a' });
  t.deepEqual(h.store.lease(8)?.keys, []);
  const missing = h.put('/x', 'y', { lease: 99 });
  t.is(!missing.ok && missing.error.code, 'ERR_NOT_FOUND');
  const dup = h.apply({ type: 'leaseGrant', id: 8, ttlMs: 5000 });
  t.is(!dup.ok && dup.error.code, 'ERR_CONFLICT');
});

test('expiry: the leader clock starts at first sight; keys are deleted only by leaseExpire, never before the TTL', (t) => {
  const h = withLease(5000);
  t.deepEqual(leaderTick(h, 1000), []); // deadline starts: 6000
  t.deepEqual(leaderTick(h, 5999), []);
  t.is(h.store.keyCount, 3);
  t.is(h.store.leaseRemainingMs(7, 5000), 1000);
  const before = h.store.revision;
  t.deepEqual(leaderTick(h, 6000), [7]);
  t.is(h.store.revision, before + 1);
  t.deepEqual(
    h.store.range('/').kvs.map((kv) => kv.key),
    ['/svc/c'],
  );
  t.is(h.store.lease(7), undefined);
});

test('keep-alive restarts the TTL', (t) => {
  const h = withLease(5000);
  leaderTick(h, 0); // deadline 5000
  h.ok({ type: 'leaseKeepAlive', id: 7 });
  t.deepEqual(leaderTick(h, 4000), []); // restarted: 9000
  t.deepEqual(leaderTick(h, 8999), []);
  t.deepEqual(leaderTick(h, 9000), [7]);
});

test('a keep-alive applied after the leader decided wins over its leaseExpire', (t) => {
  const h = withLease(5000);
  leaderTick(h, 0);
  const expired = h.store.expiredLeases(5000);
  t.deepEqual(expired?.ids, [7]);
  h.ok({ type: 'leaseKeepAlive', id: 7 }); // committed before the expire
  const r = h.ok({ type: 'leaseExpire', ids: expired?.ids ?? [], keepAlives: expired?.keepAlives ?? [], leaderTimeMs: 5000 });
  t.deepEqual(r.expired, []);
  t.is(h.store.keyCount, 3);
  t.truthy(h.store.lease(7));
});

test('onLeaderChange gives every lease its full TTL on the new leader clock', (t) => {
  const h = withLease(5000);
  leaderTick(h, 0); // old leader: deadline 5000
  // A new leader, whose clock reads 100, takes over at what the old leader would call 4900.
  h.store.onLeaderChange(100);
  t.deepEqual(leaderTick(h, 5099), []);
  t.is(h.store.leaseRemainingMs(7, 5099), 1);
  t.deepEqual(leaderTick(h, 5100), [7]);
});

test('a lost leaseExpire is proposed again after the retry interval', (t) => {
  const h = withLease(5000);
  leaderTick(h, 0);
  t.deepEqual(h.store.expiredLeases(5000)?.ids, [7]); // proposal lost
  t.is(h.store.expiredLeases(5000 + expiredLeaseRetryMs - 1), undefined);
  t.deepEqual(h.store.expiredLeases(5000 + expiredLeaseRetryMs)?.ids, [7]);
});

test('leases are bounded by leasesMax', (t) => {
  const h = new Harness(new ConfigStore({ capacity: { leasesMax: 1 } }));
  h.ok({ type: 'leaseGrant', id: 1, ttlMs: 5000 });
  const r = h.apply({ type: 'leaseGrant', id: 2, ttlMs: 5000 });
  t.is(!r.ok && r.error.code, 'ERR_RESOURCE_EXHAUSTED');
});
