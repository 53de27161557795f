/**
 * HTTP plumbing shared by every route: bounded JSON bodies, JSON answers,
 * and errors as {"error":{"code","message","details"?}} with the status their
 * ShoalError code maps to.
 */
import type * as http from 'node:http';
import { ErrorCode, isShoalError } from '../util/errors.js';

/**
 * Status of each error code. ERR_COMPACTED is 410 Gone (the revision existed
 * and is gone); every "try again later / elsewhere" error is 503.
 */
export const STATUS_BY_CODE: Readonly<Partial<Record<string, number>>> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.InvalidConfig]: 400,
  [ErrorCode.DecodeFailed]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.Compacted]: 410,
  [ErrorCode.NoSpace]: 507,
  [ErrorCode.ResourceExhausted]: 429,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.SessionExpired]: 409,
  [ErrorCode.StaleRequest]: 409,
  [ErrorCode.JoinFailed]: 503,
  [ErrorCode.NotRunning]: 503,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.NoQuorum]: 503,
  [ErrorCode.NotLeader]: 503,
  [ErrorCode.ProposalDropped]: 503,
  [ErrorCode.ConfChangeInProgress]: 503,
  [ErrorCode.Unreachable]: 503,
  [ErrorCode.Timeout]: 503,
  [ErrorCode.Aborted]: 503,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.MethodNotAllowed]: 405,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.Internal]: 500,
};

export interface ApiErrorDetail {
  code: string;
  message: string;
  /** e.g. field (the offending input), leader (ERR_NOT_LEADER), oldestRevision (ERR_COMPACTED). */
  details?: Record<string, unknown>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** A 400 naming the offending field. */
export function badField(field: string, message: string, code: ErrorCode = ErrorCode.BadRequest): HttpError {
  return new HttpError(400, code, message, { field });
}

/** Reads and parses a JSON body of at most maxBytes; undefined for an empty body. */
export function readJson(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      req.resume();
      reject(new HttpError(413, ErrorCode.BadRequest, `body exceeds ${maxBytes} bytes`, { limitBytes: maxBytes }));
      return;
    }
    const chunks: Buffer[] = [];
    let sizeBytes = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      sizeBytes += chunk.length;
      if (sizeBytes > maxBytes) {
        failed = true;
        chunks.length = 0;
        reject(new HttpError(413, ErrorCode.BadRequest, `body exceeds ${maxBytes} bytes`, { limitBytes: maxBytes }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      failed = true;
      reject(new HttpError(400, ErrorCode.BadRequest, `request failed: ${err.message}`));
    });
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, ErrorCode.BadRequest, 'body is not valid JSON', { field: 'body' }));
      }
    });
  });
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The error as the API shows it, and its status. */
export function errorBody(e: unknown): { status: number; error: ApiErrorDetail } {
  if (e instanceof HttpError) {
    return { status: e.status, error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } };
  }
  if (isShoalError(e)) {
    const details = e.details === undefined || Object.keys(e.details).length === 0 ? undefined : { ...e.details };
    return { status: STATUS_BY_CODE[e.code] ?? 500, error: { code: e.code, message: e.message, ...(details ? { details } : {}) } };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { status: 500, error: { code: ErrorCode.Internal, message: `internal error: ${message}` } };
}

export function sendError(res: http.ServerResponse, e: unknown): void {
  const { status, error } = errorBody(e);
  if (!res.headersSent) {
    // Refused before (or while) its body was read: close rather than read the rest of a body nobody wants.
    if (status === 413 || status === 401 || status === 403 || status === 415) res.setHeader('connection', 'close');
    if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="shoal"');
    const retryAfterMs = error.details?.retryAfterMs;
    if (status === 429 && typeof retryAfterMs === 'number') res.setHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  }
  sendJson(res, status, { error });
}

/** An AbortSignal that fires when the client goes away before the answer is sent; call done() after. */
export function clientGone(res: http.ServerResponse): { signal: AbortSignal; done(): void } {
  const ac = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) ac.abort();
  };
  res.on('close', onClose);
  return { signal: ac.signal, done: () => res.off('close', onClose) };
}
