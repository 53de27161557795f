import type { GossipMessage } from '../gossip/messages.js';
import { MessageType } from '../gossip/messages.js';
import { assert } from '../util/assert.js';
import { packetSizeBytes } from '../gossip/size.js';
import { decodeFrame, decodePacket, encodeFrame, encodePacket } from '../wire/gossip-codec.js';
import { bodySize, gossipSizeFromBody } from '../wire/gossip-encode.js';
import { wireKindBytes } from '../wire/kind.js';

/**
 * How the gossip simulation sizes (and optionally round-trips) what the cores
 * send. The default is the real codec (src/wire/gossip-codec.ts), so byte
 * counts in benchmarks are real encoded lengths; `roundTrip` additionally
 * encodes and decodes every packet and frame so wire bugs surface in tests.
 */
export interface GossipWire {
  packetSizeBytes(msgs: readonly GossipMessage[]): number;
  frameSizeBytes(msg: GossipMessage): number;
  /** Encode, decode and return the decoded messages (what a receiver would see). */
  roundTripPacket(msgs: readonly GossipMessage[]): GossipMessage[];
  roundTripFrame(msg: GossipMessage): GossipMessage;
}

/**
 * The real codec. Sizes are exact encoded lengths (computed without encoding);
 * a round trip that fails to decode, or decodes to a different length than the
 * size claimed, is a wire bug and fails the run (assert).
 * Frame sizes do not include the transport's stream length prefix.
 */
export const codecWire: GossipWire = {
  packetSizeBytes: packetSizeBytes,
  frameSizeBytes(msg) {
    return wireKindBytes + gossipSizeFromBody(bodySize(msg));
  },
  roundTripPacket(msgs) {
    const buf = encodePacket([...msgs]);
    assert(buf.length === codecWire.packetSizeBytes(msgs), `packet size ${buf.length} != computed ${codecWire.packetSizeBytes(msgs)}`);
    const r = decodePacket(buf);
    assert(r.ok, `packet does not decode: ${r.ok ? '' : r.error.message}`);
    assert(r.msgs.length === msgs.length, `packet of ${msgs.length} messages decodes to ${r.msgs.length}`);
    return r.msgs;
  },
  roundTripFrame(msg) {
    const buf = encodeFrame(msg);
    const r = decodeFrame(buf);
    assert(r.ok, `frame does not decode: ${r.ok ? '' : r.error.message}`);
    assert(r.msgs.length === 1, `frame decodes to ${r.msgs.length} messages`);
    return r.msgs[0];
  },
};

/**
 * A protobuf-shaped estimate, for when no codec is at hand (it never
 * round-trips: the messages pass through unchanged). Each field costs a tag
 * byte, a varint or a length-prefixed string.
 */
export const estimatedWire: GossipWire = {
  packetSizeBytes(msgs) {
    let n = 1;
    for (const m of msgs) n += 2 + estimateMsg(m);
    return n;
  },
  frameSizeBytes(msg) {
    return 4 + estimateMsg(msg);
  },
  roundTripPacket(msgs) {
    return [...msgs];
  },
  roundTripFrame(msg) {
    return msg;
  },
};

const varint = (v: number): number => (v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : v < 268435456 ? 4 : 5);
const str = (s: string): number => 1 + varint(s.length) + Buffer.byteLength(s);
const tagsSize = (tags: Readonly<Record<string, string>>): number => {
  let n = 0;
  for (const [k, v] of Object.entries(tags)) n += 2 + str(k) + str(v);
  return n;
};

function estimateMsg(m: GossipMessage): number {
  switch (m.type) {
    case MessageType.Ping:
      return 2 + varint(m.seqNo) + str(m.target) + str(m.sourceName) + str(m.sourceAddr);
    case MessageType.IndirectPing:
      return 4 + varint(m.seqNo) + str(m.target) + str(m.targetAddr) + str(m.sourceName) + str(m.sourceAddr);
    case MessageType.Ack:
      return 2 + varint(m.seqNo) + (m.payload ? 1 + varint(m.payload.length) + m.payload.length : 0);
    case MessageType.Nack:
      return 2 + varint(m.seqNo);
    case MessageType.Alive:
      return 2 + varint(m.incarnation) + str(m.name) + str(m.addr) + tagsSize(m.tags);
    case MessageType.Suspect:
    case MessageType.Dead:
      return 2 + varint(m.incarnation) + str(m.name) + str(m.from);
    case MessageType.Leave:
      return 2 + varint(m.incarnation) + str(m.name);
    case MessageType.PushPull: {
      let n = 6 + str(m.sourceName) + str(m.sourceAddr) + varint(m.eventLtime);
      for (const s of m.states) n += 3 + str(s.name) + str(s.addr) + 2 + varint(s.incarnation) + tagsSize(s.tags);
      return n;
    }
    case MessageType.UserEvent:
      return 4 + varint(m.ltime) + str(m.name) + 1 + varint(m.payload.length) + m.payload.length;
  }
}
