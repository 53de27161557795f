import { assert } from '../util/assert.js';

/**
 * Length-prefixed framing for TCP streams: a u32 big-endian length, then that
 * many bytes. The decoder is bounded: a declared length over `frameMaxBytes`
 * is an error (the connection is then closed by the caller), and it never
 * buffers more than one frame plus its header.
 */
export const FRAME_HEADER_BYTES = 4;

export function encodeFrameHeader(lengthBytes: number): Buffer {
  assert(Number.isInteger(lengthBytes) && lengthBytes >= 0 && lengthBytes <= 0xffffffff, 'frame length out of range');
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(lengthBytes, 0);
  return header;
}

export type FrameDecodeResult =
  | { ok: true; frames: Uint8Array[] }
  | { ok: false; frames: Uint8Array[]; declaredBytes: number };

export class FrameDecoder {
  private readonly frameMaxBytes: number;
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private failed = false;

  constructor(frameMaxBytes: number) {
    assert(frameMaxBytes > 0, 'frameMaxBytes must be positive');
    this.frameMaxBytes = frameMaxBytes;
  }

  /**
   * Feed a chunk; returns every complete frame. After an oversized length the
   * decoder stays failed (the frames before it are still returned).
   */
  push(chunk: Buffer): FrameDecodeResult {
    const frames: Uint8Array[] = [];
    if (this.failed) return { ok: false, frames, declaredBytes: -1 };
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    for (;;) {
      if (this.bufferedBytes < FRAME_HEADER_BYTES) break;
      const head = this.peek(FRAME_HEADER_BYTES);
      const declaredBytes = head.readUInt32BE(0);
      if (declaredBytes > this.frameMaxBytes) {
        this.failed = true;
        this.chunks = [];
        this.bufferedBytes = 0;
        return { ok: false, frames, declaredBytes };
      }
      if (this.bufferedBytes < FRAME_HEADER_BYTES + declaredBytes) break;
      const whole = this.take(FRAME_HEADER_BYTES + declaredBytes);
      // Copy so a frame never pins a large shared chunk.
      frames.push(new Uint8Array(whole.subarray(FRAME_HEADER_BYTES)));
    }
    return { ok: true, frames };
  }

  /** Bytes held waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0];
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    let first = this.chunks[0];
    if (first.length < n) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    const out = first.subarray(0, n);
    const rest = first.subarray(n);
    if (rest.length > 0) this.chunks[0] = rest;
    else this.chunks.shift();
    this.bufferedBytes -= n;
    return out;
  }
}
