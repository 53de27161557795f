/**
 * Lease routes: grant, keep-alive, revoke.
 *
 *   POST   /v1/leases                 {"ttlMs": N} or {"ttl": seconds}, optional "id" -> {"id","ttlMs"}
 *   POST   /v1/leases/{id}/keepalive  (empty body) -> {"id","ttlMs"}
 *   DELETE /v1/leases/{id}            -> {"revision","deleted"}
 *
 * A grant counts against the client's leasesPerClientMax (client-limits.ts):
 * past it 429 ERR_RESOURCE_EXHAUSTED and nothing is granted. Keep-alives and
 * revokes through this agent tell the count what they learn.
 */
import type * as http from 'node:http';
import { ErrorCode, isShoalError } from '../util/errors.js';
import type { ClientQuota } from './client-limits.js';
import { readJson } from './config-http.js';
import { notAllowed, withSignal } from './config-routes.js';
import { parseLeaseGrantBody, parseLeaseId, parseNames, parseQuery } from './config-schema.js';
import type { ControlApi } from './config-types.js';

const leaseBodyMaxBytes = 4096;

export async function handleLeaseRoute(req: http.IncomingMessage, res: http.ServerResponse, url: URL, api: ControlApi, quota?: ClientQuota): Promise<boolean> {
  const method = req.method ?? 'GET';
  const path = url.pathname;
  parseQuery(url.searchParams, {});
  if (path === '/v1/leases') {
    if (method !== 'POST') throw notAllowed(method, path);
    const request = parseLeaseGrantBody(await readJson(req, leaseBodyMaxBytes));
    await withSignal(
      res,
      (signal) => {
        const grant = () => api.leaseGrant(request, { signal });
        return quota === undefined ? grant() : quota.grantLease(grant);
      },
      200,
    );
    return true;
  }
  const parts = path.slice('/v1/leases/'.length).split('/');
  if (parts.length === 2 && parts[1] === 'keepalive') {
    if (method !== 'POST') throw notAllowed(method, path);
    const id = parseLeaseId(parts[0]!);
    parseNames(await readJson(req, leaseBodyMaxBytes), []);
    await withSignal(res, (signal) => learn(quota, id, api.leaseKeepAlive(id, { signal }), (lease) => quota?.leaseKeptAlive(lease)), 200);
    return true;
  }
  if (parts.length === 1) {
    if (method !== 'DELETE') throw notAllowed(method, path);
    const id = parseLeaseId(parts[0]!);
    await withSignal(res, (signal) => learn(quota, id, api.leaseRevoke(id, { signal }), () => quota?.leaseGone(id)), 200);
    return true;
  }
  return false;
}

/** The call's result; tells the quota on success, and that the lease is gone on ERR_NOT_FOUND. */
async function learn<T>(quota: ClientQuota | undefined, id: number, call: Promise<T>, onSuccess: (result: T) => void): Promise<T> {
  try {
    const result = await call;
    onSuccess(result);
    return result;
  } catch (e) {
    if (isShoalError(e, ErrorCode.NotFound)) quota?.leaseGone(id);
    throw e;
  }
}
