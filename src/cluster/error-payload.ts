/**
 * The body of an ErrorResponse frame: a ShoalError's code, message and
 * details as JSON, bounded. A peer's error comes back as a ShoalError with
 * the same code, so a forwarded request fails the way a local one would.
 */
import { ErrorCode, ShoalError, isShoalError } from '../util/errors.js';

/** Error bodies are a code and a sentence; 8 KiB is plenty and bounds the decoder. */
export const errorPayloadBytesMax = 8 * 1024;
const messageCharsMax = 2_000;
const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

export function encodeErrorPayload(e: unknown): Uint8Array {
  const err = isShoalError(e) ? e : new ShoalError(ErrorCode.Unavailable, `peer failed: ${e instanceof Error ? e.message : String(e)}`);
  let body = JSON.stringify({ code: err.code, message: err.message.slice(0, messageCharsMax), details: err.details ?? undefined });
  if (Buffer.byteLength(body) > errorPayloadBytesMax) body = JSON.stringify({ code: err.code, message: err.message.slice(0, messageCharsMax) });
  return Buffer.from(body);
}

export function decodeErrorPayload(payload: Uint8Array): ShoalError {
  if (payload.length > errorPayloadBytesMax) return new ShoalError(ErrorCode.DecodeFailed, 'peer sent an oversized error');
  try {
    const o = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')) as { code?: unknown; message?: unknown; details?: unknown };
    const code = typeof o.code === 'string' && knownCodes.has(o.code) ? (o.code as ErrorCode) : ErrorCode.Unavailable;
    const message = typeof o.message === 'string' ? o.message : 'peer failed';
    const details = o.details !== null && typeof o.details === 'object' && !Array.isArray(o.details) ? (o.details as Record<string, unknown>) : undefined;
    return new ShoalError(code, message, details === undefined ? undefined : { details });
  } catch {
    return new ShoalError(ErrorCode.DecodeFailed, 'peer sent a malformed error');
  }
}
