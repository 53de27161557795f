import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { EntryType, MessageType, type Message } from '../../../src/raft/types.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { wireUintMax } from '../../../src/wire/uint.js';
import { DecodeDropReason, countDecode, newDecodeStats } from '../../../src/wire/limits.js';
import { WireKind } from '../../../src/wire/kind.js';
import {
  decodeConfChange,
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeRaftMessage,
  defaultRaftDecodeLimits,
  encodeConfChange,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeRaftMessage,
  encodedEntrySize,
  encodedRaftMessageSize,
  entryInMessageBytes,
  type RaftMessageDecodeResult,
} from '../../../src/wire/raft-codec.js';
import {
  RaftConfChangeType,
  RaftConfStateType,
  RaftEntryType,
  RaftHardStateType,
  RaftMessageType,
  confChangeArb,
  confStateArb,
  entryArb,
  hardStateArb,
  raftMessageArb,
  raftRoot,
  reflectDecode,
  reflectDecodeRaftMessage,
  reflectEncode,
  reflectEncodeRaftMessage,
} from './raft-arbitraries.js';

function expectError(t: ExecutionContext, r: { ok: boolean; error?: ShoalError }, code: ErrorCode, reason: string): void {
  t.false(r.ok);
  t.true(r.error instanceof ShoalError);
  t.is(r.error?.code, code);
  t.is(r.error?.details?.reason, reason);
}

const baseMsg = (over: Partial<Message> = {}): Message => ({
  type: MessageType.App,
  from: 'a',
  to: 'b',
  term: 3,
  index: 10,
  logTerm: 2,
  entries: [],
  commit: 9,
  reject: false,
  rejectHint: 0,
  context: new Uint8Array(0),
  ...over,
});

test('raft messages round-trip; encodedRaftMessageSize is exact', (t) => {
  fc.assert(
    fc.property(raftMessageArb, (m) => {
      const b = encodeRaftMessage(m);
      t.is(b[0], WireKind.RaftMessage);
      t.is(b.length, encodedRaftMessageSize(m));
      t.deepEqual(decodeRaftMessage(b), { ok: true, msg: m });
    }),
    { numRuns: 3000 },
  );
});

test('conformance: raft message bytes equal protobufjs reflection of raft.proto, each side decodes the other', (t) => {
  fc.assert(
    fc.property(raftMessageArb, (m) => {
      const mine = encodeRaftMessage(m);
      const ref = reflectEncodeRaftMessage(m);
      t.deepEqual(Uint8Array.from(mine), ref);
      t.deepEqual(reflectDecodeRaftMessage(mine), m);
      t.deepEqual(decodeRaftMessage(ref), { ok: true, msg: m });
    }),
    { numRuns: 1000 },
  );
});

test('entries, hard state, conf state and conf change round-trip and conform', (t) => {
  fc.assert(
    fc.property(entryArb, hardStateArb, confStateArb, confChangeArb, (e, h, cs, cc) => {
      const eb = encodeEntry(e);
      t.is(eb.length, encodedEntrySize(e));
      t.deepEqual(decodeEntry(eb), { ok: true, value: e });
      t.deepEqual(Uint8Array.from(eb), reflectEncode(RaftEntryType, e));
      t.deepEqual(reflectDecode(RaftEntryType, eb), e);

      const hb = encodeHardState(h);
      t.deepEqual(decodeHardState(hb), { ok: true, value: h });
      t.deepEqual(Uint8Array.from(hb), reflectEncode(RaftHardStateType, h));
      t.deepEqual(reflectDecode(RaftHardStateType, hb), h);

      const csb = encodeConfState(cs);
      t.deepEqual(decodeConfState(csb), { ok: true, value: cs });
      t.deepEqual(Uint8Array.from(csb), reflectEncode(RaftConfStateType, cs));
      t.deepEqual(reflectDecode(RaftConfStateType, csb), cs);

      const ccb = encodeConfChange(cc);
      t.deepEqual(decodeConfChange(ccb), { ok: true, value: cc });
      t.deepEqual(Uint8Array.from(ccb), reflectEncode(RaftConfChangeType, cc));
      t.deepEqual(reflectDecode(RaftConfChangeType, ccb), cc);
    }),
    { numRuns: 1500 },
  );
});

