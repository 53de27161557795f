/**
 * Validation of config store requests, before they are proposed and again
 * when they are applied. Field problems are ERR_INVALID_ARGUMENT, problems of
 * the request's shape (too many ops, too large, a key written twice in one
 * txn) are ERR_BAD_REQUEST; both map to HTTP 400. Details name the field and
 * the limit.
 */
import { ErrorCode, ShoalError } from '../../util/errors.js';
import type { Command, Compare, TxnOp } from './commands.js';
import { firstUnprintableIndex, utf8Bytes } from './keys.js';
import { storeLimits } from './limits.js';
import type { RequestId } from './types.js';

type Invalid = ShoalError | undefined;

function invalid(message: string, details: Record<string, string | number>): ShoalError {
  return new ShoalError(ErrorCode.InvalidArgument, message, { details });
}

function badRequest(message: string, details: Record<string, string | number>): ShoalError {
  return new ShoalError(ErrorCode.BadRequest, message, { details });
}

/** A key: non-empty, at most keyBytesMax UTF-8 bytes, printable (no NUL or other control characters). */
export function validateKey(key: string, field = 'key'): Invalid {
  if (typeof key !== 'string') return invalid(`${field} is not a string`, { field });
  if (key.length === 0) return invalid(`${field} is empty`, { field });
  return validateKeyText(key, field);
}

/** A prefix of range, watch and deleteRange: like a key, but "" (every key) is allowed. */
export function validatePrefix(prefix: string, field = 'prefix'): Invalid {
  if (typeof prefix !== 'string') return invalid(`${field} is not a string`, { field });
  return validateKeyText(prefix, field);
}

function validateKeyText(key: string, field: string): Invalid {
  const sizeBytes = utf8Bytes(key);
  if (sizeBytes > storeLimits.keyBytesMax) {
    return invalid(`${field} is ${sizeBytes} bytes, at most ${storeLimits.keyBytesMax}`, {
      field,
      sizeBytes,
      limitBytes: storeLimits.keyBytesMax,
    });
  }
  const at = firstUnprintableIndex(key);
  if (at >= 0) {
    const unit = key.charCodeAt(at);
    const what = unit === 0 ? 'NUL' : `U+${unit.toString(16).toUpperCase().padStart(4, '0')}`;
    return invalid(`${field} has an unprintable character (${what}) at index ${at}`, { field, index: at });
  }
  return undefined;
}

export function validateValue(value: Uint8Array, field = 'value'): Invalid {
  if (!(value instanceof Uint8Array)) return invalid(`${field} is not bytes`, { field });
  if (value.length > storeLimits.valueBytesMax) {
    return invalid(`${field} is ${value.length} bytes, at most ${storeLimits.valueBytesMax}`, {
      field,
      sizeBytes: value.length,
      limitBytes: storeLimits.valueBytesMax,
    });
  }
  return undefined;
}

export function validateRequestId(req: RequestId): Invalid {
  if (typeof req !== 'object' || req === null) return invalid('request id is missing', { field: 'req' });
  if (typeof req.client !== 'string' || req.client.length === 0) return invalid('request id has no client', { field: 'req.client' });
  if (utf8Bytes(req.client) > storeLimits.clientIdBytesMax) {
    return invalid(`client id is longer than ${storeLimits.clientIdBytesMax} bytes`, { field: 'req.client' });
  }
  if (!isPositiveInt(req.seq)) return invalid('request seq must be a positive integer', { field: 'req.seq' });
  return undefined;
}

function isPositiveInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

