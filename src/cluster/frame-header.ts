/**
 * The header of every frame after the handshake (inside the transport's
 * u32 length prefix, src/transport/frame.ts): frame type (1 byte), stream
 * kind (1 byte), request id (u32 big-endian; 0 for one-way messages), then
 * the payload, which belongs to the plane named by the kind.
 */
import { assert } from '../util/assert.js';
import { isFrameType, type FrameType, type StreamKind } from './kinds.js';

export const frameHeaderBytes = 6;

export interface FrameHeader {
  type: FrameType;
  kind: StreamKind;
  requestId: number;
}

export function encodeFrameHead(type: FrameType, kind: StreamKind, requestId: number, payloadBytes: number): Buffer {
  assert(requestId >= 0 && requestId <= 0xffffffff, 'request id out of range');
  const out = Buffer.allocUnsafe(4 + frameHeaderBytes);
  out.writeUInt32BE(frameHeaderBytes + payloadBytes, 0);
  out[4] = type;
  out[5] = kind;
  out.writeUInt32BE(requestId, 6);
  return out;
}

/**
 * The header of a frame, or undefined when it is short or names an unknown
 * frame type. An unknown stream kind is not malformed: a newer peer may use a
 * kind appended later, so it is routed to no handler and counted, and the
 * connection carries on (kinds are append-only).
 */
export function decodeFrameHead(frame: Uint8Array): FrameHeader | undefined {
  if (frame.length < frameHeaderBytes) return undefined;
  const type = frame[0];
  const kind = frame[1] as StreamKind;
  if (!isFrameType(type)) return undefined;
  const requestId = ((frame[2] << 24) >>> 0) + (frame[3] << 16) + (frame[4] << 8) + frame[5];
  return { type, kind, requestId };
}
