import { TransportLimits } from '../transport/transport.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

/**
 * Bounds every gossip decoder checks before it allocates. Past a bound the
 * input is refused (ok: false) and the caller counts it (countDecode).
 */
export interface DecodeLimits {
  /** Largest datagram accepted by decodePacket. */
  packetMaxBytes: number;
  /** Largest frame accepted by decodeFrame. */
  frameMaxBytes: number;
  /** Messages in one compound packet. */
  messagesPerPacketMax: number;
  /** Node states in one push-pull. */
  nodeStatesMax: number;
  /** UTF-8 bytes of one name, address or event name. */
  stringBytesMax: number;
  /** Tags (metadata entries) of one node. */
  tagsMax: number;
  /** UTF-8 bytes of all tag keys and values of one node together. */
  tagsBytesMax: number;
  /** Bytes of one opaque payload (ack payload, user event payload). */
  payloadBytesMax: number;
}

export const defaultDecodeLimits: Readonly<DecodeLimits> = Object.freeze({
  packetMaxBytes: TransportLimits.packetMaxBytes,
  frameMaxBytes: TransportLimits.frameMaxBytes,
  // The smallest message (a nack) takes 4 bytes in a packet: 1400 / 4 = 350.
  messagesPerPacketMax: 350,
  // A push-pull of 10,000 members must fit, with room to grow.
  nodeStatesMax: 16_384,
  // Names and "host:port" addresses; memberlist has no limit, 255 covers DNS names.
  stringBytesMax: 512,
  // memberlist's MetaMaxSize is 512 bytes; count bound keeps per-entry overhead small.
  tagsMax: 64,
  tagsBytesMax: 512,
  // serf's user event limit is 9 KiB at most; 64 KiB leaves room for frames.
  payloadBytesMax: 64 * 1024,
});

/**
 * `defaults` overridden by the limits given. A limit given as undefined keeps
 * its default (a plain spread would replace it with undefined, which every
 * `n > limit` check would then pass).
 */
export function mergeLimits<T extends object>(defaults: Readonly<T>, limits: Partial<T> | undefined): Readonly<T> {
  if (limits === undefined) return defaults;
  const out: T = { ...defaults };
  for (const k of Object.keys(limits) as (keyof T)[]) {
    const v = limits[k];
    if (v !== undefined) out[k] = v as T[keyof T];
  }
  return out;
}

export function resolveDecodeLimits(limits: Partial<DecodeLimits> | undefined): Readonly<DecodeLimits> {
  return mergeLimits(defaultDecodeLimits, limits);
}

/** Why a decoder refused its input (ShoalError.details.reason). */
export const DecodeDropReason = {
  /** The whole buffer exceeds the packet/frame limit. */
  TooLarge: 'too-large',
  /** The leading WireKind byte is missing or not the expected one. */
  BadKind: 'bad-kind',
  /** A field or length runs past the end of its buffer or message. */
  Truncated: 'truncated',
  /** Invalid protobuf: bad varint, field number 0, group or reserved wire type, invalid UTF-8. */
  Malformed: 'malformed',
  /** A count or length exceeds a DecodeLimits bound. */
  LimitExceeded: 'limit-exceeded',
  /** Well-formed protobuf with a value outside the domain (unknown state or type, integer above 2^53). */
  BadValue: 'bad-value',
  /** A term, index, incarnation, Lamport time or sequence number above wireUintMax (uint.ts). */
  OutOfRange: 'out-of-range',
} as const;
export type DecodeDropReason = (typeof DecodeDropReason)[keyof typeof DecodeDropReason];

const allReasons = Object.values(DecodeDropReason);

/** Decoder counters, one per shell (gossip packets, gossip frames, raft frames). */
export interface DecodeStats {
  /** Buffers decoded successfully. */
  decoded: number;
  /** Messages those buffers carried. */
  messages: number;
  /** Buffers refused, all reasons together. */
  dropped: number;
  droppedByReason: Record<DecodeDropReason, number>;
}

export function newDecodeStats(): DecodeStats {
  const droppedByReason = {} as Record<DecodeDropReason, number>;
  for (const r of allReasons) droppedByReason[r] = 0;
  return { decoded: 0, messages: 0, dropped: 0, droppedByReason };
}

/** The drop reason of a decoder error (Malformed when the error carries none). */
export function decodeDropReason(error: ShoalError): DecodeDropReason {
  const r = error.details?.reason;
  return typeof r === 'string' && (allReasons as readonly string[]).includes(r) ? (r as DecodeDropReason) : DecodeDropReason.Malformed;
}

/**
 * Count a decode outcome: a success with its message count (msgs.length for
 * gossip results, 1 for single-value results), or a drop by reason.
 */
export function countDecode(stats: DecodeStats, result: { ok: true; msgs?: readonly unknown[] } | { ok: false; error: ShoalError }): void {
  if (result.ok) {
    stats.decoded++;
    stats.messages += result.msgs === undefined ? 1 : result.msgs.length;
  } else {
    stats.dropped++;
    stats.droppedByReason[decodeDropReason(result.error)]++;
  }
}

/** The error a decoder returns for an oversized buffer. */
export function tooLargeError(code: typeof ErrorCode.PacketTooLarge | typeof ErrorCode.FrameTooLarge, sizeBytes: number, maxBytes: number): ShoalError {
  return new ShoalError(code, `${code === ErrorCode.PacketTooLarge ? 'packet' : 'frame'} of ${sizeBytes} bytes exceeds ${maxBytes}`, {
    details: { reason: DecodeDropReason.TooLarge, sizeBytes, maxBytes },
  });
}
