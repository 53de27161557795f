import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { MemberState, MessageType, type GossipMessage, type PushPullMsg } from '../../../src/gossip/messages.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { wireUintMax } from '../../../src/wire/uint.js';
import {
  DecodeDropReason,
  PACKET_MAX_BYTES,
  WireKind,
  compoundOverheadBytes,
  countDecode,
  decodeFrame,
  decodePacket,
  defaultDecodeLimits,
  encodeFrame,
  encodePacket,
  encodedSize,
  fitsInPacket,
  newDecodeStats,
  packMessages,
  peekWireKind,
  type DecodeResult,
} from '../../../src/wire/gossip-codec.js';
import { TransportLimits } from '../../../src/transport/transport.js';
import { bigPushPull, gossipMessageArb } from './gossip-arbitraries.js';
import { gossipRoot, reflectDecodeFrame, reflectDecodePacket, reflectEncodeFrame, reflectEncodePacket } from './gossip-reflection.js';

const noPacketLimit = { packetMaxBytes: Number.MAX_SAFE_INTEGER };

function expectError(t: ExecutionContext, r: DecodeResult, code: ErrorCode, reason: string): void {
  if (r.ok) {
    t.fail(`expected ${code}/${reason}, decoded ${r.msgs.length} messages`);
    return;
  }
  t.true(r.error instanceof ShoalError);
  t.is(r.error.code, code);
  t.is(r.error.details?.reason, reason);
}

test('every message type round-trips through a packet, and encodedSize is exact', (t) => {
  fc.assert(
    fc.property(gossipMessageArb({ pushPull: true }), (m) => {
      const p = encodePacket([m]);
      t.is(p[0], WireKind.GossipPacket);
      t.is(p.length, compoundOverheadBytes + encodedSize(m));
      const r = decodePacket(p, noPacketLimit);
      t.deepEqual(r, { ok: true, msgs: [m] });
    }),
    { numRuns: 3000 },
  );
});

test('every message type round-trips through a frame', (t) => {
  fc.assert(
    fc.property(gossipMessageArb({ pushPull: true }), (m) => {
      const f = encodeFrame(m);
      t.is(f[0], WireKind.GossipFrame);
      t.deepEqual(decodeFrame(f), { ok: true, msgs: [m] });
    }),
    { numRuns: 1500 },
  );
});

test('compound packets round-trip, size = overhead + sum of encodedSize', (t) => {
  fc.assert(
    fc.property(fc.array(gossipMessageArb({ pushPull: true }), { minLength: 1, maxLength: 20 }), (msgs) => {
      const p = encodePacket(msgs);
      t.is(p.length, compoundOverheadBytes + msgs.reduce((sum, m) => sum + encodedSize(m), 0));
      t.deepEqual(decodePacket(p, noPacketLimit), { ok: true, msgs });
    }),
    { numRuns: 500 },
  );
});

test('conformance: bytes equal protobufjs reflection of gossip.proto, each side decodes the other', (t) => {
  fc.assert(
    fc.property(fc.array(gossipMessageArb({ pushPull: true, withProtoKeys: false }), { minLength: 1, maxLength: 5 }), (msgs) => {
      const mine = encodePacket(msgs);
      const ref = reflectEncodePacket(msgs);
      t.deepEqual(Uint8Array.from(mine), ref);
      t.deepEqual(reflectDecodePacket(mine), msgs);
      t.deepEqual(decodePacket(ref, noPacketLimit), { ok: true, msgs });
      const frame = encodeFrame(msgs[0]);
      t.deepEqual(Uint8Array.from(frame), reflectEncodeFrame(msgs[0]));
      t.deepEqual(reflectDecodeFrame(frame), msgs[0]);
    }),
    { numRuns: 1000 },
  );
});

test('tag keys such as __proto__ stay own data properties', (t) => {
  const tags = Object.fromEntries([
    ['__proto__', 'x'],
    ['constructor', 'y'],
  ]);
  const m: GossipMessage = { type: MessageType.Alive, incarnation: 1, name: 'a', addr: 'b:1', tags };
  const r = decodePacket(encodePacket([m]));
  if (!r.ok) return t.fail(r.error.message);
  const got = (r.msgs[0] as { tags: Record<string, string> }).tags;
  t.is(Object.getPrototypeOf(got), Object.prototype);
  t.deepEqual(Object.keys(got), ['__proto__', 'constructor']);
  t.is(Object.getOwnPropertyDescriptor(got, '__proto__')?.value, 'x');
});

