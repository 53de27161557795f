/**
 * Routes of the control plane's HTTP API:
 *
 *   GET    /v1/config/{key}        read one key (linearizable; ?serializable=true for local, ?revision=N)
 *   PUT    /v1/config/{key}        {"value","lease"?,"prevRevision"?} -> {"revision","prevKv"?}
 *   DELETE /v1/config/{key}        -> {"revision","deleted"}
 *   GET    /v1/config?prefix=P     range (?limit, ?limitBytes, ?revision, ?serializable, ?continuation or ?after):
 *                                  {"kvs","count","more","revision","continuation"?}; ?key=K reads one key
 *   POST   /v1/config/txn          compare / success / failure -> {"succeeded","revision","responses"}
 *   GET    /v1/config/watch        ?prefix=P&fromRevision=N: a stream of JSON lines (watch-stream.ts)
 *   POST   /v1/config/compact      {"revision": N}: drop history before N -> {"revision","compactedRevision"}
 *   POST   /v1/leases, POST /v1/leases/{id}/keepalive, DELETE /v1/leases/{id}   (lease-routes.ts)
 *   GET    /v1/raft/status, POST /v1/raft/transfer-leader, POST /v1/raft/remove-peer  (raft-routes.ts)
 *   POST   /v1/acl/tokens, GET /v1/acl/tokens, DELETE /v1/acl/tokens/{id}   (acl-routes.ts)
 *
 * Keys under `shoal/` are the agent's own (system-keys.ts): refused with 403,
 * and left out of ranges and watches whose prefix covers them.
 *
 * A key is the rest of the raw request path after /v1/config/, percent-decoded,
 * so it may hold '/'. The raw path, not the parsed URL's: URL parsing resolves
 * dot segments and turns '\\' into '/', so `PUT /v1/config/a/../b` would write
 * `b`. A path with a dot segment ('.' or '..', percent-encoded or not) is
 * refused with 400 rather than taken literally: clients such as curl and
 * browsers resolve them before sending, so the same URL would name different
 * keys from different clients. A key with such segments is sent with its
 * slashes encoded (a%2F..%2Fb), as ConfigClient does, or read with ?key=. The paths /v1/config/txn (POST) and /v1/config/watch (GET) are the
 * routes above; the keys "txn", "watch" and "compact" are read with GET /v1/config?key=.
 */
import type * as http from 'node:http';
import { ErrorCode } from '../util/errors.js';
import type { AclTokenCache } from './acl-tokens.js';
import type { ClientQuota } from './client-limits.js';
import { handleAclRoute } from './acl-routes.js';
import { clientGone, HttpError, readJson, sendJson } from './config-http.js';
import { checkKey, checkPrefix, parseCompactBody, parsePutBody, parseQuery, parseTxnBody } from './config-schema.js';
import type { ControlApi, KvView, RangeView } from './config-types.js';
import { handleLeaseRoute } from './lease-routes.js';
import { handleRaftRoute } from './raft-routes.js';
import { checkPublicKey, checkPublicPrefix, checkPublicTxn, isSystemKey, SYSTEM_PREFIX } from './system-keys.js';
import { serveWatch } from './watch-stream.js';
import { readLimits } from '../control/store/limits.js';
import { encodeContinuation } from '../control/store/reads.js';

/** What the server adds to a request beyond the control API. */
export interface RouteContext {
  /** The stored API tokens, invalidated when one is created or revoked here. */
  tokens?: AclTokenCache;
  /** Re-checks the request's token (a long-lived watch ends once its token is revoked); rejects with the answer. */
  recheck?: () => Promise<void>;
  /** The request's client's watch and lease limits (client-limits.ts); none: unlimited. */
  quota?: ClientQuota;
}

export const ConfigApiLimits = {
  /** A value is at most 256 KiB and a txn at most 1.5 MiB of keys and values; JSON escaping adds a little. */
  bodyMaxBytes: 2 * 1024 * 1024,
} as const;

const readQuerySpec = { serializable: 'bool', revision: 'uint' } as const;
const rangeQuerySpec = {
  prefix: 'string',
  key: 'string',
  serializable: 'bool',
  revision: 'uint',
  limit: 'uint',
  limitBytes: 'uint',
  after: 'string',
  continuation: 'string',
} as const;

