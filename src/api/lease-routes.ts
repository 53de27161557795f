/**
 * Lease routes: grant, keep-alive, revoke.
 *
 *   POST   /v1/leases                 {"ttlMs": N} or {"ttl": seconds}, optional "id" -> {"id","ttlMs"}
 *   POST   /v1/leases/{id}/keepalive  (empty body) -> {"id","ttlMs"}
 *   DELETE /v1/leases/{id}            -> {"revision","deleted"}
 */
import type * as http from 'node:http';
import { readJson } from './config-http.js';
import { notAllowed, withSignal } from './config-routes.js';
import { parseLeaseGrantBody, parseLeaseId, parseNames, parseQuery } from './config-schema.js';
import type { ControlApi } from './config-types.js';

const leaseBodyMaxBytes = 4096;

export async function handleLeaseRoute(req: http.IncomingMessage, res: http.ServerResponse, url: URL, api: ControlApi): Promise<boolean> {
  const method = req.method ?? 'GET';
  const path = url.pathname;
  parseQuery(url.searchParams, {});
  if (path === '/v1/leases') {
    if (method !== 'POST') throw notAllowed(method, path);
    const request = parseLeaseGrantBody(await readJson(req, leaseBodyMaxBytes));
    await withSignal(res, (signal) => api.leaseGrant(request, { signal }), 200);
    return true;
  }
  const parts = path.slice('/v1/leases/'.length).split('/');
  if (parts.length === 2 && parts[1] === 'keepalive') {
    if (method !== 'POST') throw notAllowed(method, path);
    const id = parseLeaseId(parts[0]!);
    parseNames(await readJson(req, leaseBodyMaxBytes), []);
    await withSignal(res, (signal) => api.leaseKeepAlive(id, { signal }), 200);
    return true;
  }
  if (parts.length === 1) {
    if (method !== 'DELETE') throw notAllowed(method, path);
    const id = parseLeaseId(parts[0]!);
    await withSignal(res, (signal) => api.leaseRevoke(id, { signal }), 200);
    return true;
  }
  return false;
}
