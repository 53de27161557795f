/**
 * WAL record framing and payload codecs.
 *
 *   [payloadLength u32 LE][crc32 u32 LE of type byte + payload][type u8][payload]
 *
 * Integers in payloads are little-endian; u64 values are integers of at most
 * wireUintMax (2^48 - 1) written as two u32 halves (low first); a larger one
 * is a corrupt record. Decoders throw ShoalError ERR_DECODE_FAILED and nothing else.
 */
import { crc32 } from 'node:zlib';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Entry, EntryType, HardState } from '../raft/types.js';
import { wireUintMax } from '../wire/uint.js';

/** ONLY APPEND TO THIS LIST! The numeric values are part of the on-disk format. Zero is never valid. */
export const RecordType = {
  SegmentHeader: 1,
  Entry: 2,
  HardState: 3,
  SnapshotMarker: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const RECORD_HEADER_BYTES = 9;
/** Default bound on one record's payload; a length above it is never read. */
export const MAX_RECORD_PAYLOAD_BYTES_DEFAULT = 64 * 1024 * 1024;
export const SEGMENT_MAGIC = 0x4c574853; // "SHWL" little-endian
export const SEGMENT_FORMAT_VERSION = 1;
const VOTE_BYTES_MAX = 1024;
/** An entry record's payload before its data: index u64, term u64, type u8. */
export const ENTRY_PAYLOAD_HEADER_BYTES = 17;
const MAX_U32 = 0x1_0000_0000;

export interface SegmentHeader {
  seq: number;
  firstIndex: number;
}

export interface SnapshotMarker {
  index: number;
  term: number;
}

export type DecodedRecord = { ok: true; type: number; payload: Uint8Array; endOffset: number };
/** `short`: the buffer ends inside the record; `bad`: the header or checksum is wrong. */
export type RecordFailure = { ok: false; kind: 'short' | 'bad'; reason: string; claimedEndOffset: number };

function isRecordType(t: number): t is RecordType {
  return t >= RecordType.SegmentHeader && t <= RecordType.SnapshotMarker;
}

export function encodeRecord(type: RecordType, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  out[8] = type;
  out.set(payload, RECORD_HEADER_BYTES);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32(out.subarray(8)), true);
  return out;
}

/** Reads the record at `offset`; never throws on bad input. */
export function decodeRecordAt(buf: Uint8Array, offset: number, maxPayloadBytes: number): DecodedRecord | RecordFailure {
  const remaining = buf.length - offset;
  if (remaining < RECORD_HEADER_BYTES) {
    return { ok: false, kind: 'short', reason: `${remaining} bytes left, header needs ${RECORD_HEADER_BYTES}`, claimedEndOffset: buf.length + 1 };
  }
  const view = new DataView(buf.buffer, buf.byteOffset + offset, RECORD_HEADER_BYTES);
  const payloadLength = view.getUint32(0, true);
  const crc = view.getUint32(4, true);
  const type = buf[offset + 8];
  if (payloadLength > maxPayloadBytes) {
    return { ok: false, kind: 'bad', reason: `payload length ${payloadLength} above limit ${maxPayloadBytes}`, claimedEndOffset: Number.POSITIVE_INFINITY };
  }
  const end = offset + RECORD_HEADER_BYTES + payloadLength;
  if (end > buf.length) {
    return { ok: false, kind: 'short', reason: `record ends at ${end}, buffer at ${buf.length}`, claimedEndOffset: end };
  }
  const actual = crc32(buf.subarray(offset + 8, end));
  if (actual !== crc) return { ok: false, kind: 'bad', reason: `crc32 mismatch (stored ${crc}, computed ${actual})`, claimedEndOffset: end };
  if (!isRecordType(type)) return { ok: false, kind: 'bad', reason: `unknown record type ${type}`, claimedEndOffset: end };
  return { ok: true, type, payload: buf.subarray(offset + RECORD_HEADER_BYTES, end), endOffset: end };
}

