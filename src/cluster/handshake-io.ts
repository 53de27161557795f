/**
 * Reading the one handshake frame off a fresh socket: bounded in bytes
 * (handshakeBytesMax) and in time (the caller's timer closes the socket).
 * Bytes after the handshake frame are returned to the caller, which hands
 * them to the established connection.
 */
import type * as net from 'node:net';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { encodeFrameHeader } from '../transport/frame.js';
import { handshakeBytesMax } from './handshake-codec.js';

export interface HandshakeFrame {
  frame: Uint8Array;
  leftover: Buffer | undefined;
}

/** Resolves with the first frame; rejects on close, error, or a declared length over handshakeBytesMax. */
export function readHandshakeFrame(socket: net.Socket): Promise<HandshakeFrame> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      const declared = buf.readUInt32BE(0);
      if (declared > handshakeBytesMax) {
        cleanup();
        reject(new ShoalError(ErrorCode.FrameTooLarge, `handshake of ${declared} bytes exceeds ${handshakeBytesMax}`));
        return;
      }
      if (buf.length < 4 + declared) {
        return;
      }
      cleanup();
      socket.pause();
      const frame = new Uint8Array(buf.subarray(4, 4 + declared));
      const rest = buf.subarray(4 + declared);
      resolve({ frame, leftover: rest.length > 0 ? Buffer.from(rest) : undefined });
    };
    const onClose = (): void => {
      cleanup();
      reject(new ShoalError(ErrorCode.Unreachable, 'connection closed during the handshake'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new ShoalError(ErrorCode.Unreachable, `connection failed during the handshake: ${err.message}`, { cause: err }));
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
  });
}

/** The handshake as a length-prefixed frame. */
export function handshakeFrame(body: Uint8Array): Buffer {
  return Buffer.concat([encodeFrameHeader(body.length), body]);
}
