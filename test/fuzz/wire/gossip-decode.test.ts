import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { GossipMessage } from '../../../src/gossip/messages.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import {
  DecodeDropReason,
  PACKET_MAX_BYTES,
  WireKind,
  decodeFrame,
  decodePacket,
  encodeFrame,
  encodePacket,
  type DecodeLimits,
  type DecodeResult,
} from '../../../src/wire/gossip-codec.js';
import { utf8Length } from '../../../src/wire/pb-write.js';
import { gossipMessageArb } from '../../unit/wire/gossip-arbitraries.js';
import { protoBodyArb, varint } from './proto-soup.js';

/**
 * Decoders against hostile input: prefixes, random bytes, bit flips,
 * structurally valid protobuf with random fields, and limits. A decoder must
 * return ok:false or a valid decode, and never throw.
 */

const reasons = new Set<string>(Object.values(DecodeDropReason));
const codes = new Set<string>([ErrorCode.DecodeFailed, ErrorCode.PacketTooLarge, ErrorCode.FrameTooLarge]);
const big = { packetMaxBytes: Number.MAX_SAFE_INTEGER };

/** A result is well formed; a successful decode re-encodes to the same messages. */
function checkResult(t: ExecutionContext, r: DecodeResult): void {
  if (!r.ok) {
    t.true(r.error instanceof ShoalError);
    t.true(codes.has(r.error.code), r.error.code);
    t.true(reasons.has(String(r.error.details?.reason)), String(r.error.details?.reason));
    return;
  }
  if (r.msgs.length === 0) return;
  const again = decodePacket(encodePacket(r.msgs), big);
  t.deepEqual(again, { ok: true, msgs: r.msgs });
}

const packetsArb = fc.array(gossipMessageArb({ pushPull: true }), { minLength: 1, maxLength: 6 });

test('every prefix of a valid packet decodes to a prefix of its messages or fails cleanly', (t) => {
  fc.assert(
    fc.property(packetsArb, (msgs) => {
      const p = encodePacket(msgs);
      for (let len = 0; len <= p.length; len++) {
        const r = decodePacket(p.subarray(0, len), big);
        checkResult(t, r);
        if (r.ok) t.deepEqual(r.msgs, msgs.slice(0, r.msgs.length));
        if (len === p.length) t.deepEqual(r, { ok: true, msgs });
      }
    }),
    { numRuns: 200 },
  );
});

test('every prefix of a valid frame fails cleanly, except the empty envelope and the whole frame', (t) => {
  fc.assert(
    fc.property(gossipMessageArb({ pushPull: true }), (m) => {
      const f = encodeFrame(m);
      for (let len = 0; len <= f.length; len++) {
        const r = decodeFrame(f.subarray(0, len));
        checkResult(t, r);
        if (len === f.length) t.deepEqual(r, { ok: true, msgs: [m] });
        else if (len === 1) t.deepEqual(r, { ok: true, msgs: [] });
        else t.false(r.ok, `prefix ${len}/${f.length} decoded`);
      }
    }),
    { numRuns: 200 },
  );
});

test('random bytes never throw', (t) => {
  const kind = fc.constantFrom(WireKind.GossipPacket, WireKind.GossipFrame, 0, 255);
  fc.assert(
    fc.property(kind, fc.uint8Array({ maxLength: 300 }), (k, rest) => {
      const buf = Uint8Array.from([k, ...rest]);
      checkResult(t, decodePacket(buf));
      checkResult(t, decodeFrame(buf));
    }),
    { numRuns: 5000 },
  );
});

test('oversized input is refused by size', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: PACKET_MAX_BYTES + 1, max: 4 * PACKET_MAX_BYTES }), (n) => {
      const buf = new Uint8Array(n).fill(WireKind.GossipPacket);
      const r = decodePacket(buf);
      t.false(r.ok);
      if (!r.ok) t.is(r.error.code, ErrorCode.PacketTooLarge);
      const f = decodeFrame(buf, { frameMaxBytes: n - 1 });
      t.false(f.ok);
      if (!f.ok) t.is(f.error.code, ErrorCode.FrameTooLarge);
    }),
    { numRuns: 200 },
  );
});

