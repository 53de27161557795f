import test from 'ava';
import {
  RECORD_HEADER_BYTES,
  RecordType,
  decodeEntry,
  decodeHardState,
  decodeRecordAt,
  decodeSegmentHeader,
  decodeSnapshotMarker,
  encodeEntry,
  encodeHardState,
  encodeRecord,
  encodeSegmentHeader,
  encodeSnapshotMarker,
} from '../../../src/storage/record.js';

test('entry round-trips, including large indexes and empty data', (t) => {
  for (const e of [
    { index: 1, term: 1, type: 0 as const, data: new Uint8Array(0) },
    { index: 2 ** 40 + 7, term: 2 ** 33 + 1, type: 1 as const, data: new Uint8Array([1, 2, 3, 255]) },
  ]) {
    const rec = encodeEntry(e);
    const d = decodeRecordAt(rec, 0, 1024);
    t.true(d.ok);
    if (!d.ok) return;
    t.is(d.type, RecordType.Entry);
    t.is(d.endOffset, rec.length);
    t.deepEqual(decodeEntry(d.payload), e);
  }
});

test('hard state, marker and segment header round-trip', (t) => {
  const h = { term: 9, vote: 'node-é', commit: 2 ** 45 };
  const r1 = decodeRecordAt(encodeHardState(h), 0, 1024);
  t.true(r1.ok && r1.type === RecordType.HardState);
  if (r1.ok) t.deepEqual(decodeHardState(r1.payload), h);
  const r2 = decodeRecordAt(encodeSnapshotMarker({ index: 5, term: 2 }), 0, 1024);
  if (r2.ok) t.deepEqual(decodeSnapshotMarker(r2.payload), { index: 5, term: 2 });
  else t.fail();
  const r3 = decodeRecordAt(encodeSegmentHeader({ seq: 3, firstIndex: 100 }), 0, 1024);
  if (r3.ok) t.deepEqual(decodeSegmentHeader(r3.payload), { seq: 3, firstIndex: 100 });
  else t.fail();
});

test('every single-bit flip is detected', (t) => {
  const rec = encodeEntry({ index: 3, term: 1, type: 0, data: new Uint8Array([9, 8, 7]) });
  for (let byte = 0; byte < rec.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      const c = rec.slice();
      c[byte] ^= 1 << bit;
      t.false(decodeRecordAt(c, 0, 1024).ok, `flip byte ${byte} bit ${bit}`);
    }
  }
});

test('short buffers are "short", oversize lengths and unknown types are "bad"', (t) => {
  const rec = encodeEntry({ index: 3, term: 1, type: 0, data: new Uint8Array(10) });
  for (let n = 0; n < rec.length; n++) {
    const d = decodeRecordAt(rec.subarray(0, n), 0, 1024);
    t.false(d.ok);
    if (!d.ok) t.is(d.kind, 'short');
  }
  const big = decodeRecordAt(rec, 0, 5);
  t.true(!big.ok && big.kind === 'bad');
  const zeros = decodeRecordAt(new Uint8Array(32), 0, 1024);
  t.true(!zeros.ok && zeros.kind === 'bad');
  const unknown = decodeRecordAt(encodeRecord(99 as never, new Uint8Array(1)), 0, 1024);
  t.true(!unknown.ok && unknown.kind === 'bad');
  t.is(RECORD_HEADER_BYTES, 9);
});