/** Handles a control route; false when the path is not one. */
export async function handleControlRoute(req: http.IncomingMessage, res: http.ServerResponse, url: URL, api: ControlApi, ctx: RouteContext = {}): Promise<boolean> {
  const path = url.pathname;
  if (path.startsWith('/v1/raft/')) return handleRaftRoute(req, res, url, api);
  if (path === '/v1/acl' || path.startsWith('/v1/acl/')) return handleAclRoute(req, res, url, api, ctx.tokens);
  if (path === '/v1/leases' || path.startsWith('/v1/leases/')) return handleLeaseRoute(req, res, url, api, ctx.quota);
  if (path !== '/v1/config' && !path.startsWith('/v1/config/')) return false;
  const rawPath = rawPathOf(req);
  refuseDotSegments(rawPath);
  const method = req.method ?? 'GET';
  if (path === '/v1/config') {
    if (method !== 'GET') throw notAllowed(method, path);
    await range(res, url, api);
    return true;
  }
  if (path === '/v1/config/watch' && method === 'GET') {
    await serveWatch(req, res, url, api, ctx.recheck, ctx.quota);
    return true;
  }
  if (path === '/v1/config/txn' && method === 'POST') {
    const request = checkPublicTxn(parseTxnBody(await readJson(req, ConfigApiLimits.bodyMaxBytes)));
    parseQuery(url.searchParams, {});
    await withSignal(res, (signal) => api.txn(request, { signal }), 200);
    return true;
  }
  if (path === '/v1/config/compact' && method === 'POST') {
    parseQuery(url.searchParams, {});
    const { revision } = parseCompactBody(await readJson(req, ConfigApiLimits.bodyMaxBytes));
    await withSignal(res, (signal) => api.compact(revision, { signal }), 200);
    return true;
  }
  const key = keyOfPath(rawPath);
  switch (method) {
    case 'GET': {
      const q = parseQuery(url.searchParams, readQuerySpec);
      await getOne(res, key, api, q.serializable === true, q.revision);
      return true;
    }
    case 'PUT': {
      parseQuery(url.searchParams, {});
      const request = parsePutBody(await readJson(req, ConfigApiLimits.bodyMaxBytes), key);
      await withSignal(res, (signal) => api.put(request, { signal }), 200);
      return true;
    }
    case 'DELETE':
      parseQuery(url.searchParams, {});
      await withSignal(res, (signal) => api.delete(key, { signal }), 200);
      return true;
    default:
      throw notAllowed(method, path);
  }
}

export function notAllowed(method: string, path: string): HttpError {
  return new HttpError(405, ErrorCode.MethodNotAllowed, `method ${method} not allowed on ${path}`);
}

/** Runs a call with an AbortSignal that fires if the client disconnects, and answers its result. */
export async function withSignal<T>(res: http.ServerResponse, call: (signal: AbortSignal) => Promise<T>, status: number): Promise<void> {
  const gone = clientGone(res);
  try {
    sendJson(res, status, await call(gone.signal));
  } finally {
    gone.done();
  }
}

/** The request target's path as the client sent it (origin or absolute form), before any URL normalization. */
export function rawPathOf(req: http.IncomingMessage): string {
  let target = req.url ?? '/';
  if (!target.startsWith('/')) target = target.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/, '');
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

/**
 * 400 when a segment of the raw path (between '/' or '\\', which URL parsing
 * treats alike) is '.' or '..', percent-encoded or not: what URL normalization
 * would resolve. An encoded slash (%2F) does not separate segments, so the
 * key "a/../b" sent as a%2F..%2Fb (as ConfigClient sends every key) is taken
 * as it is.
 */
export function refuseDotSegments(rawPath: string): void {
  for (const segment of rawPath.split(/[/\\]/)) {
    const s = segment.replace(/%2e/gi, '.');
    if (s === '.' || s === '..') {
      throw new HttpError(
        400,
        ErrorCode.InvalidArgument,
        `path ${rawPath} has a dot segment ("${segment}"): clients and URL parsers resolve them, so it is refused; send the key's slashes as %2F`,
        { field: 'key' },
      );
    }
  }
}

