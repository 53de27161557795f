import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { DecodeDropReason } from '../../../src/wire/limits.js';
import { WireKind } from '../../../src/wire/kind.js';
import {
  decodeConfChange,
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeRaftMessage,
  encodeConfChange,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeRaftMessage,
  type RaftDecodeLimits,
  type RaftDecodeResult,
  type RaftMessageDecodeResult,
} from '../../../src/wire/raft-codec.js';
import { utf8Length } from '../../../src/wire/pb-write.js';
import type { Message } from '../../../src/raft/types.js';
import { confChangeArb, confStateArb, entryArb, hardStateArb, raftMessageArb } from '../../unit/wire/raft-arbitraries.js';
import { protoBodyArb } from './proto-soup.js';

/** Raft decoders against hostile input: they return ok:false or a valid decode, and never throw. */

const reasons = new Set<string>(Object.values(DecodeDropReason));
const codes = new Set<string>([ErrorCode.DecodeFailed, ErrorCode.FrameTooLarge]);

function checkError(t: ExecutionContext, error: ShoalError): void {
  t.true(error instanceof ShoalError);
  t.true(codes.has(error.code), error.code);
  t.true(reasons.has(String(error.details?.reason)), String(error.details?.reason));
}

/** Well formed; a successful decode re-encodes and decodes to the same message. */
function checkMessage(t: ExecutionContext, r: RaftMessageDecodeResult): void {
  if (!r.ok) return checkError(t, r.error);
  t.deepEqual(decodeRaftMessage(encodeRaftMessage(r.msg)), r);
}

function checkBare<T>(t: ExecutionContext, r: RaftDecodeResult<T>, encode: (v: T) => Uint8Array, decode: (b: Uint8Array) => RaftDecodeResult<T>): void {
  if (!r.ok) return checkError(t, r.error);
  t.deepEqual(decode(encode(r.value)), r);
}

function checkAllDecoders(t: ExecutionContext, buf: Uint8Array): void {
  checkMessage(t, decodeRaftMessage(buf));
  checkBare(t, decodeEntry(buf), encodeEntry, decodeEntry);
  checkBare(t, decodeHardState(buf), encodeHardState, decodeHardState);
  checkBare(t, decodeConfState(buf), encodeConfState, decodeConfState);
  checkBare(t, decodeConfChange(buf), encodeConfChange, decodeConfChange);
}

test('every prefix of a valid raft message fails cleanly or decodes to a valid message', (t) => {
  fc.assert(
    fc.property(raftMessageArb, (m) => {
      const b = encodeRaftMessage(m);
      for (let len = 0; len <= b.length; len++) checkMessage(t, decodeRaftMessage(b.subarray(0, len)));
      t.deepEqual(decodeRaftMessage(b), { ok: true, msg: m });
    }),
    { numRuns: 150 },
  );
});

test('every prefix of bare encodings fails cleanly or decodes validly', (t) => {
  fc.assert(
    fc.property(entryArb, hardStateArb, confStateArb, confChangeArb, (e, h, cs, cc) => {
      for (const b of [encodeEntry(e), encodeHardState(h), encodeConfState(cs), encodeConfChange(cc)]) {
        for (let len = 0; len <= b.length; len++) checkAllDecoders(t, b.subarray(0, len));
      }
    }),
    { numRuns: 150 },
  );
});

test('random bytes never throw', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(WireKind.RaftMessage, 0, 0x08, 255), fc.uint8Array({ maxLength: 300 }), (k, rest) => {
      checkAllDecoders(t, Uint8Array.from([k, ...rest]));
    }),
    { numRuns: 4000 },
  );
});

test('bit flips of valid raft messages never throw', (t) => {
  fc.assert(
    fc.property(raftMessageArb, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (m, flips) => {
      const b = Uint8Array.from(encodeRaftMessage(m));
      for (const f of flips) b[f % b.length] ^= 1 << (f % 8);
      checkAllDecoders(t, b);
    }),
    { numRuns: 2000 },
  );
});

test('structurally valid protobuf with random fields never throws', (t) => {
  fc.assert(
    fc.property(protoBodyArb(13), (body) => {
      checkAllDecoders(t, Uint8Array.from([WireKind.RaftMessage, ...body]));
      checkAllDecoders(t, Uint8Array.from(body));
    }),
    { numRuns: 3000 },
  );
});

const limitsArb: fc.Arbitrary<RaftDecodeLimits> = fc.record({
  frameMaxBytes: fc.integer({ min: 10, max: 1500 }),
  entriesPerMessageMax: fc.integer({ min: 0, max: 6 }),
  entryBytesMax: fc.integer({ min: 0, max: 40 }),
  nodeIdBytesMax: fc.integer({ min: 0, max: 30 }),
  contextBytesMax: fc.integer({ min: 0, max: 40 }),
  snapshotChunkBytesMax: fc.integer({ min: 0, max: 40 }),
  confNodesMax: fc.integer({ min: 0, max: 8 }),
});

/** The reference: is a message within the limits (frame size aside)? */
function within(m: Message, lim: RaftDecodeLimits): boolean {
  const id = (s: string) => utf8Length(s) <= lim.nodeIdBytesMax;
  const s = m.snapshot;
  return (
    id(m.from) &&
    id(m.to) &&
    m.entries.length <= lim.entriesPerMessageMax &&
    m.entries.every((e) => e.data.length <= lim.entryBytesMax) &&
    m.context.length <= lim.contextBytesMax &&
    (s === undefined ||
      (s.data.length <= lim.snapshotChunkBytesMax &&
        s.meta.conf.voters.length + s.meta.conf.learners.length <= lim.confNodesMax &&
        s.meta.conf.voters.every(id) &&
        s.meta.conf.learners.every(id)))
  );
}

test('with random limits, a raft message decodes exactly when it is within them', (t) => {
  fc.assert(
    fc.property(raftMessageArb, limitsArb, (m, lim) => {
      const b = encodeRaftMessage(m);
      const r = decodeRaftMessage(b, lim);
      t.is(r.ok, b.length <= lim.frameMaxBytes && within(m, lim));
      if (r.ok) t.deepEqual(r.msg, m);
      else if (b.length > lim.frameMaxBytes) t.is(r.error.code, ErrorCode.FrameTooLarge);
      else t.is(r.error.details?.reason, DecodeDropReason.LimitExceeded);
    }),
    { numRuns: 3000 },
  );
});