test('ack payload: absent and empty are distinct on the wire', (t) => {
  const absent: GossipMessage = { type: MessageType.Ack, seqNo: 9 };
  const empty: GossipMessage = { type: MessageType.Ack, seqNo: 9, payload: new Uint8Array(0) };
  t.not(encodePacket([absent]).length, encodePacket([empty]).length);
  t.deepEqual(decodePacket(encodePacket([absent])), { ok: true, msgs: [absent] });
  t.deepEqual(decodePacket(encodePacket([empty])), { ok: true, msgs: [empty] });
});

test('decoded payloads are copies, not views of the input buffer', (t) => {
  const m: GossipMessage = { type: MessageType.UserEvent, ltime: 1, name: 'deploy', payload: Uint8Array.of(1, 2, 3), coalesce: false };
  const p = encodePacket([m]);
  const r = decodePacket(p);
  if (!r.ok) return t.fail(r.error.message);
  p.fill(0);
  t.deepEqual((r.msgs[0] as { payload: Uint8Array }).payload, Uint8Array.of(1, 2, 3));
});

test('packMessages: every packet <= 1400 bytes, nothing lost or reordered, greedy', (t) => {
  fc.assert(
    fc.property(fc.array(gossipMessageArb({ pushPull: false }), { maxLength: 150 }), (msgs) => {
      const packets = packMessages(msgs);
      t.deepEqual(packets.flat(), msgs);
      for (let i = 0; i < packets.length; i++) {
        t.true(packets[i].length > 0);
        const bytes = encodePacket(packets[i]);
        t.true(bytes.length <= PACKET_MAX_BYTES);
        t.deepEqual(decodePacket(bytes), { ok: true, msgs: packets[i] });
        // Greedy: the next packet's first message did not fit in this one.
        if (i + 1 < packets.length) t.true(bytes.length + encodedSize(packets[i + 1][0]) > PACKET_MAX_BYTES);
      }
    }),
    { numRuns: 300 },
  );
});

test('packMessages honours a smaller maxBytes and refuses a message that cannot fit alone', (t) => {
  const pings: GossipMessage[] = Array.from({ length: 50 }, (_, i) => ({
    type: MessageType.Ping,
    seqNo: i,
    target: `node-${i}`,
    sourceName: 'me',
    sourceAddr: '10.0.0.1:7946',
  }));
  for (const p of packMessages(pings, 200)) t.true(encodePacket(p).length <= 200);
  t.deepEqual(packMessages([]), []);
  const big: GossipMessage = { type: MessageType.UserEvent, ltime: 1, name: 'x', payload: new Uint8Array(1400), coalesce: false };
  t.false(fitsInPacket(big));
  const e = t.throws(() => packMessages([pings[0], big]));
  t.true(e instanceof ShoalError && e.code === ErrorCode.PacketTooLarge);
});

test('a push-pull of 10,000 members fits a frame and decodes with default limits', (t) => {
  const m = bigPushPull(10_000);
  const f = encodeFrame(m);
  t.true(f.length < TransportLimits.frameMaxBytes, `${f.length} bytes`);
  t.log(`push-pull of 10,000 members: ${f.length} bytes`);
  const r = decodeFrame(f);
  if (!r.ok) return t.fail(r.error.message);
  t.deepEqual(r.msgs[0], m);
});

test('limits: oversized buffers are refused by size before decoding', (t) => {
  const m: GossipMessage = { type: MessageType.UserEvent, ltime: 1, name: 'x', payload: new Uint8Array(2000), coalesce: false };
  expectError(t, decodePacket(encodePacket([m])), ErrorCode.PacketTooLarge, DecodeDropReason.TooLarge);
  expectError(t, decodeFrame(encodeFrame(m), { frameMaxBytes: 1000 }), ErrorCode.FrameTooLarge, DecodeDropReason.TooLarge);
});

