/**
 * The space quota (etcd's --quota-backend-bytes): bytes of live data,
 * history and leases, the NOSPACE alarm, and snapshots bounded by it.
 */
import test from 'ava';
import fc from 'fast-check';
import { ByteWriter } from '../../../src/control/store/bytes-io.js';
import { decodeCommand, encodeCommand } from '../../../src/control/store/commands.js';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import { defaultStoreCapacity, snapshotLimits, storeLimits } from '../../../src/control/store/limits.js';
import { encodeSnapshot } from '../../../src/control/store/snapshot.js';
import { sessionOverheadBytes, snapshotBytesBound, snapshotSlackBytes } from '../../../src/control/store/space.js';
import { crc32 } from 'node:zlib';
import { steps } from './store-arbitraries.js';
import { b, Harness, s } from './store-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function value64k(i: number): Uint8Array {
  const v = new Uint8Array(64 * KiB);
  v.fill(i % 251);
  return v;
}

test('Quota: a 64 KiB value rewritten 12,000 times (the issue) is refused with ERR_NO_SPACE at the default quota; reads and compaction work; the snapshot stays bounded', (t) => {
  const h = new Harness();
  const quota = defaultStoreCapacity.quotaBytes;
  h.put('/other', 'small');
  let accepted = 0;
  let firstRefusal: ReturnType<Harness['apply']> | undefined;
  const started = performance.now();
  for (let i = 1; i <= 12_000; i++) {
    const r = h.apply({ type: 'put', key: '/app/config', value: value64k(i) });
    if (r.ok) accepted++;
    else firstRefusal ??= r;
  }
  const writeMs = performance.now() - started;
  // 768 MiB of writes against a 256 MiB quota: about a third of them fit, the rest are refused.
  t.true(accepted > 3000 && accepted < 4096, `accepted ${accepted}`);
  t.false(firstRefusal?.ok);
  if (firstRefusal !== undefined && !firstRefusal.ok) {
    t.is(firstRefusal.error.code, 'ERR_NO_SPACE');
    t.regex(firstRefusal.error.message, /no space/);
    t.is(firstRefusal.error.details?.quotaBytes, quota);
  }
  const space = h.store.spaceUsage();
  t.true(space.usedBytes <= quota);
  t.deepEqual(space.alarms, ['NOSPACE']);
  t.is(h.store.stats().counters.noSpaceRefused, 12_000 - accepted);

  // The snapshot is checked when written: below the bound, far below what restore accepts, one copy of each value.
  let at = performance.now();
  const full = h.store.snapshot();
  const snapshotMs = performance.now() - at;
  t.true(full.length <= snapshotBytesBound(h.store.capacity), `${full.length} bytes`);
  t.true(full.length < snapshotLimits.snapshotBytesMax / 3);
  t.true(full.length < (accepted + 2) * 66 * KiB, `each version once: ${full.length} bytes for ${accepted} versions`);
  at = performance.now();
  const restored = ConfigStore.restore(full);
  const restoreMs = performance.now() - at;
  t.is(restored.usedBytes, h.store.usedBytes);
  t.deepEqual(restored.alarms, ['NOSPACE']);
  t.log(`writes ${writeMs.toFixed(0)} ms; snapshot ${(full.length / MiB).toFixed(1)} MiB in ${snapshotMs.toFixed(0)} ms, restored in ${restoreMs.toFixed(0)} ms`);

  // Reads work: current, past, range.
  t.is(h.store.get('/app/config')?.version, accepted);
  t.is(h.store.get('/app/config', { revision: 2 })?.value[0], 1);
  t.is(h.store.range('/').count, 2);
  // Deletes work, and so does a lease revoke; a lease grant is refused.
  t.is(h.apply({ type: 'leaseGrant', id: 7, ttlMs: 5000 }).ok, false);
  t.true(h.apply({ type: 'delete', key: '/other' }).ok);
  t.deepEqual(h.store.alarms, ['NOSPACE'], 'a delete frees too little to clear the alarm');
  t.is(h.put('/tiny', 'x').ok, false, 'while the alarm is raised even a small write is refused');

  // Compaction works and brings the space back: the alarm clears, writes work again.
  t.true(h.apply({ type: 'compact', revision: h.store.revision }).ok);
  t.deepEqual(h.store.alarms, []);
  t.true(h.store.usedBytes < 100 * KiB);
  t.true(h.apply({ type: 'put', key: '/app/config', value: value64k(0) }).ok);
  // The last compacted revision's versions, the new one, and the dedup table's last result (its prevKv).
  t.true(h.store.snapshot().length < 400 * KiB);
});

