import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { MessageType, type GossipMessage, type Tags } from '../../../src/gossip/messages.js';
import { WireKind } from '../../../src/wire/kind.js';

/**
 * The reference codec: protobufjs reflection of src/wire/gossip.proto, loaded
 * at test time. Used to prove the hand-written codec conforms to the schema,
 * and by bench/wire-codec.ts as the baseline.
 */

export const gossipProtoPath = fileURLToPath(new URL('../../../src/wire/gossip.proto', import.meta.url));
export const gossipRoot = protobuf.loadSync(gossipProtoPath);
export const PacketType = gossipRoot.lookupType('shoal.gossip.Packet');
export const GossipType = gossipRoot.lookupType('shoal.gossip.Gossip');

const caseNames = ['ping', 'indirectPing', 'ack', 'nack', 'alive', 'suspect', 'dead', 'leave', 'pushPull', 'userEvent'] as const;

/** A GossipMessage as a protobufjs plain object of Gossip. */
export function toProtoObject(m: GossipMessage): Record<string, unknown> {
  const { type, ...body } = m;
  return { [caseNames[type - 1]]: body };
}

const toObjectOptions: protobuf.IConversionOptions = { longs: Number, defaults: true, arrays: true, objects: true };

function plainTags(t: unknown): Tags {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(t as Record<string, string>)) {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const asBytes = (b: unknown): Uint8Array => new Uint8Array(b as Uint8Array);

/** A protobufjs plain object of Gossip (toObject with defaults) as a GossipMessage, or undefined for an empty body. */
export function fromProtoObject(o: Record<string, unknown>): GossipMessage | undefined {
  const i = caseNames.findIndex((c) => o[c] !== undefined && o[c] !== null);
  if (i < 0) return undefined;
  const body = { ...(o[caseNames[i]] as Record<string, unknown>) };
  const type = (i + 1) as GossipMessage['type'];
  if ('tags' in body) body.tags = plainTags(body.tags);
  if ('payload' in body) {
    if (body.payload === null || body.payload === undefined) delete body.payload;
    else body.payload = asBytes(body.payload);
  }
  if (type === MessageType.PushPull) {
    body.states = (body.states as Record<string, unknown>[]).map((s) => ({ ...s, tags: plainTags(s.tags) }));
  }
  return { type, ...body } as GossipMessage;
}

/** Encode a packet with reflection: WireKind byte + Packet. */
export function reflectEncodePacket(msgs: GossipMessage[]): Uint8Array {
  const body = PacketType.encode(PacketType.fromObject({ msgs: msgs.map(toProtoObject) })).finish();
  const out = new Uint8Array(body.length + 1);
  out[0] = WireKind.GossipPacket;
  out.set(body, 1);
  return out;
}

/** Decode a packet with reflection (throws on bad input, as protobufjs does). */
export function reflectDecodePacket(buf: Uint8Array): GossipMessage[] {
  const obj = PacketType.toObject(PacketType.decode(buf.subarray(1)), toObjectOptions) as { msgs: Record<string, unknown>[] };
  return obj.msgs.map(fromProtoObject).filter((m): m is GossipMessage => m !== undefined);
}

export function reflectEncodeFrame(m: GossipMessage): Uint8Array {
  const body = GossipType.encode(GossipType.fromObject(toProtoObject(m))).finish();
  const out = new Uint8Array(body.length + 1);
  out[0] = WireKind.GossipFrame;
  out.set(body, 1);
  return out;
}

export function reflectDecodeFrame(buf: Uint8Array): GossipMessage | undefined {
  return fromProtoObject(GossipType.toObject(GossipType.decode(buf.subarray(1)), toObjectOptions));
}
