/**
 * How the API client reaches an agent: one request over node:http or
 * node:https (fetch cannot be given a CA of its own), with the bearer token
 * and the agent's address resolved once.
 *
 * An address is "HOST:PORT", "http://HOST:PORT" or "https://HOST:PORT"; a
 * wildcard host (0.0.0.0) means this machine. HTTPS when the address says
 * so, or `https: true`, or a `ca` is given.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { formatHostPort, parseHostPort } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

export interface ApiClientOptions {
  /** Sent as `Authorization: Bearer TOKEN` with every request. */
  token?: string;
  /** Use HTTPS (also implied by an https:// address or a ca). */
  https?: boolean;
  /** PEM of the CA certificate(s) to trust instead of the system's (e.g. the agent's self-signed certificate). */
  ca?: string | Buffer;
}

export interface ApiTarget {
  /** "http://host:port" or "https://host:port". */
  baseUrl: string;
  headers: Record<string, string>;
  ca: string | Buffer | undefined;
}

export function apiTarget(address: string, options: ApiClientOptions = {}): ApiTarget {
  const m = /^(https?):\/\/(.*?)\/?$/i.exec(address);
  const scheme = m?.[1]?.toLowerCase() ?? (options.https === true || options.ca !== undefined ? 'https' : 'http');
  if (scheme === 'http' && (options.https === true || options.ca !== undefined)) {
    throw new ShoalError(ErrorCode.InvalidArgument, `${address} is http:// but HTTPS was asked for (https or ca)`);
  }
  const hp = parseHostPort(m?.[2] ?? address, 7947);
  const host = hp.host === '0.0.0.0' ? '127.0.0.1' : hp.host === '::' ? '::1' : hp.host;
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return { baseUrl: `${scheme}://${formatHostPort({ host, port: hp.port })}`, headers, ca: options.ca };
}

export interface SendInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  ca?: string | Buffer | undefined;
}

/** Sends one request; resolves once the answer's headers arrived (read the body from the message). */
export function send(url: string, init: SendInit): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const options: https.RequestOptions = { method: init.method, headers: init.headers, signal: init.signal };
    if (init.ca !== undefined) options.ca = init.ca;
    const req = u.protocol === 'https:' ? https.request(u, options, resolve) : http.request(u, options, resolve);
    req.once('error', reject);
    req.end(init.body);
  });
}

/** The whole body as text, at most maxBytes (ERR_DECODE_FAILED past it). */
export async function readText(res: http.IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    res.destroy();
    throw new ShoalError(ErrorCode.DecodeFailed, `response of ${declared} bytes exceeds ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let sizeBytes = 0;
  for await (const chunk of res) {
    sizeBytes += (chunk as Buffer).length;
    if (sizeBytes > maxBytes) {
      res.destroy();
      throw new ShoalError(ErrorCode.DecodeFailed, `response exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Why a request did not get an answer, in words: the system error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT...) or the message. */
export function whyFailed(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