test('the alarm: raised by a refused write, refuses every growing write, lets shrinking ones through, clears at 15/16 of the quota', (t) => {
  const h = new Harness(new ConfigStore({ capacity: { quotaBytes: 64 * KiB } }));
  const big = (n: number): string => 'x'.repeat(n);
  for (let i = 0; i < 5; i++) t.true(h.put(`/k${i}`, big(10 * KiB)).ok);
  // One write too large for what is left is refused, but the store is not full: no alarm.
  const tooLarge = h.put('/k9', big(20 * KiB));
  t.is(!tooLarge.ok && tooLarge.error.code, 'ERR_NO_SPACE');
  t.is(!tooLarge.ok && tooLarge.error.details?.alarm, false);
  t.deepEqual(h.store.alarms, []);
  t.true(h.put('/k5', big(10 * KiB)).ok);
  const refused = h.put('/k6', big(30 * KiB));
  t.is(!refused.ok && refused.error.code, 'ERR_NO_SPACE');
  t.is(h.store.revision, 6, 'a refused write changes nothing');
  t.deepEqual(h.store.alarms, ['NOSPACE']);
  t.is(h.put('/k7', 'x').ok, false, 'while the alarm is raised, even a write that fits is refused');
  t.is(h.store.stats().space.alarms[0], 'NOSPACE');
  // A delete moves its value to history: a txn swapping a key for another still grows the store.
  const swap = h.apply({
    type: 'txn',
    compare: [],
    success: [
      { type: 'delete', key: '/k0' },
      { type: 'put', key: '/k5', value: b('y') },
    ],
    failure: [],
  });
  t.is(!swap.ok && swap.error.code, 'ERR_NO_SPACE', 'a delete moves the value to history: the txn still grows the store');
  t.true(h.apply({ type: 'deleteRange', prefix: '/k' }).ok);
  t.deepEqual(h.store.alarms, ['NOSPACE'], 'deleted values are still in history');
  t.true(h.apply({ type: 'compact', revision: h.store.revision }).ok);
  t.deepEqual(h.store.alarms, []);
  t.true(h.put('/k6', big(30 * KiB)).ok);
});

test('setQuota is replicated state: raising clears the alarm, lowering below the usage raises it; bounds are checked', (t) => {
  const h = new Harness(new ConfigStore({ capacity: { quotaBytes: 2 * MiB } }));
  for (let i = 0; i < 40; i++) h.put('/k', 'x'.repeat(64 * KiB));
  t.deepEqual(h.store.alarms, ['NOSPACE']);
  t.is(h.ok({ type: 'setQuota', quotaBytes: 8 * MiB }).quotaBytes, 8 * MiB);
  t.is(h.store.capacity.quotaBytes, 8 * MiB);
  t.deepEqual(h.store.alarms, []);
  t.true(h.put('/k', 'y').ok);
  h.ok({ type: 'setQuota', quotaBytes: storeLimits.quotaBytesMin });
  t.deepEqual(h.store.alarms, ['NOSPACE']);
  const restored = ConfigStore.restore(h.store.snapshot());
  t.is(restored.capacity.quotaBytes, storeLimits.quotaBytesMin);
  t.deepEqual(restored.alarms, ['NOSPACE']);
  for (const quotaBytes of [0, storeLimits.quotaBytesMin - 1, storeLimits.quotaBytesMax + 1]) {
    const r = h.apply({ type: 'setQuota', quotaBytes });
    t.is(!r.ok && r.error.code, 'ERR_INVALID_ARGUMENT');
  }
  // It travels in the Raft log like every command.
  const command = { type: 'setQuota', req: { client: 'leader', seq: 1 }, quotaBytes: 3 * MiB } as const;
  t.deepEqual(decodeCommand(encodeCommand(command)), { ok: true, command });
  // Every replica at the quota ceiling still snapshots below what restore accepts.
  t.true(snapshotBytesBound({ ...defaultStoreCapacity, quotaBytes: storeLimits.quotaBytesMax }) <= snapshotLimits.snapshotBytesMax);
});

test('accounting is a function of the replicated state: replicas and restored stores agree, refusals included, and it bounds the snapshot', (t) => {
  fc.assert(
    fc.property(steps(60), fc.nat(60), fc.integer({ min: 1200, max: 4000 }), (all, cut, quotaBytes) => {
      const capacity = { quotaBytes, sessionResultsBytesMax: 2000 };
      const straight = new Harness(new ConfigStore({ capacity }));
      const restored = new Harness(new ConfigStore({ capacity }));
      const at = Math.min(cut, all.length);
      for (const st of all.slice(0, at)) {
        straight.step(st.body, st.retry);
        restored.step(st.body, st.retry);
      }
      restored.store = ConfigStore.restore(restored.store.snapshot());
      for (const st of all.slice(at)) t.deepEqual(restored.step(st.body, st.retry), straight.step(st.body, st.retry));
      t.deepEqual(restored.store.spaceUsage(), straight.store.spaceUsage());
      const space = straight.store.spaceUsage();
      t.true(space.usedBytes <= quotaBytes || space.alarms.length === 1);
      const snapshot = straight.store.snapshot();
      const sessions = straight.store.stats().sessions;
      t.true(snapshot.length <= snapshotSlackBytes + space.usedBytes + sessions * sessionOverheadBytes + space.sessionResultsBytes);
    }),
    { numRuns: 150 },
  );
});