function keyOfPath(rawPath: string): string {
  if (!rawPath.startsWith('/v1/config/')) throw new HttpError(400, ErrorCode.InvalidArgument, `path ${rawPath} is not under /v1/config/`, { field: 'key' });
  const raw = rawPath.slice('/v1/config/'.length);
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, ErrorCode.InvalidArgument, 'key is not valid percent-encoding', { field: 'key' });
  }
  return checkPublicKey(checkKey(key, 'key'), 'key');
}

async function getOne(res: http.ServerResponse, key: string, api: ControlApi, serializable: boolean, revision: number | undefined): Promise<void> {
  const gone = clientGone(res);
  try {
    const r = await api.get(key, { serializable, signal: gone.signal, ...(revision === undefined ? {} : { revision }) });
    res.setHeader('x-shoal-revision', String(r.revision));
    if (r.kv === undefined) {
      throw new HttpError(404, ErrorCode.NotFound, `key "${key}" not found`, { key, revision: r.revision });
    }
    sendJson(res, 200, r.kv satisfies KvView);
  } finally {
    gone.done();
  }
}

async function range(res: http.ServerResponse, url: URL, api: ControlApi): Promise<void> {
  const q = parseQuery(url.searchParams, rangeQuerySpec);
  const serializable = q.serializable === true;
  if (q.key !== undefined) {
    if (q.prefix !== undefined || q.limit !== undefined) throw new HttpError(400, ErrorCode.BadRequest, 'give either key or prefix', { field: 'key' });
    return getOne(res, checkPublicKey(checkKey(q.key, 'key'), 'key'), api, serializable, q.revision);
  }
  const prefix = checkPrefix(q.prefix ?? '', 'prefix');
  const reach = checkPublicPrefix(prefix, 'prefix');
  if (q.limit === 0) throw new HttpError(400, ErrorCode.InvalidArgument, 'limit must be at least 1', { field: 'limit' });
  if (q.limitBytes === 0) throw new HttpError(400, ErrorCode.InvalidArgument, 'limitBytes must be at least 1', { field: 'limitBytes' });
  if (q.after !== undefined && q.continuation !== undefined) {
    throw new HttpError(400, ErrorCode.BadRequest, 'give either after or continuation', { field: 'continuation' });
  }
  if (q.after !== undefined) checkPrefix(q.after, 'after');
  await withSignal(
    res,
    (signal) => {
      const options: PageOptions = {
        serializable,
        signal,
        ...(q.revision === undefined ? {} : { revision: q.revision }),
        ...(q.limitBytes === undefined ? {} : { limitBytes: q.limitBytes }),
        ...(q.after === undefined ? {} : { after: q.after }),
        ...(q.continuation === undefined ? {} : { continuation: q.continuation }),
      };
      if (reach === 'none') return api.range(prefix, { ...options, ...(q.limit === undefined ? {} : { limit: q.limit }) });
      return rangeWithoutSystemKeys(api, prefix, q.limit ?? readLimits.rangeKeysMax, options);
    },
    200,
  );
}

type PageOptions = { serializable: boolean; signal: AbortSignal; revision?: number; limitBytes?: number; after?: string; continuation?: string };

/**
 * A range whose prefix covers the system keys, answered as if they did not
 * exist: count the system keys at one revision, then read the range at that
 * same revision with room for them, and leave them out.
 */
async function rangeWithoutSystemKeys(api: ControlApi, prefix: string, limit: number, options: PageOptions): Promise<RangeView> {
  // The system keys from the same page start (after / continuation) at the same revision: count is then exact.
  const system = await api.range(SYSTEM_PREFIX, { ...options, limit: 1 });
  const at = { ...options, revision: system.revision };
  const r = await api.range(prefix, { ...at, limit: Math.min(limit + system.count, readLimits.rangeKeysMax) });
  const visible = r.kvs.filter((kv) => !isSystemKey(kv.key));
  const kvs = visible.slice(0, limit);
  const count = r.count - system.count;
  const more = count > kvs.length;
  const view: RangeView = { kvs, count, more, revision: r.revision };
  if (!more) return view;
  // Cut short here: the next page starts after the last key kept; else where the store's page ended.
  const continuation = kvs.length < visible.length || r.continuation === undefined ? encodeContinuation(r.revision, kvs[kvs.length - 1]!.key) : r.continuation;
  return { ...view, continuation };
}
