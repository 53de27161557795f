/**
 * The handshake codec (handshake-codec.ts): what a stranger sends before it
 * is anyone. Decoding never throws, whatever the bytes; it is bounded in
 * total and per field; a handshake without a name or node id is refused;
 * fields a later version adds are skipped.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  decodeHandshake,
  encodeHandshake,
  handshakeBytesMax,
  handshakeMagic,
  identityFieldBytesMax,
  protocolVersion,
  type Handshake,
  type HandshakeDecodeResult,
} from '../../../src/cluster/handshake-codec.js';
import { RefuseReason } from '../../../src/cluster/kinds.js';
import { ErrorCode } from '../../../src/util/errors.js';

/** Any Unicode text of at most `bytesMax` UTF-8 bytes (at most 4 bytes a code point). */
function text(bytesMax: number, minLength = 0) {
  return fc.string({ unit: 'binary', minLength, maxLength: Math.floor(bytesMax / 4) });
}

const handshakeArb: fc.Arbitrary<Handshake> = fc.record({
  version: fc.nat(),
  identity: fc.record({
    clusterLabel: text(identityFieldBytesMax),
    clusterId: text(identityFieldBytesMax),
    name: text(identityFieldBytesMax, 1),
    nodeId: text(identityFieldBytesMax, 1),
    addr: text(identityFieldBytesMax),
  }),
  refuseReason: fc.constantFrom('' as const, ...Object.values(RefuseReason)),
  refuseMessage: fc.string({ unit: 'binary', maxLength: 200 }),
  nonce: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 16, maxLength: 16 })),
});

const sample: Handshake = {
  version: protocolVersion,
  identity: { clusterLabel: 'prod', clusterId: 'c-1', name: 'n1', nodeId: 'id-1', addr: '10.0.0.1:7946' },
  refuseReason: '',
  refuseMessage: '',
  nonce: new Uint8Array(0),
};

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

function lenField(field: number, body: Uint8Array | number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(body.length), ...body];
}

function failed(r: HandshakeDecodeResult): r is { ok: false; error: import('../../../src/util/errors.js').ShoalError } {
  return !r.ok;
}

test('every handshake round-trips through encode and decode', (t) => {
  fc.assert(
    fc.property(handshakeArb, (h) => {
      const body = encodeHandshake(h);
      t.deepEqual(Array.from(body.subarray(0, 4)), Array.from(handshakeMagic));
      t.true(body.length <= handshakeBytesMax);
      t.deepEqual(decodeHandshake(body), { ok: true, handshake: h });
    }),
    { numRuns: 2000 },
  );
});

test('the encoder bounds a refusal message so that the decoder accepts it, whatever its characters', (t) => {
  // A refusal quotes the peer's fields: any text may land in it. The decoder takes at most 1 KiB of
  // message; an encoder that cut by UTF-16 units (512) could emit 1.5 KiB of 3-byte characters or
  // split a surrogate pair, and the refused peer would read "bad handshake" instead of the reason.
  const cases = ['€'.repeat(600), 'a'.repeat(511) + '😀', '😀'.repeat(400)];
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(...cases), fc.string({ unit: 'binary', maxLength: 2000 })), (message) => {
      const r = decodeHandshake(encodeHandshake({ ...sample, refuseReason: RefuseReason.ClusterLabel, refuseMessage: message }));
      if (!r.ok) {
        t.fail(`message of ${message.length} units did not decode: ${r.error.message}`);
        return;
      }
      t.is(r.handshake.refuseReason, RefuseReason.ClusterLabel);
      t.true(message.startsWith(r.handshake.refuseMessage), 'the decoded message is a prefix of the sent one');
      t.true(r.handshake.refuseMessage.length > 0 || message.length === 0);
    }),
    { numRuns: 500 },
  );
});

test('every truncation of a handshake decodes to a result, never a throw, and never to a handshake without name or node id', (t) => {
  fc.assert(
    fc.property(handshakeArb, fc.nat(), (h, cut) => {
      const body = encodeHandshake(h);
      const prefix = body.subarray(0, cut % body.length);
      const r = decodeHandshake(prefix);
      if (r.ok) {
        t.not(r.handshake.identity.name, '');
        t.not(r.handshake.identity.nodeId, '');
      } else t.is(r.error.code, ErrorCode.DecodeFailed);
    }),
    { numRuns: 2000 },
  );
});

