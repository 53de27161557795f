import fc from 'fast-check';
import { wireUintMax } from '../../../src/wire/uint.js';
import {
  MemberState,
  MessageType,
  type AckMsg,
  type GossipMessage,
  type PushNodeState,
  type PushPullMsg,
  type Tags,
} from '../../../src/gossip/messages.js';

/** fast-check arbitraries of gossip messages, shared by the unit and fuzz tests of src/wire. */

/** Wire integers: small, boundary and up to wireUintMax (2^48 - 1). */
export const wireUint = fc.oneof(
  fc.nat(300),
  fc.nat(),
  fc.integer({ min: 0, max: wireUintMax }),
  fc.constantFrom(0, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 42, wireUintMax - 1, wireUintMax),
);

/** Integers the wire format can carry but the decoders refuse: above wireUintMax, up to 2^53 - 1. */
export const overWireUint = fc.oneof(
  fc.integer({ min: wireUintMax + 1, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(wireUintMax + 1, 2 ** 49, 2 ** 52, Number.MAX_SAFE_INTEGER),
);

/** Names and addresses: ASCII and multi-byte UTF-8, well formed. */
export const wireString = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom('', '10.0.0.1:7946', '[::1]:7946', 'node-é-ß-東京-🙂'),
);

export const tagsArb = (opts: { withProtoKeys: boolean }): fc.Arbitrary<Tags> =>
  fc
    .array(
      fc.tuple(
        opts.withProtoKeys ? fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'toString')) : fc.string({ maxLength: 8 }),
        fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 4 })),
      ),
      { maxLength: 5 },
    )
    .map((entries) => Object.fromEntries(entries) as Tags);

/** Records with Object.prototype (fast-check may otherwise build null-prototype objects). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const bytesArb = fc.uint8Array({ maxLength: 48 });
const memberStateArb = fc.constantFrom(MemberState.Alive, MemberState.Suspect, MemberState.Dead, MemberState.Left);

export const nodeStateArb = (withProtoKeys: boolean): fc.Arbitrary<PushNodeState> =>
  rec({ name: wireString, addr: wireString, incarnation: wireUint, state: memberStateArb, tags: tagsArb({ withProtoKeys }) });

export const pushPullArb = (opts: { maxStates: number; withProtoKeys: boolean }): fc.Arbitrary<PushPullMsg> =>
  rec({
    type: fc.constant(MessageType.PushPull),
    join: fc.boolean(),
    reply: fc.boolean(),
    sourceName: wireString,
    sourceAddr: wireString,
    states: fc.array(nodeStateArb(opts.withProtoKeys), { maxLength: opts.maxStates }),
    eventLtime: wireUint,
  });

const ackArb: fc.Arbitrary<AckMsg> = fc
  .record({ seqNo: wireUint, payload: fc.option(bytesArb, { nil: undefined }) })
  .map(({ seqNo, payload }) => (payload === undefined ? { type: MessageType.Ack, seqNo } : { type: MessageType.Ack, seqNo, payload }));

/** Every gossip message type; push-pull only when `pushPull` is set (it travels in frames). */
export const gossipMessageArb = (opts: { pushPull: boolean; withProtoKeys?: boolean }): fc.Arbitrary<GossipMessage> => {
  const withProtoKeys = opts.withProtoKeys ?? true;
  const arbs: fc.Arbitrary<GossipMessage>[] = [
    rec({ type: fc.constant(MessageType.Ping), seqNo: wireUint, target: wireString, sourceName: wireString, sourceAddr: wireString }),
    rec({
      type: fc.constant(MessageType.IndirectPing),
      seqNo: wireUint,
      target: wireString,
      targetAddr: wireString,
      nack: fc.boolean(),
      sourceName: wireString,
      sourceAddr: wireString,
    }),
    ackArb,
    rec({ type: fc.constant(MessageType.Nack), seqNo: wireUint }),
    rec({ type: fc.constant(MessageType.Alive), incarnation: wireUint, name: wireString, addr: wireString, tags: tagsArb({ withProtoKeys }) }),
    rec({ type: fc.constant(MessageType.Suspect), incarnation: wireUint, name: wireString, from: wireString }),
    rec({ type: fc.constant(MessageType.Dead), incarnation: wireUint, name: wireString, from: wireString }),
    rec({ type: fc.constant(MessageType.Leave), incarnation: wireUint, name: wireString }),
    rec({ type: fc.constant(MessageType.UserEvent), ltime: wireUint, name: wireString, payload: bytesArb, coalesce: fc.boolean() }),
  ];
  if (opts.pushPull) arbs.push(pushPullArb({ maxStates: 6, withProtoKeys }));
  return fc.oneof(...arbs);
};

/** A 10,000-member push-pull with realistic names, addresses and tags. */
export function bigPushPull(members: number): PushPullMsg {
  const states: PushNodeState[] = [];
  for (let i = 0; i < members; i++) {
    states.push({
      name: `node-${i.toString().padStart(5, '0')}.dc1.example.internal`,
      addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:7946`,
      incarnation: i * 3,
      state: (i % 4) as MemberState,
      tags: { role: i % 5 === 0 ? 'voter' : 'data', zone: `zone-${i % 3}`, http: '8500', raft: '8300' },
    });
  }
  return { type: MessageType.PushPull, join: false, reply: true, sourceName: 'node-00000', sourceAddr: '10.0.0.0:7946', states, eventLtime: 42 };
}
