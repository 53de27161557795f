/**
 * API token routes (management token only, see auth.ts):
 *
 *   POST   /v1/acl/tokens        {"scope":"read"|"write","description"?} -> {"id","scope","description","created","secret","revision"}
 *   GET    /v1/acl/tokens        -> {"tokens":[{"id","scope","description","created"}],"revision"}
 *   DELETE /v1/acl/tokens/{id}   -> {"id","revision"}; 404 ERR_NOT_FOUND when there is no such token
 *
 * The secret is in the answer to POST and nowhere else: the store keeps its
 * SHA-256 only. Reads of the list are linearizable (a revoke is seen at once).
 */
import type * as http from 'node:http';
import { firstUnprintableIndex } from '../control/store/keys.js';
import { ErrorCode } from '../util/errors.js';
import {
  ACL_TOKENS_PREFIX,
  AclLimits,
  decodeRecord,
  encodeRecord,
  isTokenId,
  newToken,
  sha256,
  tokenKey,
  TOKEN_SCOPES,
  viewOf,
  type AclTokenCache,
  type AclTokenRecord,
  type TokenScope,
} from './acl-tokens.js';
import { badField, HttpError, readJson } from './config-http.js';
import { notAllowed, withSignal } from './config-routes.js';
import { parseQuery, strictObject } from './config-schema.js';
import type { ControlApi } from './config-types.js';

const aclBodyMaxBytes = 4096;

export interface CreateTokenRequest {
  scope: TokenScope;
  description: string;
}

export function parseCreateTokenBody(body: unknown): CreateTokenRequest {
  const o = strictObject(body, 'body', ['scope', 'description'], ['scope']);
  if (!(TOKEN_SCOPES as readonly unknown[]).includes(o.scope)) {
    throw badField('scope', `scope must be one of ${TOKEN_SCOPES.join(', ')}`, ErrorCode.InvalidArgument);
  }
  const description = o.description ?? '';
  if (typeof description !== 'string') throw badField('description', 'description must be a string');
  if (Buffer.byteLength(description) > AclLimits.descriptionBytesMax || firstUnprintableIndex(description) >= 0) {
    throw badField('description', `description must be at most ${AclLimits.descriptionBytesMax} bytes of printable text`, ErrorCode.InvalidArgument);
  }
  return { scope: o.scope as TokenScope, description };
}

/** Handles an ACL route; false when the path is not one. */
export async function handleAclRoute(req: http.IncomingMessage, res: http.ServerResponse, url: URL, api: ControlApi, tokens: AclTokenCache | undefined): Promise<boolean> {
  const method = req.method ?? 'GET';
  const path = url.pathname;
  if (path === '/v1/acl/tokens') {
    parseQuery(url.searchParams, {});
    if (method === 'GET') {
      await withSignal(res, (signal) => listTokens(api, signal), 200);
      return true;
    }
    if (method !== 'POST') throw notAllowed(method, path);
    const request = parseCreateTokenBody(await readJson(req, aclBodyMaxBytes));
    await withSignal(res, (signal) => createToken(api, request, signal).finally(() => tokens?.invalidate()), 200);
    return true;
  }
  if (!path.startsWith('/v1/acl/tokens/')) return false;
  const id = path.slice('/v1/acl/tokens/'.length);
  if (method !== 'DELETE') throw notAllowed(method, path);
  parseQuery(url.searchParams, {});
  if (!isTokenId(id)) throw new HttpError(400, ErrorCode.InvalidArgument, `"${id}" is not a token id (16 hex digits)`, { field: 'id' });
  await withSignal(res, (signal) => revokeToken(api, id, signal).finally(() => tokens?.invalidate()), 200);
  return true;
}

async function listTokens(api: ControlApi, signal: AbortSignal): Promise<{ tokens: ReturnType<typeof viewOf>[]; revision: number }> {
  const r = await api.range(ACL_TOKENS_PREFIX, { limit: AclLimits.tokensMax, signal });
  const records = r.kvs.map(decodeRecord).filter((x): x is AclTokenRecord => x !== undefined);
  return { tokens: records.map(viewOf), revision: r.revision };
}

async function createToken(api: ControlApi, request: CreateTokenRequest, signal: AbortSignal) {
  const existing = await api.range(ACL_TOKENS_PREFIX, { limit: 1, signal });
  if (existing.count >= AclLimits.tokensMax) {
    throw new HttpError(429, ErrorCode.ResourceExhausted, `there are ${existing.count} tokens, at most ${AclLimits.tokensMax}: revoke some first`, {
      limit: AclLimits.tokensMax,
    });
  }
  const { id, secret } = newToken();
  const record: AclTokenRecord = { id, scope: request.scope, description: request.description, created: new Date().toISOString(), sha256: sha256(secret).toString('hex') };
  // prevRevision 0: never overwrite a record (two random 64-bit ids colliding is not worth a retry loop).
  const put = await api.put({ key: tokenKey(id), value: encodeRecord(record), prevRevision: 0 }, { signal });
  return { ...viewOf(record), secret, revision: put.revision };
}

async function revokeToken(api: ControlApi, id: string, signal: AbortSignal): Promise<{ id: string; revision: number }> {
  const r = await api.delete(tokenKey(id), { signal });
  if (r.deleted === 0) throw new HttpError(404, ErrorCode.NotFound, `no token ${id}`, { id });
  return { id, revision: r.revision };
}