test('mutated handshakes never make the decoder throw', (t) => {
  fc.assert(
    fc.property(handshakeArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (h, edits) => {
      const body = Buffer.from(encodeHandshake(h));
      for (const [at, value] of edits) body[at % body.length] = value;
      const r = decodeHandshake(body);
      t.is(typeof r.ok, 'boolean');
      if (failed(r)) t.is(r.error.code, ErrorCode.DecodeFailed);
    }),
    { numRuns: 3000 },
  );
});

test('random bytes, with or without the magic, never make the decoder throw', (t) => {
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 600 }), (withMagic, tail) => {
      const input = withMagic ? concat(handshakeMagic, tail) : tail;
      const r = decodeHandshake(input);
      if (failed(r)) t.is(r.error.code, ErrorCode.DecodeFailed);
      else {
        t.not(r.handshake.identity.name, '');
        t.not(r.handshake.identity.nodeId, '');
      }
    }),
    { numRuns: 5000 },
  );
  t.false(decodeHandshake(new Uint8Array(0)).ok, 'empty input');
  t.false(decodeHandshake(concat([0x53, 0x48, 0x4c, 0x02], encodeHandshake(sample).subarray(4))).ok, 'another magic version');
});

test('a handshake over handshakeBytesMax is refused, even when well formed', (t) => {
  const body = encodeHandshake(sample);
  // Pad with one unknown bytes field (field 15) so the whole is one byte too many.
  const padBytes = handshakeBytesMax + 1 - body.length - 3;
  const padded = concat(body, lenField(15, new Uint8Array(padBytes)));
  t.is(padded.length, handshakeBytesMax + 1);
  const r = decodeHandshake(padded);
  t.false(r.ok);
  if (failed(r)) t.is(r.error.details?.reason, 'limit-exceeded');
  // The same padding one byte shorter is accepted: the limit is exact.
  t.true(decodeHandshake(concat(body, lenField(15, new Uint8Array(padBytes - 1)))).ok);
});

test('an identity field over identityFieldBytesMax is refused', (t) => {
  const at = encodeHandshake({ ...sample, identity: { ...sample.identity, name: 'n'.repeat(identityFieldBytesMax) } });
  t.true(decodeHandshake(at).ok, 'exactly the limit');
  for (const field of ['clusterLabel', 'clusterId', 'name', 'nodeId', 'addr'] as const) {
    const over = encodeHandshake({ ...sample, identity: { ...sample.identity, [field]: 'x'.repeat(identityFieldBytesMax + 1) } });
    const r = decodeHandshake(over);
    t.false(r.ok, field);
    if (failed(r)) t.is(r.error.details?.reason, 'limit-exceeded', field);
  }
});

test('a handshake without a name or without a node id is refused', (t) => {
  for (const identity of [
    { ...sample.identity, name: '' },
    { ...sample.identity, nodeId: '' },
    { ...sample.identity, name: '', nodeId: '' },
  ]) {
    const r = decodeHandshake(encodeHandshake({ ...sample, identity }));
    t.false(r.ok);
    if (failed(r)) t.regex(r.error.message, /name or node id/);
  }
  // Only the magic: nothing at all.
  t.false(decodeHandshake(handshakeMagic).ok);
});

test('unknown fields of every wire type are skipped', (t) => {
  const body = encodeHandshake(sample);
  const unknown = concat(
    [...varint((9 << 3) | 0), ...varint(123456789)], // varint
    [...varint((10 << 3) | 1), 1, 2, 3, 4, 5, 6, 7, 8], // fixed64
    lenField(11, Buffer.from('a later version')), // length-delimited
    [...varint((12 << 3) | 5), 1, 2, 3, 4], // fixed32
    lenField(200, [0xff, 0xfe]), // a two-byte tag
  );
  t.deepEqual(decodeHandshake(concat(body, unknown)), { ok: true, handshake: sample });
  // Unknown fields between known ones too.
  t.deepEqual(decodeHandshake(concat(handshakeMagic, unknown, body.subarray(4))), { ok: true, handshake: sample });
  // A group (wire type 3) is not skippable: refused, not thrown.
  t.false(decodeHandshake(concat(body, [(13 << 3) | 3])).ok);
});

test('an unknown refuse reason is read as bad-hello, not passed through', (t) => {
  const r = decodeHandshake(concat(encodeHandshake(sample), lenField(7, Buffer.from('made-up'))));
  t.true(r.ok);
  if (r.ok) t.is(r.handshake.refuseReason, RefuseReason.BadHello);
});