test('limits: counts and lengths over their bound are refused', (t) => {
  const fail = (r: DecodeResult) => expectError(t, r, ErrorCode.DecodeFailed, DecodeDropReason.LimitExceeded);
  const nacks: GossipMessage[] = Array.from({ length: 11 }, (_, i) => ({ type: MessageType.Nack, seqNo: i }));
  t.true(decodePacket(encodePacket(nacks), { messagesPerPacketMax: 11 }).ok);
  fail(decodePacket(encodePacket(nacks), { messagesPerPacketMax: 10 }));

  const pp = bigPushPull(20);
  t.true(decodeFrame(encodeFrame(pp), { nodeStatesMax: 20 }).ok);
  fail(decodeFrame(encodeFrame(pp), { nodeStatesMax: 19 }));

  const ping: GossipMessage = { type: MessageType.Ping, seqNo: 1, target: 'x'.repeat(40), sourceName: 'a', sourceAddr: 'b' };
  t.true(decodePacket(encodePacket([ping]), { stringBytesMax: 40 }).ok);
  fail(decodePacket(encodePacket([ping]), { stringBytesMax: 39 }));

  const alive: GossipMessage = { type: MessageType.Alive, incarnation: 1, name: 'n', addr: 'a', tags: { a: '12345', b: '12345', c: '12345' } };
  t.true(decodePacket(encodePacket([alive]), { tagsMax: 3, tagsBytesMax: 18 }).ok);
  fail(decodePacket(encodePacket([alive]), { tagsMax: 2 }));
  fail(decodePacket(encodePacket([alive]), { tagsBytesMax: 17 }));

  const ev: GossipMessage = { type: MessageType.UserEvent, ltime: 1, name: 'e', payload: new Uint8Array(100), coalesce: true };
  t.true(decodePacket(encodePacket([ev]), { payloadBytesMax: 100 }).ok);
  fail(decodePacket(encodePacket([ev]), { payloadBytesMax: 99 }));
});

test('bad kind byte, empty input and a frame given to decodePacket are refused', (t) => {
  const ping: GossipMessage = { type: MessageType.Nack, seqNo: 3 };
  expectError(t, decodePacket(new Uint8Array(0)), ErrorCode.DecodeFailed, DecodeDropReason.BadKind);
  expectError(t, decodeFrame(new Uint8Array(0)), ErrorCode.DecodeFailed, DecodeDropReason.BadKind);
  expectError(t, decodePacket(encodeFrame(ping)), ErrorCode.DecodeFailed, DecodeDropReason.BadKind);
  expectError(t, decodeFrame(encodePacket([ping])), ErrorCode.DecodeFailed, DecodeDropReason.BadKind);
});

test('bad values: integers above 2^53 and unknown member states', (t) => {
  const root = gossipRoot;
  const Packet = root.lookupType('shoal.gossip.Packet');
  const encode = (obj: object) => Uint8Array.from([WireKind.GossipPacket, ...Packet.encode(Packet.fromObject(obj)).finish()]);
  const huge = encode({ msgs: [{ nack: { seqNo: '9007199254740992' } }] });
  expectError(t, decodePacket(huge), ErrorCode.DecodeFailed, DecodeDropReason.BadValue);
  const maxSafe = encode({ msgs: [{ nack: { seqNo: '9007199254740991' } }] });
  expectError(t, decodePacket(maxSafe), ErrorCode.DecodeFailed, DecodeDropReason.OutOfRange);
  const Gossip = root.lookupType('shoal.gossip.Gossip');
  const frame = Uint8Array.from([
    WireKind.GossipFrame,
    ...Gossip.encode(Gossip.fromObject({ pushPull: { states: [{ name: 'x', state: 7 }] } })).finish(),
  ]);
  expectError(t, decodeFrame(frame), ErrorCode.DecodeFailed, DecodeDropReason.BadValue);
});

