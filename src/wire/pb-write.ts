import { Buffer } from 'node:buffer';
import protobuf from 'protobufjs/minimal.js';
import { assert } from '../util/assert.js';
import { wireUintMax } from './uint.js';

/**
 * Protobuf encoding primitives for the hand-written codecs: an exact size
 * pass, then one write into a buffer of exactly that size (no growable
 * writer, no second copy). UTF-8 comes from protobufjs's util so lengths and
 * bytes agree with protobufjs's own Writer.
 *
 * Every field number the codecs use is <= 15, so every tag is one byte.
 */
const utf8 = protobuf.util.utf8;

/** UTF-8 bytes of `s` into `buf` at `offset`; returns the count. ASCII inline, the rest through protobufjs. */
function writeUtf8(s: string, buf: Uint8Array, offset: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return i + utf8.write(s.slice(i), buf, offset + i);
    buf[offset + i] = c;
  }
  return n;
}

export const WireType = { Varint: 0, Fixed64: 1, Len: 2, Fixed32: 5 } as const;

/** The one-byte tag of a field (field numbers 1..15). */
export function tag(field: number, wireType: number): number {
  if (!(field >= 1 && field <= 15)) assert(false, `field ${field}: one-byte tags only`);
  return (field << 3) | wireType;
}

/** Bytes of the varint encoding of a non-negative safe integer. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  if (n < 0x800000000) return 5;
  if (n < 0x40000000000) return 6;
  if (n < 0x2000000000000) return 7;
  return 8; // up to 2^56 > Number.MAX_SAFE_INTEGER
}

export const utf8Length: (s: string) => number = utf8.length;

/** Size of a uint64/enum field (omitted when zero, as proto3 does). */
export function varintFieldSize(n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n);
}

export function boolFieldSize(b: boolean): number {
  return b ? 2 : 0;
}

/** Size of a string field (omitted when empty). */
export function stringFieldSize(s: string): number {
  if (s.length === 0) return 0;
  const len = utf8.length(s);
  return 1 + varintSize(len) + len;
}

/** Size of a bytes field (omitted when empty unless `present`, for proto3 `optional`). */
export function bytesFieldSize(b: Uint8Array, present = false): number {
  if (b.length === 0 && !present) return 0;
  return 1 + varintSize(b.length) + b.length;
}

/** Size of a length-delimited field (embedded message, always written) whose body is `bodyBytes`. */
export function lenFieldSize(bodyBytes: number): number {
  return 1 + varintSize(bodyBytes) + bodyBytes;
}

/** Counters are at most wireUintMax (uint.ts): a core never computes past it and a decoder refuses more. */
export function assertWireUint(n: number, what: string): void {
  // The message is built only on failure: this runs for every integer field encoded.
  if (!(Number.isInteger(n) && n >= 0 && n <= wireUintMax)) assert(false, `${what} must be an integer in [0, ${wireUintMax}], got ${n}`);
}

/** A fixed-size output buffer filled front to back; finish() checks the size pass was exact. */
export class ProtoSink {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(sizeBytes: number) {
    // allocUnsafe draws small buffers from Node's pool; every byte is written before finish().
    this.buf = Buffer.allocUnsafe(sizeBytes);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (n < 0x80000000) {
      while (n > 0x7f) {
        buf[pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
    } else {
      while (n > 0x7f) {
        buf[pos++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
    }
    buf[pos++] = n;
    this.pos = pos;
  }

  varintField(tagByte: number, n: number): void {
    if (n === 0) return;
    this.buf[this.pos++] = tagByte;
    this.varint(n);
  }

  boolField(tagByte: number, b: boolean): void {
    if (!b) return;
    this.buf[this.pos++] = tagByte;
    this.buf[this.pos++] = 1;
  }

  stringField(tagByte: number, s: string): void {
    if (s.length === 0) return;
    this.stringAlways(tagByte, s);
  }

  /** A string field written even when empty (map entries, as protobufjs writes them). */
  stringAlways(tagByte: number, s: string): void {
    this.buf[this.pos++] = tagByte;
    if (s.length === 0) {
      this.buf[this.pos++] = 0;
      return;
    }
    const slot = this.pos++;
    this.pos += writeUtf8(s, this.buf, this.pos);
    this.endLen(slot);
  }

  /**
   * Start a length-delimited value whose length the write pass does not know
   * yet: reserve one byte for the length and return its position for endLen().
   * The buffer has the exact final size, so there is always room to move.
   */
  beginLen(tagByte: number): number {
    this.buf[this.pos++] = tagByte;
    return this.pos++;
  }

  /** Fill in the length reserved by beginLen(), moving the value right if the length needs more than one byte. */
  endLen(slot: number): void {
    const start = slot + 1;
    const n = this.pos - start;
    if (n < 0x80) {
      this.buf[slot] = n;
      return;
    }
    const extra = varintSize(n) - 1;
    this.buf.copyWithin(start + extra, start, this.pos);
    this.pos = slot;
    this.varint(n);
    this.pos += n;
  }

  bytesField(tagByte: number, b: Uint8Array, present = false): void {
    if (b.length === 0 && !present) return;
    this.buf[this.pos++] = tagByte;
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Header of a length-delimited field; the caller writes exactly `bodyBytes` next. */
  lenHeader(tagByte: number, bodyBytes: number): void {
    this.buf[this.pos++] = tagByte;
    this.varint(bodyBytes);
  }

  finish(): Uint8Array {
    if (this.pos !== this.buf.length) assert(false, `encoder wrote ${this.pos} bytes, size pass said ${this.buf.length}`);
    return this.buf;
  }
}
