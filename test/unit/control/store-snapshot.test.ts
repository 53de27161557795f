import test from 'ava';
import fc from 'fast-check';
import { encodeCommand } from '../../../src/control/store/commands.js';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import { decodeSnapshot, encodeSnapshot } from '../../../src/control/store/snapshot.js';
import { isShoalError } from '../../../src/util/errors.js';
import { steps } from './store-arbitraries.js';
import { b, Harness, RecordingSink, s } from './store-helpers.js';

test('snapshot + restore + more commands gives the same state and results as never snapshotting', (t) => {
  fc.assert(
    fc.property(steps(60), fc.nat(60), (all, cut) => {
      const at = Math.min(cut, all.length);
      const straight = new Harness();
      const restored = new Harness();
      for (const st of all.slice(0, at)) {
        straight.step(st.body, st.retry);
        restored.step(st.body, st.retry);
      }
      restored.store = ConfigStore.restore(restored.store.snapshot());
      for (const st of all.slice(at)) {
        const x = straight.step(st.body, st.retry);
        const y = restored.step(st.body, st.retry);
        t.deepEqual(y, x);
      }
      t.deepEqual(restored.store.snapshot(), straight.store.snapshot());
      t.deepEqual(restored.store.range(''), straight.store.range(''));
      t.is(restored.store.appliedIndex, straight.store.appliedIndex);
    }),
    { numRuns: 150 },
  );
});

test('a restored store keeps history: a watch resumes across a restore', (t) => {
  const h = new Harness();
  h.put('/a', '1');
  h.put('/a', '2');
  h.apply({ type: 'compact', revision: 2 });
  h.put('/a', '3');
  const store = ConfigStore.restore(h.store.snapshot());
  t.is(store.compactedRevision, 2);
  t.is(store.revision, 3);
  const sink = new RecordingSink();
  store.watch('/', 2, sink);
  t.deepEqual(sink.events(), ['put /a=2@2', 'put /a=3@3']);
  t.is(s(store.get('/a', { revision: 2 })), '2');
  t.throws(() => store.watch('/', 1, new RecordingSink()), { code: 'ERR_COMPACTED' });
});

test('restore keeps the dedup table and lease attachments', (t) => {
  const h = new Harness();
  h.ok({ type: 'leaseGrant', id: 3, ttlMs: 2000 });
  const put = h.cmd({ type: 'put', key: '/l', value: b('v'), lease: 3 });
  const first = h.store.apply(put, ++h.index);
  const store = ConfigStore.restore(h.store.snapshot());
  const retry = store.apply(put, ++h.index);
  t.true(retry.duplicate);
  t.is(retry.revision, first.revision);
  t.deepEqual(store.lease(3)?.keys, ['/l']);
  t.is(store.revision, 1);
  // Capacity travels with the snapshot.
  const small = new ConfigStore({ capacity: { keysMax: 5 } });
  t.is(ConfigStore.restore(small.snapshot()).capacity.keysMax, 5);
});

test('corrupt snapshot bytes fail with ERR_CORRUPT_SNAPSHOT: flipped bits, truncation, garbage', (t) => {
  const h = new Harness();
  h.ok({ type: 'leaseGrant', id: 1, ttlMs: 2000 });
  for (let i = 0; i < 20; i++) h.put(`/k${i % 4}`, `v${i}`, i % 3 === 0 ? { lease: 1 } : {});
  const good = h.store.snapshot();
  t.is(ConfigStore.restore(good).revision, 20);
  fc.assert(
    fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, mask) => {
      const bad = good.slice();
      bad[at] ^= mask;
      const e = t.throws(() => ConfigStore.restore(bad));
      return isShoalError(e, 'ERR_CORRUPT_SNAPSHOT');
    }),
    { numRuns: 300 },
  );
  for (const len of [0, 3, 9, 10, good.length - 1]) {
    t.throws(() => ConfigStore.restore(good.subarray(0, len)), { code: 'ERR_CORRUPT_SNAPSHOT' });
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        ConfigStore.restore(bytes);
        return false;
      } catch (e) {
        return isShoalError(e, 'ERR_CORRUPT_SNAPSHOT');
      }
    }),
    { numRuns: 300 },
  );
});

test('a snapshot with a valid checksum but inconsistent content is refused', (t) => {
  const h = new Harness();
  h.ok({ type: 'leaseGrant', id: 1, ttlMs: 2000 });
  h.put('/a', '1', { lease: 1 });
  h.put('/b', '1');
  const decoded = decodeSnapshot(h.store.snapshot());
  if (!decoded.ok) return t.fail('good snapshot did not decode');
  const good = decoded.state;
  const cases: [string, typeof good][] = [
    ['key on an unknown lease', { ...good, leases: [] }],
    ['keys out of order', { ...good, kvs: [...good.kvs].reverse() }],
    ['history not reaching the revision', { ...good, revision: 3 }],
    ['history with a gap', { ...good, history: [good.history[0], { ...good.history[1], revision: 3 }] }],
    ['compacted above current', { ...good, compactedRevision: 5 }],
    ['a key from the future', { ...good, kvs: [{ ...good.kvs[0], modRevision: 9 }, good.kvs[1]] }],
    ['an invalid key', { ...good, kvs: [{ ...good.kvs[0], key: '/a\u0000' }, good.kvs[1]] }],
  ];
  for (const [what, state] of cases) {
    const r = decodeSnapshot(encodeSnapshot(state));
    t.false(r.ok, what);
    t.is(!r.ok && r.error.code, 'ERR_CORRUPT_SNAPSHOT', what);
  }
});

test('replicas applying the same encoded log hold byte-identical snapshots', (t) => {
  fc.assert(
    fc.property(steps(40), (all) => {
      const direct = new Harness();
      const replica = new ConfigStore();
      for (const st of all) {
        direct.step(st.body, st.retry);
      }
      // The same log as bytes, through decode.
      let index = 0;
      for (const entry of direct.log) replica.applyEntry(encodeCommand(entry), ++index);
      t.deepEqual(replica.snapshot(), direct.store.snapshot());
    }),
    { numRuns: 100 },
  );
});