function isUint(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function validateLeaseId(id: unknown, field: string): Invalid {
  return isPositiveInt(id) ? undefined : invalid(`${field} must be a positive integer lease id`, { field });
}

/** Everything a command must satisfy before it is proposed; apply() checks it again. */
export function validateCommand(c: Command): Invalid {
  const bad = validateRequestId(c.req);
  if (bad !== undefined) return bad;
  switch (c.type) {
    case 'put': {
      const e = validateKey(c.key) ?? validateValue(c.value);
      if (e !== undefined) return e;
      if (c.lease !== undefined && c.lease !== 0) {
        const l = validateLeaseId(c.lease, 'lease');
        if (l !== undefined) return l;
      }
      if (c.prevRevision !== undefined && !isUint(c.prevRevision)) {
        return invalid('prevRevision must be a non-negative integer', { field: 'prevRevision' });
      }
      return requestSize(utf8Bytes(c.key) + c.value.length);
    }
    case 'delete':
      return validateKey(c.key);
    case 'deleteRange':
      if (c.prefix === '') return invalid('deleteRange needs a non-empty prefix', { field: 'prefix' });
      return validatePrefix(c.prefix);
    case 'txn':
      return validateTxn(c.compare, c.success, c.failure);
    case 'leaseGrant':
      if (!isUint(c.ttlMs) || c.ttlMs < storeLimits.leaseTtlMsMin || c.ttlMs > storeLimits.leaseTtlMsMax) {
        return invalid(`ttlMs must be an integer in [${storeLimits.leaseTtlMsMin}, ${storeLimits.leaseTtlMsMax}]`, {
          field: 'ttlMs',
        });
      }
      return validateLeaseId(c.id, 'id');
    case 'leaseKeepAlive':
    case 'leaseRevoke':
      return validateLeaseId(c.id, 'id');
    case 'leaseExpire': {
      if (!Array.isArray(c.ids) || !Array.isArray(c.keepAlives) || c.ids.length !== c.keepAlives.length) {
        return badRequest('leaseExpire needs one keepAlives count per id', { field: 'keepAlives' });
      }
      if (c.ids.length > storeLimits.leaseExpireIdsMax) {
        return badRequest(`leaseExpire has ${c.ids.length} ids, at most ${storeLimits.leaseExpireIdsMax}`, { field: 'ids' });
      }
      for (const id of c.ids) {
        const l = validateLeaseId(id, 'ids');
        if (l !== undefined) return l;
      }
      if (!c.keepAlives.every(isUint)) return invalid('keepAlives must be non-negative integers', { field: 'keepAlives' });
      if (!isUint(c.leaderTimeMs)) return invalid('leaderTimeMs must be a non-negative integer', { field: 'leaderTimeMs' });
      return undefined;
    }
    case 'compact':
      return isUint(c.revision) ? undefined : invalid('revision must be a non-negative integer', { field: 'revision' });
    case 'setQuota':
      if (!isUint(c.quotaBytes) || c.quotaBytes < storeLimits.quotaBytesMin || c.quotaBytes > storeLimits.quotaBytesMax) {
        return invalid(`quotaBytes must be an integer in [${storeLimits.quotaBytesMin}, ${storeLimits.quotaBytesMax}]`, { field: 'quotaBytes' });
      }
      return undefined;
    default:
      return badRequest(`unknown command type ${String((c as { type: unknown }).type)}`, { field: 'type' });
  }
}

function validateTxn(compare: readonly Compare[], success: readonly TxnOp[], failure: readonly TxnOp[]): Invalid {
  for (const [field, list] of [
    ['compare', compare],
    ['success', success],
    ['failure', failure],
  ] as const) {
    if (!Array.isArray(list)) return badRequest(`txn ${field} is not a list`, { field });
    if (list.length > storeLimits.txnOpsMax) {
      return badRequest(`txn ${field} has ${list.length} entries, at most ${storeLimits.txnOpsMax}`, {
        field,
        count: list.length,
        limit: storeLimits.txnOpsMax,
      });
    }
  }
  let sizeBytes = 0;
  for (const c of compare) {
    const e = validateKey(c.key, 'compare.key');
    if (e !== undefined) return e;
    if (!['=', '!=', '<', '>'].includes(c.op)) return invalid(`unknown compare op ${String(c.op)}`, { field: 'compare.op' });
    if (c.target === 'value') {
      const v = validateValue(c.value, 'compare.value');
      if (v !== undefined) return v;
      sizeBytes += c.value.length;
    } else if (c.target === 'version' || c.target === 'createRevision' || c.target === 'modRevision') {
      if (!isUint(c.value)) return invalid(`compare ${c.target} needs a non-negative integer`, { field: 'compare.value' });
    } else {
      return invalid(`unknown compare target ${String((c as { target: unknown }).target)}`, { field: 'compare.target' });
    }
    sizeBytes += utf8Bytes(c.key);
  }
  for (const [field, ops] of [
    ['success', success],
    ['failure', failure],
  ] as const) {
    const written = new Set<string>();
    for (const op of ops) {
      const e = validateKey(op.key, `${field}.key`);
      if (e !== undefined) return e;
      sizeBytes += utf8Bytes(op.key);
      if (op.type === 'get') continue;
      if (op.type !== 'put' && op.type !== 'delete') {
        return invalid(`unknown txn op ${String((op as { type: unknown }).type)}`, { field: `${field}.type` });
      }
      // etcd refuses a key written twice in one txn: one revision holds one change per key.
      if (written.has(op.key)) return badRequest(`txn ${field} writes key ${op.key} twice`, { field, key: op.key });
      written.add(op.key);
      if (op.type === 'put') {
        const v = validateValue(op.value, `${field}.value`);
        if (v !== undefined) return v;
        if (op.lease !== undefined && op.lease !== 0) {
          const l = validateLeaseId(op.lease, `${field}.lease`);
          if (l !== undefined) return l;
        }
        sizeBytes += op.value.length;
      }
    }
  }
  return requestSize(sizeBytes);
}

function requestSize(sizeBytes: number): Invalid {
  if (sizeBytes <= storeLimits.requestBytesMax) return undefined;
  return badRequest(`request is ${sizeBytes} bytes, at most ${storeLimits.requestBytesMax}`, {
    field: 'request',
    sizeBytes,
    limitBytes: storeLimits.requestBytesMax,
  });
}