test('entryInMessageBytes is exactly what each entry adds to a message', (t) => {
  fc.assert(
    fc.property(raftMessageArb, (m) => {
      const without = encodedRaftMessageSize({ ...m, entries: [] });
      t.is(encodedRaftMessageSize(m), without + m.entries.reduce((s, e) => s + entryInMessageBytes(e), 0));
    }),
    { numRuns: 500 },
  );
});

test('a large append (1000 entries of 1 KiB) round-trips within the default frame limit', (t) => {
  const entries = Array.from({ length: 1000 }, (_, i) => ({ term: 7, index: 1000 + i, type: EntryType.Normal, data: new Uint8Array(1024).fill(i & 255) }));
  const m = baseMsg({ entries });
  const b = encodeRaftMessage(m);
  t.true(b.length < defaultRaftDecodeLimits.frameMaxBytes);
  t.deepEqual(decodeRaftMessage(b), { ok: true, msg: m });
});

test('limits: every bound refuses input just past it and admits input at it', (t) => {
  const fail = (r: RaftMessageDecodeResult | { ok: boolean; error?: ShoalError }) => expectError(t, r, ErrorCode.DecodeFailed, DecodeDropReason.LimitExceeded);
  const e = { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(100) };
  const m = baseMsg({
    from: 'x'.repeat(20),
    entries: [e, e, e],
    context: new Uint8Array(30),
    snapshot: { meta: { index: 5, term: 1, conf: { voters: ['a', 'b'], learners: ['c'] } }, offset: 0, data: new Uint8Array(50), done: true },
  });
  const b = encodeRaftMessage(m);
  const exact = { entriesPerMessageMax: 3, entryBytesMax: 100, nodeIdBytesMax: 20, contextBytesMax: 30, snapshotChunkBytesMax: 50, confNodesMax: 3, frameMaxBytes: b.length };
  t.deepEqual(decodeRaftMessage(b, exact), { ok: true, msg: m });
  fail(decodeRaftMessage(b, { ...exact, entriesPerMessageMax: 2 }));
  fail(decodeRaftMessage(b, { ...exact, entryBytesMax: 99 }));
  fail(decodeRaftMessage(b, { ...exact, nodeIdBytesMax: 19 }));
  fail(decodeRaftMessage(b, { ...exact, contextBytesMax: 29 }));
  fail(decodeRaftMessage(b, { ...exact, snapshotChunkBytesMax: 49 }));
  fail(decodeRaftMessage(b, { ...exact, confNodesMax: 2 }));
  expectError(t, decodeRaftMessage(b, { ...exact, frameMaxBytes: b.length - 1 }), ErrorCode.FrameTooLarge, DecodeDropReason.TooLarge);
  fail(decodeEntry(encodeEntry(e), { entryBytesMax: 99 }));
  fail(decodeConfState(encodeConfState({ voters: ['a', 'b'], learners: ['c'] }), { confNodesMax: 2 }));
  fail(decodeHardState(encodeHardState({ term: 1, vote: 'abc', commit: 0 }), { nodeIdBytesMax: 2 }));
  fail(decodeConfChange(encodeConfChange({ type: 1, node: 'abc' }), { nodeIdBytesMax: 2 }));
});

