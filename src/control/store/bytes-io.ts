/**
 * A growable byte writer and a bounded byte reader for snapshot frames:
 * unsigned varints up to 2^53, length-prefixed bytes and UTF-8 strings.
 * The reader checks every length against what is left before it reads and
 * throws JsonReadFail (the snapshot decoder's failure) on anything wrong.
 */
import { JsonReadFail } from './json-read.js';
import { utf8Bytes } from './keys.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buf: Uint8Array;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
  }

  private len = 0;

  get length(): number {
    return this.len;
  }

  /** Bytes allocated. */
  get capacity(): number {
    return this.buf.length;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v;
  }

  /** A non-negative safe integer, 7 bits a byte. */
  uint(v: number): void {
    this.reserve(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  /** Bytes without a length. */
  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** A big-endian u32 at an earlier position (a frame length written after the frame). */
  patchU32(at: number, v: number): void {
    this.buf[at] = v >>> 24;
    this.buf[at + 1] = (v >>> 16) & 0xff;
    this.buf[at + 2] = (v >>> 8) & 0xff;
    this.buf[at + 3] = v & 0xff;
  }

  /** Room for a u32 to patch later; returns its position. */
  placeholderU32(): number {
    this.reserve(4);
    const at = this.len;
    this.len += 4;
    return at;
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  string(s: string): void {
    const n = utf8Bytes(s);
    this.uint(n);
    this.reserve(n);
    if (n === s.length) {
      // ASCII: no encoder call, no allocation.
      for (let i = 0; i < n; i++) this.buf[this.len + i] = s.charCodeAt(i);
    } else {
      textEncoder.encodeInto(s, this.buf.subarray(this.len, this.len + n));
    }
    this.len += n;
  }

  /** The bytes written (a view; copy it before writing more). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

export class ByteReader {
  private at = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.at === this.buf.length;
  }

  u8(): number {
    if (this.at >= this.buf.length) throw new JsonReadFail('truncated');
    return this.buf[this.at++];
  }

  uint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) throw new JsonReadFail('integer too large');
        return v;
      }
      scale *= 0x80;
    }
    throw new JsonReadFail('varint too long');
  }

  bytes(maxBytes: number): Uint8Array {
    const n = this.uint();
    if (n > maxBytes || n > this.buf.length - this.at) throw new JsonReadFail(`bytes of ${n}, at most ${Math.min(maxBytes, this.buf.length - this.at)}`);
    const out = this.buf.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }

  string(maxBytes: number): string {
    const n = this.uint();
    if (n > maxBytes || n > this.buf.length - this.at) throw new JsonReadFail(`string of ${n} bytes, at most ${maxBytes}`);
    let s: string;
    try {
      s = textDecoder.decode(this.buf.subarray(this.at, this.at + n));
    } catch {
      throw new JsonReadFail('string is not UTF-8');
    }
    this.at += n;
    return s;
  }
}