class Writer {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private pos = 0;
  constructor(sizeBytes: number) {
    this.buf = new Uint8Array(sizeBytes);
    this.view = new DataView(this.buf.buffer);
  }
  u8(v: number): this {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
    return this;
  }
  u16(v: number): this {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
    return this;
  }
  u64(v: number): this {
    assert(Number.isInteger(v) && v >= 0 && v <= wireUintMax, `u64 out of range: ${v}`);
    this.u32(v % MAX_U32);
    return this.u32(Math.floor(v / MAX_U32));
  }
  bytes(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  done(): Uint8Array {
    assert(this.pos === this.buf.length, `encoded ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

class Reader {
  private readonly view: DataView;
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new ShoalError(ErrorCode.DecodeFailed, `${this.what}: payload too short`);
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** Indexes, terms, commit points and segment numbers: never above wireUintMax (the core never makes one). */
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    const v = hi * MAX_U32 + lo;
    if (v > wireUintMax) throw new ShoalError(ErrorCode.DecodeFailed, `${this.what}: u64 ${v} above the bound ${wireUintMax}`);
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  rest(): Uint8Array {
    return this.bytes(this.buf.length - this.pos);
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new ShoalError(ErrorCode.DecodeFailed, `${this.what}: ${this.buf.length - this.pos} trailing bytes`);
  }
}

export function encodeEntry(e: Entry): Uint8Array {
  return encodeRecord(RecordType.Entry, new Writer(ENTRY_PAYLOAD_HEADER_BYTES + e.data.length).u64(e.index).u64(e.term).u8(e.type).bytes(e.data).done());
}

export function decodeEntry(payload: Uint8Array): Entry {
  const r = new Reader(payload, 'entry');
  const index = r.u64();
  const term = r.u64();
  const type = r.u8();
  if (type !== 0 && type !== 1) throw new ShoalError(ErrorCode.DecodeFailed, `entry: unknown entry type ${type}`);
  return { index, term, type: type as EntryType, data: r.rest().slice() };
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function encodeHardState(hs: HardState): Uint8Array {
  const vote = textEncoder.encode(hs.vote);
  assert(vote.length <= VOTE_BYTES_MAX, `vote longer than ${VOTE_BYTES_MAX} bytes`);
  return encodeRecord(RecordType.HardState, new Writer(18 + vote.length).u64(hs.term).u64(hs.commit).u16(vote.length).bytes(vote).done());
}

export function decodeHardState(payload: Uint8Array): HardState {
  const r = new Reader(payload, 'hardState');
  const term = r.u64();
  const commit = r.u64();
  const n = r.u16();
  let vote: string;
  try {
    vote = textDecoder.decode(r.bytes(n));
  } catch (e) {
    throw new ShoalError(ErrorCode.DecodeFailed, 'hardState: vote is not UTF-8', { cause: e });
  }
  r.end();
  return { term, commit, vote };
}

export function encodeSnapshotMarker(m: SnapshotMarker): Uint8Array {
  return encodeRecord(RecordType.SnapshotMarker, new Writer(16).u64(m.index).u64(m.term).done());
}

export function decodeSnapshotMarker(payload: Uint8Array): SnapshotMarker {
  const r = new Reader(payload, 'snapshotMarker');
  const m = { index: r.u64(), term: r.u64() };
  r.end();
  return m;
}

export function encodeSegmentHeader(h: SegmentHeader): Uint8Array {
  return encodeRecord(
    RecordType.SegmentHeader,
    new Writer(21).u32(SEGMENT_MAGIC).u8(SEGMENT_FORMAT_VERSION).u64(h.seq).u64(h.firstIndex).done(),
  );
}

export function decodeSegmentHeader(payload: Uint8Array): SegmentHeader {
  const r = new Reader(payload, 'segmentHeader');
  const magic = r.u32();
  if (magic !== SEGMENT_MAGIC) throw new ShoalError(ErrorCode.DecodeFailed, `segmentHeader: bad magic 0x${magic.toString(16)}`);
  const version = r.u8();
  if (version !== SEGMENT_FORMAT_VERSION) throw new ShoalError(ErrorCode.DecodeFailed, `segmentHeader: unsupported version ${version}`);
  const h = { seq: r.u64(), firstIndex: r.u64() };
  r.end();
  return h;
}