test('bad values: unknown or missing types and integers above 2^53 are refused', (t) => {
  const bad = (r: { ok: boolean; error?: ShoalError }) => expectError(t, r, ErrorCode.DecodeFailed, DecodeDropReason.BadValue);
  const frame = (o: object) => Uint8Array.from([WireKind.RaftMessage, ...reflectEncode(RaftMessageType, o)]);
  bad(decodeRaftMessage(frame({ type: 16, from: 'a' })));
  bad(decodeRaftMessage(frame({ from: 'a', term: 3 }))); // type 0 (absent)
  bad(decodeRaftMessage(frame({ type: 5, term: '9007199254740992' })));
  expectError(t, decodeRaftMessage(frame({ type: 5, term: '9007199254740991' })), ErrorCode.DecodeFailed, DecodeDropReason.OutOfRange);
  t.true(decodeRaftMessage(frame({ type: 5, term: wireUintMax })).ok);
  expectError(t, decodeRaftMessage(frame({ type: 5, term: wireUintMax + 1 })), ErrorCode.DecodeFailed, DecodeDropReason.OutOfRange);
  for (const [what, buf] of [
    ['entry term', reflectEncode(RaftEntryType, { term: wireUintMax + 1 })],
    ['entry index', reflectEncode(RaftEntryType, { index: wireUintMax + 1 })],
  ] as const) {
    const r = decodeEntry(buf);
    t.false(r.ok, what);
    if (!r.ok) t.is(r.error.details?.reason, DecodeDropReason.OutOfRange, what);
  }
  const hs = decodeHardState(reflectEncode(RaftHardStateType, { term: wireUintMax + 1 }));
  t.false(hs.ok);
  for (const chunk of [{ offset: wireUintMax + 1 }, { meta: { index: wireUintMax + 1 } }, { meta: { term: wireUintMax + 1 } }]) {
    expectError(t, decodeRaftMessage(frame({ type: 9, from: 'a', snapshot: chunk })), ErrorCode.DecodeFailed, DecodeDropReason.OutOfRange);
  }
  const app: Message = { type: MessageType.App, from: 'a', to: 'b', term: wireUintMax + 1, index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array() };
  t.throws(() => encodeRaftMessage(app), { code: 'ERR_ASSERTION' });
  bad(decodeEntry(reflectEncode(RaftEntryType, { type: 2 })));
  bad(decodeConfChange(reflectEncode(RaftConfChangeType, { type: 3, node: 'x' })));
  expectError(t, decodeRaftMessage(new Uint8Array(0)), ErrorCode.DecodeFailed, DecodeDropReason.BadKind);
  expectError(t, decodeRaftMessage(Uint8Array.of(WireKind.GossipFrame, 0x08, 0x01)), ErrorCode.DecodeFailed, DecodeDropReason.BadKind);
});

test('decode results count into DecodeStats', (t) => {
  const stats = newDecodeStats();
  countDecode(stats, decodeRaftMessage(encodeRaftMessage(baseMsg())));
  countDecode(stats, decodeEntry(encodeEntry({ term: 1, index: 1, type: 0, data: new Uint8Array(0) })));
  countDecode(stats, decodeRaftMessage(Uint8Array.of(WireKind.RaftMessage, 0x08)));
  t.is(stats.decoded, 2);
  t.is(stats.messages, 2);
  t.is(stats.droppedByReason[DecodeDropReason.Truncated], 1);
});

test('empty bare encodings decode to defaults (proto3)', (t) => {
  t.deepEqual(decodeHardState(new Uint8Array(0)), { ok: true, value: { term: 0, vote: '', commit: 0 } });
  t.deepEqual(decodeConfState(new Uint8Array(0)), { ok: true, value: { voters: [], learners: [] } });
  t.deepEqual(encodeHardState({ term: 0, vote: '', commit: 0 }).length, 0);
});

test('raft.proto keeps one-byte tags, and its enums equal the TypeScript constants', (t) => {
  const ids: number[] = [];
  for (const name of ['Entry', 'HardState', 'ConfState', 'ConfChange', 'SnapshotMeta', 'SnapshotChunk', 'Message']) {
    ids.push(...raftRoot.lookupType(`shoal.raft.${name}`).fieldsArray.map((f) => f.id));
  }
  t.true(ids.every((id) => id >= 1 && id <= 15));
  const values = (e: string) => Object.values(raftRoot.lookupEnum(`shoal.raft.${e}`).values);
  t.deepEqual(values('MessageType').slice(1), Object.values(MessageType));
  t.deepEqual(values('EntryType'), Object.values(EntryType));
});

test('raft decoders accept a view at an offset of a Buffer and do not alias it', (t) => {
  const m = baseMsg({ entries: [{ term: 1, index: 11, type: EntryType.Normal, data: Uint8Array.of(1, 2, 3) }], context: Uint8Array.of(5) });
  const b = encodeRaftMessage(m);
  const host = Buffer.alloc(b.length + 5, 0xee);
  host.set(b, 3);
  const r = decodeRaftMessage(host.subarray(3, 3 + b.length));
  host.fill(0);
  t.deepEqual(r, { ok: true, msg: m });
});