test('bit flips of valid packets and frames never throw', (t) => {
  fc.assert(
    fc.property(packetsArb, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (msgs, flips) => {
      for (const buf of [encodePacket(msgs), encodeFrame(msgs[0])]) {
        const copy = Uint8Array.from(buf);
        for (const f of flips) copy[f % copy.length] ^= 1 << (f % 8);
        checkResult(t, decodePacket(copy, big));
        checkResult(t, decodeFrame(copy));
      }
    }),
    { numRuns: 2000 },
  );
});

// ---- structurally valid protobuf with random fields (deep fuzzing of every message decoder)

test('structurally valid protobuf with random fields never throws and decodes to valid messages', (t) => {
  const gossipArb = fc.tuple(fc.integer({ min: 1, max: 12 }), protoBodyArb(8)).map(([type, body]) => [(type << 3) | 2, ...varint(body.length), ...body]);
  fc.assert(
    fc.property(fc.array(gossipArb, { minLength: 1, maxLength: 4 }), (gossips) => {
      const packet = [WireKind.GossipPacket, ...gossips.flatMap((g) => [0x0a, ...varint(g.length), ...g])];
      checkResult(t, decodePacket(Uint8Array.from(packet), big));
      checkResult(t, decodeFrame(Uint8Array.from([WireKind.GossipFrame, ...gossips[0]])));
    }),
    { numRuns: 4000 },
  );
});

// ---- limits: a decode succeeds exactly when the input is within every limit

const limitsArb: fc.Arbitrary<DecodeLimits> = fc.record({
  packetMaxBytes: fc.integer({ min: 20, max: 3000 }),
  frameMaxBytes: fc.integer({ min: 20, max: 3000 }),
  messagesPerPacketMax: fc.integer({ min: 0, max: 6 }),
  nodeStatesMax: fc.integer({ min: 0, max: 6 }),
  stringBytesMax: fc.integer({ min: 0, max: 30 }),
  tagsMax: fc.integer({ min: 0, max: 5 }),
  tagsBytesMax: fc.integer({ min: 0, max: 60 }),
  payloadBytesMax: fc.integer({ min: 0, max: 48 }),
});

function tagsWithin(tags: Readonly<Record<string, string>>, lim: DecodeLimits): boolean {
  const keys = Object.keys(tags);
  return keys.length <= lim.tagsMax && keys.reduce((s, k) => s + utf8Length(k) + utf8Length(tags[k]), 0) <= lim.tagsBytesMax;
}

/** The reference: is one message within the limits (sizes of the whole buffer aside)? */
function messageWithin(m: GossipMessage, lim: DecodeLimits): boolean {
  const str = (...s: string[]) => s.every((x) => utf8Length(x) <= lim.stringBytesMax);
  switch (m.type) {
    case 1:
      return str(m.target, m.sourceName, m.sourceAddr);
    case 2:
      return str(m.target, m.targetAddr, m.sourceName, m.sourceAddr);
    case 3:
      return m.payload === undefined || m.payload.length <= lim.payloadBytesMax;
    case 4:
      return true;
    case 5:
      return str(m.name, m.addr) && tagsWithin(m.tags, lim);
    case 6:
    case 7:
      return str(m.name, m.from);
    case 8:
      return str(m.name);
    case 9:
      return str(m.sourceName, m.sourceAddr) && m.states.length <= lim.nodeStatesMax && m.states.every((s) => str(s.name, s.addr) && tagsWithin(s.tags, lim));
    case 10:
      return str(m.name) && m.payload.length <= lim.payloadBytesMax;
  }
}

test('with random limits, decode succeeds exactly when the input is within them', (t) => {
  fc.assert(
    fc.property(packetsArb, limitsArb, (msgs, lim) => {
      const p = encodePacket(msgs);
      const within = p.length <= lim.packetMaxBytes && msgs.length <= lim.messagesPerPacketMax && msgs.every((m) => messageWithin(m, lim));
      const r = decodePacket(p, lim);
      checkResult(t, r);
      t.is(r.ok, within);
      if (r.ok) t.deepEqual(r.msgs, msgs);
      else if (p.length > lim.packetMaxBytes) t.is(r.error.code, ErrorCode.PacketTooLarge);
      else t.is(r.error.details?.reason, DecodeDropReason.LimitExceeded);

      const f = encodeFrame(msgs[0]);
      const rf = decodeFrame(f, lim);
      t.is(rf.ok, f.length <= lim.frameMaxBytes && messageWithin(msgs[0], lim));
    }),
    { numRuns: 3000 },
  );
});
