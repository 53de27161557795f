/**
 * Keys under `shoal/` belong to shoal itself (the API's ACL token records,
 * see acl-tokens.ts); the public config routes neither read nor write them:
 *
 *   - a key, or a txn compare or op, under `shoal/` is refused with 403 ERR_FORBIDDEN;
 *   - a range or watch prefix under `shoal/` is refused the same way;
 *   - a range or watch prefix that covers `shoal/` among other keys ("", "s", ..., "shoal")
 *     answers without the system keys: they are left out of kvs, count and more, and
 *     their changes out of the stream.
 *
 * The library (`agent.config`) and the agent's own routes (acl-routes.ts) are
 * not limited: the check is on the HTTP surface only.
 */
import { ErrorCode } from '../util/errors.js';
import { HttpError } from './config-http.js';
import type { TxnRequest } from './config-types.js';

export const SYSTEM_PREFIX = 'shoal/';

export function isSystemKey(key: string): boolean {
  return key.startsWith(SYSTEM_PREFIX);
}

/** How a range or watch prefix meets the system keys. */
export type PrefixReach = 'none' | 'mixed' | 'system';

export function prefixReach(prefix: string): PrefixReach {
  if (prefix.startsWith(SYSTEM_PREFIX)) return 'system';
  return SYSTEM_PREFIX.startsWith(prefix) ? 'mixed' : 'none';
}

function forbidden(field: string, what: string): HttpError {
  return new HttpError(403, ErrorCode.Forbidden, `${field} "${what}" is under the reserved prefix "${SYSTEM_PREFIX}"`, { field, reservedPrefix: SYSTEM_PREFIX });
}

/** A key of a public route: 403 when it is a system key. */
export function checkPublicKey(key: string, field: string): string {
  if (isSystemKey(key)) throw forbidden(field, key);
  return key;
}

/** A prefix of a public range or watch: 403 when every key under it is a system key. */
export function checkPublicPrefix(prefix: string, field: string): PrefixReach {
  const reach = prefixReach(prefix);
  if (reach === 'system') throw forbidden(field, prefix);
  return reach;
}

/** Every key a txn compares, writes or reads. */
export function checkPublicTxn(request: TxnRequest): TxnRequest {
  request.compare.forEach((c, i) => checkPublicKey(c.key, `compare[${i}].key`));
  for (const branch of ['success', 'failure'] as const) {
    request[branch].forEach((op, i) => {
      const [kind, body] = Object.entries(op)[0] as [string, { key: string }];
      checkPublicKey(body.key, `${branch}[${i}].${kind}.key`);
    });
  }
  return request;
}
