/**
 * The rules every HTTP request passes before any route sees it (pure
 * functions; request-guard.ts applies them):
 *
 *   1. Host: on a loopback listener the Host header must name loopback
 *      (localhost, 127.x.x.x, [::1], with or without a port): a browser page
 *      whose DNS name was re-pointed at 127.0.0.1 (DNS rebinding) sends its
 *      own name and is refused, 403 ERR_FORBIDDEN.
 *   2. Token, when the agent has a management token (--api-token): every
 *      request carries `Authorization: Bearer TOKEN`. None, or one the agent
 *      does not know: 401 ERR_UNAUTHENTICATED. A known token whose scope is
 *      short of the route's: 403 ERR_FORBIDDEN.
 *   3. Content-Type: a POST or PATCH (always: a body-less POST is a simple
 *      cross-site request too) and a PUT or DELETE with a body must say
 *      application/json, else 415 ERR_UNSUPPORTED_MEDIA_TYPE. Browsers send
 *      such a request cross-site only after a CORS preflight, which this API
 *      never grants.
 *
 * Scopes, from least to most: read < write < manage.
 *   read:   GET (and HEAD) of members, health, raft status, agent stats, config reads and watches.
 *   write:  read, and config writes, txn, compact, leases, join.
 *   manage: everything: also /v1/acl/* (tokens), /v1/leave, /v1/raft/transfer-leader,
 *           /v1/raft/remove-peer. Only the management token has it.
 * read and write are allow-lists: a route added later (a keyring, say) needs
 * the management token until it is listed here.
 */
import type * as http from 'node:http';
import { isLoopbackHost } from '../cluster/advertise.js';
import type { TokenScope } from './acl-tokens.js';

export type Scope = TokenScope | 'manage';

const scopeRank: Record<Scope, number> = { read: 0, write: 1, manage: 2 };

const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);

/** GET routes a read token may call. */
function isReadRoute(path: string): boolean {
  return path === '/v1/members' || path === '/v1/health' || path === '/v1/raft/status' || path === '/v1/agent/stats' || under(path, '/v1/config');
}

/** Routes a write token may call with any other method. */
function isWriteRoute(path: string): boolean {
  return under(path, '/v1/config') || under(path, '/v1/leases') || path === '/v1/join';
}

export function requiredScope(method: string, path: string): Scope {
  if (method === 'GET' || method === 'HEAD') return isReadRoute(path) ? 'read' : 'manage';
  return isWriteRoute(path) ? 'write' : 'manage';
}

export function scopeAllows(have: Scope, need: Scope): boolean {
  return scopeRank[have] >= scopeRank[need];
}

/** A listen address's host that only this machine can reach. */
export function isLoopbackListen(host: string): boolean {
  return isLoopbackHost(host) || host === '0:0:0:0:0:0:0:1';
}

const port = '(?::\\d{1,5})?';
const loopbackHostHeader = new RegExp(`^(?:localhost|\\[::1\\]|127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})${port}$`, 'i');

/** A Host header naming loopback: localhost, 127.x.x.x or [::1], with or without a port. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined || !loopbackHostHeader.test(host)) return false;
  const m = /^127\.(\d+)\.(\d+)\.(\d+)/.exec(host);
  return m === null || m.slice(1).every((o) => Number(o) <= 255);
}

/** The token of `Authorization: Bearer TOKEN` (scheme case-insensitive), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
  return m === null ? undefined : m[1];
}

/** application/json, with parameters (charset) or not. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** Whether the request declares a body (Content-Length above 0, or chunked). */
export function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Whether the request must declare a JSON body. */
export function needsJsonContentType(req: http.IncomingMessage): boolean {
  const method = req.method ?? 'GET';
  if (method === 'POST' || method === 'PATCH') return true;
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  return hasBody(req);
}