test('every counter field is refused above wireUintMax (out-of-range) and accepted at it', (t) => {
  const Packet = gossipRoot.lookupType('shoal.gossip.Packet');
  const Gossip = gossipRoot.lookupType('shoal.gossip.Gossip');
  const packet = (msg: object) => Uint8Array.from([WireKind.GossipPacket, ...Packet.encode(Packet.fromObject({ msgs: [msg] })).finish()]);
  const frame = (msg: object) => Uint8Array.from([WireKind.GossipFrame, ...Gossip.encode(Gossip.fromObject(msg)).finish()]);
  const cases: [string, (n: number) => Uint8Array][] = [
    ['ping seqNo', (n) => packet({ ping: { seqNo: n } })],
    ['indirect ping seqNo', (n) => packet({ indirectPing: { seqNo: n } })],
    ['ack seqNo', (n) => packet({ ack: { seqNo: n } })],
    ['nack seqNo', (n) => packet({ nack: { seqNo: n } })],
    ['alive incarnation', (n) => packet({ alive: { incarnation: n, name: 'a' } })],
    ['suspect incarnation', (n) => packet({ suspect: { incarnation: n, name: 'a' } })],
    ['dead incarnation', (n) => packet({ dead: { incarnation: n, name: 'a' } })],
    ['leave incarnation', (n) => packet({ leave: { incarnation: n, name: 'a' } })],
    ['user event ltime', (n) => packet({ userEvent: { ltime: n, name: 'e' } })],
    ['push-pull eventLtime', (n) => frame({ pushPull: { eventLtime: n } })],
    ['push-pull state incarnation', (n) => frame({ pushPull: { states: [{ name: 'a', incarnation: n }] } })],
  ];
  for (const [what, bytes] of cases) {
    const decode = what.startsWith('push-pull') ? decodeFrame : decodePacket;
    t.true(decode(bytes(wireUintMax)).ok, what);
    expectError(t, decode(bytes(wireUintMax + 1)), ErrorCode.DecodeFailed, DecodeDropReason.OutOfRange);
    expectError(t, decode(bytes(Number.MAX_SAFE_INTEGER)), ErrorCode.DecodeFailed, DecodeDropReason.OutOfRange);
  }
  // The encoders refuse what the decoders would (a programmer error: the cores never make such a number).
  t.throws(() => encodePacket([{ type: MessageType.Nack, seqNo: wireUintMax + 1 }]), { code: 'ERR_ASSERTION' });
});

test('malformed protobuf: groups, field 0, invalid UTF-8, truncated lengths', (t) => {
  const bad = (bytes: number[], reason: string) => expectError(t, decodePacket(Uint8Array.from([WireKind.GossipPacket, ...bytes])), ErrorCode.DecodeFailed, reason);
  bad([0x0b, 0x0c], DecodeDropReason.Malformed); // start group / end group for field 1
  bad([0x00, 0x01], DecodeDropReason.Malformed); // field number 0
  // Packet.msgs -> Gossip.ping -> Ping.target = 0xff 0xfe (not UTF-8)
  bad([0x0a, 0x06, 0x0a, 0x04, 0x12, 0x02, 0xff, 0xfe], DecodeDropReason.Malformed);
  bad([0x0a, 0x05, 0x0a, 0x03], DecodeDropReason.Truncated);
  bad([0x0a, 0x80], DecodeDropReason.Truncated);
  bad([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], DecodeDropReason.Malformed); // 11-byte varint
});

test('forward compatibility: unknown fields and unknown message types from a newer schema are skipped', (t) => {
  const v2 = protobuf.parse(`
    syntax = "proto3";
    message Ping { uint64 seq_no = 1; string target = 2; string source_name = 3; string source_addr = 4; string extra = 9; repeated fixed64 more = 12; }
    message Future { string what = 1; }
    message Gossip { oneof body { Ping ping = 1; Future future = 11; } }
    message Packet { repeated Gossip msgs = 1; fixed32 trailer = 2; }
  `).root;
  const Packet = v2.lookupType('Packet');
  const body = Packet.encode(
    Packet.fromObject({
      msgs: [{ future: { what: 'x' } }, { ping: { seqNo: 7, target: 't', sourceName: 's', sourceAddr: 'a', extra: 'new', more: [1, 2] } }],
      trailer: 5,
    }),
  ).finish();
  const r = decodePacket(Uint8Array.from([WireKind.GossipPacket, ...body]));
  t.deepEqual(r, { ok: true, msgs: [{ type: MessageType.Ping, seqNo: 7, target: 't', sourceName: 's', sourceAddr: 'a' }] });
});