test('compactionCandidate: by revisions and by history bytes, never past the current revision', (t) => {
  const h = new Harness();
  t.is(h.store.compactionCandidate({ revisions: 10 }), undefined);
  for (let i = 1; i <= 100; i++) h.put('/k', 'v'.repeat(1000));
  t.is(h.store.compactionCandidate({ revisions: 10 }), 91);
  t.is(h.store.compactionCandidate({ revisions: 1000 }), undefined);
  const perRevision = h.store.spaceUsage().historyBytes / 100;
  const byBytes = h.store.compactionCandidate({ historyBytes: Math.floor(perRevision * 20) });
  t.true(byBytes !== undefined && byBytes >= 80 && byBytes <= 82, `${byBytes}`);
  t.is(h.store.compactionCandidate({ historyBytes: 0 }), 100);
  t.is(h.store.compactionCandidate({ revisions: 50, historyBytes: Math.floor(perRevision * 20) }), byBytes, 'the stricter wins');
  h.ok({ type: 'compact', revision: byBytes! });
  t.true(h.store.spaceUsage().historyBytes <= perRevision * 21);
  t.is(h.store.compactionCandidate({ historyBytes: Math.floor(perRevision * 20) }), undefined);
});

test('a snapshot that would pass the bound fails with ERR_NO_SPACE while being written, not when read', (t) => {
  const h = new Harness();
  for (let i = 0; i < 20; i++) h.put(`/k${i}`, 'x'.repeat(10 * KiB));
  const state = (h.store as unknown as { state(): Parameters<typeof encodeSnapshot>[0] }).state();
  t.notThrows(() => encodeSnapshot(state, 1 * MiB));
  t.throws(() => encodeSnapshot(state, 100 * KiB), { code: 'ERR_NO_SPACE', message: /passed 102400 bytes while being written/ });
});

test('format 1 snapshots (every previous value inline, no quota) still load', (t) => {
  const v1 = encodeV1Snapshot();
  const store = ConfigStore.restore(v1);
  t.is(store.revision, 3);
  t.is(s(store.get('/a')), 'two');
  t.is(s(store.get('/a', { revision: 1 })), 'one');
  t.is(store.get('/b'), undefined);
  t.is(s(store.get('/b', { revision: 2 })), 'b');
  t.is(store.capacity.quotaBytes, defaultStoreCapacity.quotaBytes);
  t.deepEqual(store.alarms, []);
  const retry = store.apply({ type: 'put', req: { client: 'c', seq: 3 }, key: '/b', value: b('ignored') }, 4);
  t.true(retry.duplicate);
  // Written again, it is format 2 and loads back the same.
  const again = ConfigStore.restore(store.snapshot());
  t.deepEqual(again.range(''), store.range(''));
  t.deepEqual(again.spaceUsage(), store.spaceUsage());
});

/** A format-1 snapshot as the previous version wrote it: /a=one@1, /b=b@2, then rev 3 a txn: /a=two, delete /b. */
function encodeV1Snapshot(): Uint8Array {
  const kv = (key: string, value: string, create: number, mod: number, version: number) => ({ key, value: b(value), create, mod, version });
  type K = ReturnType<typeof kv>;
  const w = new ByteWriter();
  w.raw(new Uint8Array(9));
  const frame = (write: () => void): void => {
    const at = w.placeholderU32();
    write();
    w.patchU32(at, w.length - at - 4);
  };
  const writeKv = (x: K): void => {
    w.string(x.key);
    w.bytes(x.value);
    w.uint(x.create);
    w.uint(x.mod);
    w.uint(x.version);
    w.uint(0);
  };
  const json = (o: unknown): void => frame(() => w.raw(new TextEncoder().encode(JSON.stringify(o))));
  const a1 = kv('/a', 'one', 1, 1, 1);
  const b2 = kv('/b', 'b', 2, 2, 1);
  const a3 = kv('/a', 'two', 1, 3, 2);
  json({
    capacity: { keysMax: 1000, dataBytesMax: 1000000, leasesMax: 10, historyRevisionsMax: 100, sessionsMax: 10 },
    appliedIndex: 3,
    revision: 3,
    compactedRevision: 0,
    kvs: 1,
    leases: 0,
    sessions: 1,
    history: 3,
  });
  frame(() => writeKv(a3));
  json({ client: 'c', lastSeq: 3, lastResult: { ok: true, revision: 3, duplicate: false, response: { kind: 'put' } } });
  frame(() => {
    w.uint(1);
    w.uint(1);
    w.u8(0);
    w.u8(0);
    writeKv(a1);
  });
  frame(() => {
    w.uint(2);
    w.uint(1);
    w.u8(0);
    w.u8(0);
    writeKv(b2);
  });
  frame(() => {
    w.uint(3);
    w.uint(2);
    w.u8(0);
    w.u8(1);
    writeKv(a3);
    writeKv(a1);
    w.u8(1);
    w.u8(1);
    w.string('/b');
    writeKv(b2);
  });
  const out = w.view().slice();
  out.set([0x53, 0x48, 0x43, 0x53, 1], 0);
  new DataView(out.buffer).setUint32(5, crc32(out.subarray(9)));
  return out;
}
