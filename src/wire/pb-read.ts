import protobuf from 'protobufjs/minimal.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { DecodeDropReason } from './limits.js';
import { wireUintMax } from './uint.js';

/**
 * Bounded protobuf decoding primitives for the hand-written codecs. Every
 * read checks the end of its enclosing message first, every length is
 * checked against a limit before anything is allocated, and every failure is
 * a DecodeFail that the codec's entry point turns into a result (decoders
 * never throw to their callers). UTF-8 is decoded strictly by protobufjs's util.
 */
const utf8 = protobuf.util.utf8;

/** Internal control flow of the decoders; the public entry points catch it. */
export class DecodeFail extends Error {
  constructor(
    readonly reason: DecodeDropReason,
    message: string,
  ) {
    super(message);
    this.name = 'DecodeFail';
  }
}

/** Turn anything a decoder threw into the ShoalError it returns. */
export function toDecodeError(e: unknown, what: string): ShoalError {
  if (e instanceof DecodeFail) {
    return new ShoalError(ErrorCode.DecodeFailed, `${what}: ${e.message}`, { details: { reason: e.reason } });
  }
  // Anything else (a RangeError from a typed array, a TypeError from invalid UTF-8) is malformed input.
  return new ShoalError(ErrorCode.DecodeFailed, `${what}: malformed input`, {
    cause: e,
    details: { reason: DecodeDropReason.Malformed },
  });
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The value of every empty bytes field: zero length, so nothing can be written into it. */
export const EMPTY_BYTES: Uint8Array = Object.freeze(new Uint8Array(0)) as Uint8Array;

/** Inputs up to this size share one private copy among their bytes fields (see ProtoSource.bytes). */
export const sharedCopyMaxBytes = 64 * 1024;

export class ProtoSource {
  readonly buf: Uint8Array;
  pos: number;
  /** The length returned by the last len() (string, bytes or embedded message). */
  lastLenBytes = 0;
  /** Private copy of buf for bytes fields (see bytes()). */
  private copy: Uint8Array | undefined;

  constructor(buf: Uint8Array, pos = 0) {
    // A plain Uint8Array view: subarray() of a Buffer goes through Buffer's species constructor, which is slow.
    this.buf = buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
  }

  /** A non-negative integer of up to 53 bits (uint64 fields beyond 2^53 are refused). */
  varint(end: number): number {
    const buf = this.buf;
    if (this.pos >= end) throw new DecodeFail(DecodeDropReason.Truncated, 'varint past end');
    let b = buf[this.pos++];
    if (b < 0x80) return b;
    let value = b & 0x7f;
    let mul = 0x80;
    for (let i = 1; i < 10; i++) {
      if (this.pos >= end) throw new DecodeFail(DecodeDropReason.Truncated, 'varint past end');
      b = buf[this.pos++];
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (value > MAX_SAFE) throw new DecodeFail(DecodeDropReason.BadValue, 'integer above 2^53');
        return value;
      }
      mul *= 0x80;
    }
    throw new DecodeFail(DecodeDropReason.Malformed, 'varint longer than 10 bytes');
  }

  /**
   * A counter field (term, index, incarnation, Lamport time, sequence number,
   * offset): at most wireUintMax, refused as OutOfRange above it.
   */
  uint(end: number): number {
    const n = this.varint(end);
    if (n > wireUintMax) throw new DecodeFail(DecodeDropReason.OutOfRange, `${n} above the wire bound ${wireUintMax}`);
    return n;
  }

  /** A field tag: field number >= 1 and a wire type; returns the whole tag (field << 3 | wireType). */
  tag(end: number): number {
    const t = this.varint(end);
    if (t < 8 || t > 0xffffffff) throw new DecodeFail(DecodeDropReason.Malformed, `invalid tag ${t}`);
    return t;
  }

  bool(end: number): boolean {
    return this.varint(end) !== 0;
  }

  /** The length prefix of a length-delimited field, checked against the message end and `maxBytes`. */
  len(end: number, maxBytes: number, what: string): number {
    const n = this.varint(end);
    if (n > end - this.pos) throw new DecodeFail(DecodeDropReason.Truncated, `${what}: ${n} bytes past end`);
    if (n > maxBytes) throw new DecodeFail(DecodeDropReason.LimitExceeded, `${what}: ${n} bytes exceeds ${maxBytes}`);
    this.lastLenBytes = n;
    return n;
  }

  string(end: number, maxBytes: number, what: string): string {
    const n = this.len(end, maxBytes, what);
    const start = this.pos;
    this.pos += n;
    try {
      return utf8.readStrict(this.buf, start, start + n);
    } catch {
      throw new DecodeFail(DecodeDropReason.Malformed, `${what}: invalid UTF-8`);
    }
  }

  /**
   * A bytes field, never a view of the caller's buffer (the transport may
   * reuse it). Inputs up to sharedCopyMaxBytes are copied once, on the first
   * bytes field, and fields are views of that private copy: one allocation
   * per input instead of one per field. Larger inputs copy each field, so a
   * small field never pins a large frame. Empty fields share one empty array.
   */
  bytes(end: number, maxBytes: number, what: string): Uint8Array {
    const n = this.len(end, maxBytes, what);
    const start = this.pos;
    this.pos = start + n;
    if (n === 0) return EMPTY_BYTES;
    if (this.buf.length <= sharedCopyMaxBytes) {
      this.copy ??= this.buf.slice();
      return this.copy.subarray(start, start + n);
    }
    return this.buf.slice(start, start + n);
  }

  /** Skip an unknown field (forward compatibility). Groups and reserved wire types are refused. */
  skip(tagValue: number, end: number): void {
    switch (tagValue & 7) {
      case 0:
        this.varint(end);
        return;
      case 1:
        this.skipBytes(8, end);
        return;
      case 2: {
        const n = this.len(end, MAX_SAFE, 'unknown field');
        this.pos += n;
        return;
      }
      case 5:
        this.skipBytes(4, end);
        return;
      default:
        throw new DecodeFail(DecodeDropReason.Malformed, `unsupported wire type ${tagValue & 7}`);
    }
  }

  private skipBytes(n: number, end: number): void {
    if (n > end - this.pos) throw new DecodeFail(DecodeDropReason.Truncated, 'fixed field past end');
    this.pos += n;
  }
}