test('countDecode counts successes with their messages and drops by reason', (t) => {
  const stats = newDecodeStats();
  const nacks: GossipMessage[] = [
    { type: MessageType.Nack, seqNo: 1 },
    { type: MessageType.Nack, seqNo: 2 },
  ];
  countDecode(stats, decodePacket(encodePacket(nacks)));
  countDecode(stats, decodePacket(new Uint8Array(0)));
  countDecode(stats, decodePacket(new Uint8Array(PACKET_MAX_BYTES + 1)));
  countDecode(stats, decodePacket(Uint8Array.of(WireKind.GossipPacket, 0x0a, 0x09)));
  t.is(stats.decoded, 1);
  t.is(stats.messages, 2);
  t.is(stats.dropped, 3);
  t.is(stats.droppedByReason[DecodeDropReason.BadKind], 1);
  t.is(stats.droppedByReason[DecodeDropReason.TooLarge], 1);
  t.is(stats.droppedByReason[DecodeDropReason.Truncated], 1);
  t.is(stats.droppedByReason[DecodeDropReason.Malformed], 0);
});

test('default limits admit what the protocol sends', (t) => {
  t.is(defaultDecodeLimits.packetMaxBytes, 1400);
  t.is(defaultDecodeLimits.frameMaxBytes, TransportLimits.frameMaxBytes);
  t.true(defaultDecodeLimits.nodeStatesMax >= 10_000);
  // The smallest message fills a packet within messagesPerPacketMax.
  const nack: GossipMessage = { type: MessageType.Nack, seqNo: 0 };
  const full = Array.from({ length: Math.floor((PACKET_MAX_BYTES - compoundOverheadBytes) / encodedSize(nack)) }, () => nack);
  t.is(packMessages(full).length, 1);
  t.true(decodePacket(encodePacket(full)).ok);
  const s: PushPullMsg['states'][number] = { name: 'n', addr: 'a', incarnation: 0, state: MemberState.Left, tags: {} };
  t.true(decodeFrame(encodeFrame({ ...bigPushPull(0), states: [s] })).ok);
});

test('a limit given as undefined keeps its default', (t) => {
  const big: GossipMessage = { type: MessageType.UserEvent, ltime: 1, name: 'x', payload: new Uint8Array(2000), coalesce: false };
  const r = decodePacket(encodePacket([big]), { packetMaxBytes: undefined });
  t.false(r.ok);
  if (!r.ok) t.is(r.error.code, ErrorCode.PacketTooLarge); // refused by the default size bound, not by some other failure
});

test('peekWireKind routes frames by their first byte', (t) => {
  const nack: GossipMessage = { type: MessageType.Nack, seqNo: 1 };
  t.is(peekWireKind(encodePacket([nack])), WireKind.GossipPacket);
  t.is(peekWireKind(encodeFrame(nack)), WireKind.GossipFrame);
  t.is(peekWireKind(new Uint8Array(0)), undefined);
  t.is(peekWireKind(Uint8Array.of(0)), undefined);
  t.is(peekWireKind(Uint8Array.of(200)), undefined);
});

test('decoders accept Buffers and views at an offset inside a larger buffer (as transports hand them over)', (t) => {
  const msgs: GossipMessage[] = [
    { type: MessageType.UserEvent, ltime: 3, name: 'deploy', payload: Uint8Array.of(9, 8, 7), coalesce: true },
    { type: MessageType.Ping, seqNo: 1, target: 't', sourceName: 's', sourceAddr: 'a:1' },
  ];
  const p = encodePacket(msgs);
  const host = Buffer.alloc(p.length + 10, 0xee);
  host.set(p, 7);
  const view = host.subarray(7, 7 + p.length);
  t.deepEqual(decodePacket(view), { ok: true, msgs });
  t.deepEqual(decodePacket(new Uint8Array(host.buffer, host.byteOffset + 7, p.length)), { ok: true, msgs });
  const r = decodePacket(view);
  host.fill(0);
  t.deepEqual(r, { ok: true, msgs }); // decoded bytes do not alias the transport's buffer
});

test('gossip.proto keeps one-byte tags: every field number <= 15', (t) => {
  const root = gossipRoot;
  const ids: number[] = [];
  root.nestedArray.forEach(function walk(ns: protobuf.ReflectionObject): void {
    if (ns instanceof protobuf.Type) ids.push(...ns.fieldsArray.map((f) => f.id));
    if (ns instanceof protobuf.Namespace) ns.nestedArray.forEach(walk);
  });
  t.true(ids.length > 40);
  t.true(ids.every((id) => id >= 1 && id <= 15));
  // Gossip oneof case numbers equal MessageType.
  const Gossip = root.lookupType('shoal.gossip.Gossip');
  t.deepEqual(Gossip.fieldsArray.map((f) => f.id), Object.values(MessageType));
});
