import type { ConfChange, ConfState, Entry, HardState, Message } from '../raft/types.js';
import { TransportLimits } from '../transport/transport.js';
import { ErrorCode, type ShoalError } from '../util/errors.js';
import { WireKind, wireKindBytes } from './kind.js';
import { DecodeDropReason, mergeLimits, tooLargeError } from './limits.js';
import { DecodeFail, ProtoSource, toDecodeError } from './pb-read.js';
import { ProtoSink, lenFieldSize } from './pb-write.js';
import {
  decodeConfChangeBody,
  decodeConfStateBody,
  decodeEntryBody,
  decodeHardStateBody,
  decodeMessageBody,
  type RaftDecodeLimits,
} from './raft-decode.js';
import {
  confChangeSize,
  confStateSize,
  entrySize,
  hardStateSize,
  messageSize,
  writeConfChange,
  writeConfState,
  writeEntry,
  writeHardState,
  writeMessage,
} from './raft-encode.js';

/**
 * Raft on the wire and on disk (raft.proto):
 *  - a stream frame = WireKind.RaftMessage byte + Message;
 *  - Entry, HardState, ConfState, ConfChange bare (WAL records, ConfChange entry data).
 * Decoders are bounded by RaftDecodeLimits and never throw: they return
 * { ok: false, error } with a ShoalError (ERR_DECODE_FAILED / ERR_FRAME_TOO_LARGE,
 * details.reason a DecodeDropReason, countable with countDecode()).
 */

export type { RaftDecodeLimits } from './raft-decode.js';

export type RaftMessageDecodeResult = { ok: true; msg: Message } | { ok: false; error: ShoalError };
export type RaftDecodeResult<T> = { ok: true; value: T } | { ok: false; error: ShoalError };

export const defaultRaftDecodeLimits: Readonly<RaftDecodeLimits> = Object.freeze({
  frameMaxBytes: TransportLimits.frameMaxBytes,
  // Batches are bounded by bytes (flow control); the count bound stops a flood of empty entries.
  entriesPerMessageMax: 65_536,
  entryBytesMax: TransportLimits.frameMaxBytes,
  // Node ids are member names: DNS-name sized.
  nodeIdBytesMax: 512,
  // ReadIndex ids and transfer targets are small opaque values.
  contextBytesMax: 4096,
  snapshotChunkBytesMax: TransportLimits.frameMaxBytes,
  // Voters (3 or 5) plus learners; generous.
  confNodesMax: 1024,
});

function resolve(limits: Partial<RaftDecodeLimits> | undefined): Readonly<RaftDecodeLimits> {
  return mergeLimits(defaultRaftDecodeLimits, limits);
}

/** Exact bytes of encodeRaftMessage(m) (for flow control: bounded in-flight bytes). */
export function encodedRaftMessageSize(m: Message): number {
  return wireKindBytes + messageSize(m, []);
}

export function encodeRaftMessage(m: Message): Uint8Array {
  const entrySizes: number[] = [];
  const sink = new ProtoSink(wireKindBytes + messageSize(m, entrySizes));
  sink.byte(WireKind.RaftMessage);
  writeMessage(sink, m, entrySizes);
  return sink.finish();
}

export function decodeRaftMessage(buf: Uint8Array, limits?: Partial<RaftDecodeLimits>): RaftMessageDecodeResult {
  try {
    const lim = resolve(limits);
    if (buf.length > lim.frameMaxBytes) return { ok: false, error: tooLargeError(ErrorCode.FrameTooLarge, buf.length, lim.frameMaxBytes) };
    if (buf.length === 0 || buf[0] !== WireKind.RaftMessage) {
      throw new DecodeFail(DecodeDropReason.BadKind, `not a raft message (first byte ${buf.length === 0 ? 'missing' : buf[0]})`);
    }
    return { ok: true, msg: decodeMessageBody(new ProtoSource(buf, wireKindBytes), buf.length, lim) };
  } catch (e) {
    return { ok: false, error: toDecodeError(e, 'raft message') };
  }
}

/** Decode a whole bare buffer with `body`, bounded and never throwing. */
function decodeBare<T>(
  what: string,
  buf: Uint8Array,
  limits: Partial<RaftDecodeLimits> | undefined,
  body: (src: ProtoSource, end: number, lim: RaftDecodeLimits) => T,
): RaftDecodeResult<T> {
  try {
    const lim = resolve(limits);
    if (buf.length > lim.frameMaxBytes) return { ok: false, error: tooLargeError(ErrorCode.FrameTooLarge, buf.length, lim.frameMaxBytes) };
    return { ok: true, value: body(new ProtoSource(buf, 0), buf.length, lim) };
  } catch (e) {
    return { ok: false, error: toDecodeError(e, what) };
  }
}

/** Exact bytes of encodeEntry(e). */
export function encodedEntrySize(e: Entry): number {
  return entrySize(e);
}

/** Exact bytes an entry adds to a Message (field tag, length, body): for batching by bytes. */
export function entryInMessageBytes(e: Entry): number {
  return lenFieldSize(entrySize(e));
}

export function encodeEntry(e: Entry): Uint8Array {
  const sink = new ProtoSink(entrySize(e));
  writeEntry(sink, e);
  return sink.finish();
}

export function decodeEntry(buf: Uint8Array, limits?: Partial<RaftDecodeLimits>): RaftDecodeResult<Entry> {
  return decodeBare('raft entry', buf, limits, decodeEntryBody);
}

export function encodeHardState(h: HardState): Uint8Array {
  const sink = new ProtoSink(hardStateSize(h));
  writeHardState(sink, h);
  return sink.finish();
}

export function decodeHardState(buf: Uint8Array, limits?: Partial<RaftDecodeLimits>): RaftDecodeResult<HardState> {
  return decodeBare('raft hard state', buf, limits, decodeHardStateBody);
}

export function encodeConfState(c: ConfState): Uint8Array {
  const sink = new ProtoSink(confStateSize(c));
  writeConfState(sink, c);
  return sink.finish();
}

export function decodeConfState(buf: Uint8Array, limits?: Partial<RaftDecodeLimits>): RaftDecodeResult<ConfState> {
  return decodeBare('raft conf state', buf, limits, decodeConfStateBody);
}

export function encodeConfChange(c: ConfChange): Uint8Array {
  const sink = new ProtoSink(confChangeSize(c));
  writeConfChange(sink, c);
  return sink.finish();
}

export function decodeConfChange(buf: Uint8Array, limits?: Partial<RaftDecodeLimits>): RaftDecodeResult<ConfChange> {
  return decodeBare('raft conf change', buf, limits, decodeConfChangeBody);
}
