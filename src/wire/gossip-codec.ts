import type { GossipMessage } from '../gossip/messages.js';
import { TransportLimits } from '../transport/transport.js';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { decodeGossip } from './gossip-decode.js';
import { bodySize, packetMsgsTag, writeGossip } from './gossip-encode.js';
import { WireKind, wireKindBytes } from './kind.js';
import { DecodeDropReason, resolveDecodeLimits, tooLargeError, type DecodeLimits } from './limits.js';
import { DecodeFail, ProtoSource, toDecodeError } from './pb-read.js';
import { ProtoSink, lenFieldSize } from './pb-write.js';

/**
 * Gossip on the wire (gossip.proto):
 *  - UDP packet = WireKind.GossipPacket byte + Packet { repeated Gossip msgs }:
 *    a compound packet of one or more messages, at most PACKET_MAX_BYTES;
 *  - stream frame = WireKind.GossipFrame byte + one Gossip (push-pull and
 *    other stream messages), at most TransportLimits.frameMaxBytes.
 * Every packet, single or compound, has the same layout, so its size is
 * always compoundOverheadBytes + the sum of encodedSize() of its messages.
 * Decoders are bounded by DecodeLimits and never throw.
 */

export {
  DecodeDropReason,
  countDecode,
  decodeDropReason,
  defaultDecodeLimits,
  newDecodeStats,
  type DecodeLimits,
  type DecodeStats,
} from './limits.js';
export { WireKind, peekWireKind } from './kind.js';

export type DecodeResult = { ok: true; msgs: GossipMessage[] } | { ok: false; error: ShoalError };

/** Largest UDP payload (TransportLimits.packetMaxBytes). */
export const PACKET_MAX_BYTES: number = TransportLimits.packetMaxBytes;
/** Largest stream frame (TransportLimits.frameMaxBytes). */
export const FRAME_MAX_BYTES: number = TransportLimits.frameMaxBytes;

/** Fixed bytes of every packet besides its messages: the WireKind byte. */
export const compoundOverheadBytes: number = wireKindBytes;

/**
 * The exact number of bytes `msg` adds to a packet: its Packet.msgs field
 * (tag, length, Gossip envelope with the body). A packet of messages M is
 * exactly compoundOverheadBytes + sum(encodedSize(m) for m in M) bytes.
 */
export function encodedSize(msg: GossipMessage): number {
  return lenFieldSize(lenFieldSize(bodySize(msg)));
}

/** Whether `msg` fits a packet of `maxBytes` on its own. */
export function fitsInPacket(msg: GossipMessage, maxBytes: number = PACKET_MAX_BYTES): boolean {
  return compoundOverheadBytes + encodedSize(msg) <= maxBytes;
}

/** Encode one or more messages as one packet. The caller keeps it within PACKET_MAX_BYTES (packMessages). */
export function encodePacket(msgs: GossipMessage[]): Uint8Array {
  assert(msgs.length > 0, 'encodePacket needs at least one message');
  const bodies = new Array<number>(msgs.length);
  let size = compoundOverheadBytes;
  for (let i = 0; i < msgs.length; i++) {
    const body = bodySize(msgs[i]);
    bodies[i] = body;
    size += lenFieldSize(lenFieldSize(body));
  }
  const sink = new ProtoSink(size);
  sink.byte(WireKind.GossipPacket);
  for (let i = 0; i < msgs.length; i++) {
    sink.lenHeader(packetMsgsTag, lenFieldSize(bodies[i]));
    writeGossip(sink, msgs[i], bodies[i]);
  }
  return sink.finish();
}

/** Encode one message as a stream frame. */
export function encodeFrame(msg: GossipMessage): Uint8Array {
  const stateSizes: number[] = [];
  const body = bodySize(msg, stateSizes);
  const sink = new ProtoSink(wireKindBytes + lenFieldSize(body));
  sink.byte(WireKind.GossipFrame);
  writeGossip(sink, msg, body, stateSizes);
  return sink.finish();
}

/** Decode a packet; ok:false (never a throw) for anything malformed, oversized or over a limit. */
export function decodePacket(buf: Uint8Array, limits?: Partial<DecodeLimits>): DecodeResult {
  try {
    const lim = resolveDecodeLimits(limits);
    if (buf.length > lim.packetMaxBytes) return { ok: false, error: tooLargeError(ErrorCode.PacketTooLarge, buf.length, lim.packetMaxBytes) };
    if (buf.length === 0 || buf[0] !== WireKind.GossipPacket) {
      throw new DecodeFail(DecodeDropReason.BadKind, `not a gossip packet (first byte ${buf.length === 0 ? 'missing' : buf[0]})`);
    }
    const end = buf.length;
    const src = new ProtoSource(buf, wireKindBytes);
    const msgs: GossipMessage[] = [];
    let count = 0;
    while (src.pos < end) {
      const t = src.tag(end);
      if (t !== packetMsgsTag) {
        src.skip(t, end);
        continue;
      }
      if (++count > lim.messagesPerPacketMax) {
        throw new DecodeFail(DecodeDropReason.LimitExceeded, `more than ${lim.messagesPerPacketMax} messages`);
      }
      const n = src.len(end, end - src.pos, 'message');
      const m = decodeGossip(src, src.pos + n, lim);
      if (m !== undefined) msgs.push(m);
    }
    return { ok: true, msgs };
  } catch (e) {
    return { ok: false, error: toDecodeError(e, 'gossip packet') };
  }
}

/** Decode a stream frame: msgs holds its one message (empty if the message type is unknown to this version). */
export function decodeFrame(buf: Uint8Array, limits?: Partial<DecodeLimits>): DecodeResult {
  try {
    const lim = resolveDecodeLimits(limits);
    if (buf.length > lim.frameMaxBytes) return { ok: false, error: tooLargeError(ErrorCode.FrameTooLarge, buf.length, lim.frameMaxBytes) };
    if (buf.length === 0 || buf[0] !== WireKind.GossipFrame) {
      throw new DecodeFail(DecodeDropReason.BadKind, `not a gossip frame (first byte ${buf.length === 0 ? 'missing' : buf[0]})`);
    }
    const m = decodeGossip(new ProtoSource(buf, wireKindBytes), buf.length, lim);
    return { ok: true, msgs: m === undefined ? [] : [m] };
  } catch (e) {
    return { ok: false, error: toDecodeError(e, 'gossip frame') };
  }
}

/**
 * Split messages, in order, into packets of at most `maxBytes` each (greedy:
 * a packet is closed when the next message does not fit). Every message
 * lands in exactly one packet. A message that cannot fit even alone is a
 * ShoalError ERR_PACKET_TOO_LARGE: check fitsInPacket() before queueing it.
 */
export function packMessages(msgs: GossipMessage[], maxBytes: number = PACKET_MAX_BYTES): GossipMessage[][] {
  const packets: GossipMessage[][] = [];
  let current: GossipMessage[] = [];
  let used = compoundOverheadBytes;
  for (const m of msgs) {
    const size = encodedSize(m);
    if (compoundOverheadBytes + size > maxBytes) {
      throw new ShoalError(ErrorCode.PacketTooLarge, `gossip message type ${m.type} of ${size} bytes cannot fit a ${maxBytes}-byte packet`, {
        details: { type: m.type, sizeBytes: size, maxBytes },
      });
    }
    if (used + size > maxBytes) {
      packets.push(current);
      current = [];
      used = compoundOverheadBytes;
    }
    current.push(m);
    used += size;
  }
  if (current.length > 0) packets.push(current);
  return packets;
}
