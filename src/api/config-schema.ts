/**
 * Strict checks of the control API's request bodies and query strings. Every
 * object is checked for unknown fields (400 ERR_BAD_REQUEST naming the field
 * in details.field), every field for its type, keys and values against the
 * store's limits (400 ERR_INVALID_ARGUMENT naming the field).
 */
import { storeLimits } from '../control/store/limits.js';
import { validateKey, validatePrefix } from '../control/store/validate.js';
import { ErrorCode } from '../util/errors.js';
import { badField, HttpError } from './config-http.js';
import {
  compareOpNames,
  compareTargetNames,
  type LeaseGrantRequest,
  type PutRequest,
  type TxnCompareView,
  type TxnOpView,
  type TxnRequest,
} from './config-types.js';

type Json = Record<string, unknown>;

/** The body as an object whose fields are all in `allowed` and whose `required` fields are present. */
export function strictObject(value: unknown, path: string, allowed: readonly string[], required: readonly string[] = []): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badField(path, `${path} must be a JSON object`);
  }
  const o = value as Json;
  for (const k of Object.keys(o)) {
    const field = path === 'body' ? k : `${path}.${k}`;
    if (!allowed.includes(k)) throw badField(field, `unknown field "${field}" (allowed: ${allowed.join(', ')})`);
  }
  for (const k of required) {
    const field = path === 'body' ? k : `${path}.${k}`;
    if (o[k] === undefined) throw badField(field, `missing field "${field}"`);
  }
  return o;
}

function fieldName(path: string, k: string): string {
  return path === 'body' ? k : `${path}.${k}`;
}

export function checkKey(key: unknown, field: string): string {
  if (typeof key !== 'string') throw badField(field, `${field} must be a string`);
  const bad = validateKey(key, field);
  if (bad !== undefined) throw new HttpError(400, bad.code, bad.message, { ...bad.details, field });
  return key;
}

export function checkPrefix(prefix: string, field: string): string {
  const bad = validatePrefix(prefix, field);
  if (bad !== undefined) throw new HttpError(400, bad.code, bad.message, { ...bad.details, field });
  return prefix;
}

export function checkValue(value: unknown, field: string): string {
  if (typeof value !== 'string') throw badField(field, `${field} must be a string`);
  const sizeBytes = Buffer.byteLength(value);
  if (sizeBytes > storeLimits.valueBytesMax) {
    throw new HttpError(400, ErrorCode.InvalidArgument, `${field} is ${sizeBytes} bytes, at most ${storeLimits.valueBytesMax}`, {
      field,
      sizeBytes,
      limitBytes: storeLimits.valueBytesMax,
    });
  }
  return value;
}

function checkUint(value: unknown, field: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new HttpError(400, ErrorCode.InvalidArgument, `${field} must be an integer >= ${min}`, { field });
  }
  return value;
}

function checkList(value: unknown, field: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badField(field, `${field} must be a list`);
  if (value.length > storeLimits.txnOpsMax) {
    throw new HttpError(400, ErrorCode.BadRequest, `${field} has ${value.length} entries, at most ${storeLimits.txnOpsMax}`, {
      field,
      count: value.length,
      limit: storeLimits.txnOpsMax,
    });
  }
  return value;
}

/** PUT /v1/config/{key} body: {"value", "lease"?, "prevRevision"?}. */
export function parsePutBody(body: unknown, key: string): PutRequest {
  const o = strictObject(body, 'body', ['value', 'lease', 'prevRevision'], ['value']);
  const req: PutRequest = { key, value: checkValue(o.value, 'value') };
  if (o.lease !== undefined && o.lease !== 0) req.lease = checkUint(o.lease, 'lease', 1);
  if (o.prevRevision !== undefined) req.prevRevision = checkUint(o.prevRevision, 'prevRevision');
  return req;
}

function parseCompare(value: unknown, path: string): TxnCompareView {
  const o = strictObject(value, path, ['key', 'target', 'op', 'value'], ['key', 'target', 'op', 'value']);
  const key = checkKey(o.key, fieldName(path, 'key'));
  const target = o.target;
  if (typeof target !== 'string' || !(compareTargetNames as readonly string[]).includes(target)) {
    throw badField(fieldName(path, 'target'), `${fieldName(path, 'target')} must be one of ${compareTargetNames.join(', ')}`);
  }
  const op = o.op;
  if (typeof op !== 'string' || !(compareOpNames as readonly string[]).includes(op)) {
    throw badField(fieldName(path, 'op'), `${fieldName(path, 'op')} must be one of ${compareOpNames.join(' ')}`);
  }
  const v = target === 'value' ? checkValue(o.value, fieldName(path, 'value')) : checkUint(o.value, fieldName(path, 'value'));
  return { key, target: target as TxnCompareView['target'], op: op as TxnCompareView['op'], value: v };
}

function parseTxnOp(value: unknown, path: string): TxnOpView {
  const o = strictObject(value, path, ['put', 'delete', 'get']);
  const kinds = Object.keys(o);
  if (kinds.length !== 1) throw badField(path, `${path} must hold exactly one of put, delete, get`);
  const kind = kinds[0]!;
  const inner = `${path}.${kind}`;
  if (kind === 'put') {
    const p = strictObject(o.put, inner, ['key', 'value', 'lease'], ['key', 'value']);
    const put: { key: string; value: string; lease?: number } = { key: checkKey(p.key, `${inner}.key`), value: checkValue(p.value, `${inner}.value`) };
    if (p.lease !== undefined && p.lease !== 0) put.lease = checkUint(p.lease, `${inner}.lease`, 1);
    return { put };
  }
  const k = strictObject(o[kind], inner, ['key'], ['key']);
  const key = checkKey(k.key, `${inner}.key`);
  return kind === 'delete' ? { delete: { key } } : { get: { key } };
}

/** POST /v1/config/txn body. */
export function parseTxnBody(body: unknown): TxnRequest {
  const o = strictObject(body, 'body', ['compare', 'success', 'failure']);
  return {
    compare: checkList(o.compare, 'compare').map((c, i) => parseCompare(c, `compare[${i}]`)),
    success: checkList(o.success, 'success').map((op, i) => parseTxnOp(op, `success[${i}]`)),
    failure: checkList(o.failure, 'failure').map((op, i) => parseTxnOp(op, `failure[${i}]`)),
  };
}

/** POST /v1/leases body: {"ttlMs"} or {"ttl"} (seconds), and an optional "id". */
export function parseLeaseGrantBody(body: unknown): LeaseGrantRequest {
  const o = strictObject(body, 'body', ['ttlMs', 'ttl', 'id']);
  if ((o.ttlMs === undefined) === (o.ttl === undefined)) throw badField('ttlMs', 'give exactly one of "ttlMs" (milliseconds) or "ttl" (seconds)');
  const ttlMs = o.ttlMs !== undefined ? checkUint(o.ttlMs, 'ttlMs', 1) : checkUint(o.ttl, 'ttl', 1) * 1000;
  if (ttlMs < storeLimits.leaseTtlMsMin || ttlMs > storeLimits.leaseTtlMsMax) {
    throw new HttpError(400, ErrorCode.InvalidArgument, `lease TTL must be in [${storeLimits.leaseTtlMsMin}, ${storeLimits.leaseTtlMsMax}] ms`, {
      field: o.ttlMs !== undefined ? 'ttlMs' : 'ttl',
    });
  }
  const req: LeaseGrantRequest = { ttlMs };
  if (o.id !== undefined) req.id = checkUint(o.id, 'id', 1);
  return req;
}

/** An empty body, or an object with only the given optional string fields. */
export function parseNames<K extends string>(body: unknown, fields: readonly K[], required: readonly K[] = []): Partial<Record<K, string>> {
  if (body === undefined && required.length === 0) return {};
  const o = strictObject(body, 'body', fields, required);
  const out: Partial<Record<K, string>> = {};
  for (const f of fields) {
    const v = o[f];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0) throw badField(f, `${f} must be a non-empty string`);
    out[f] = v;
  }
  return out;
}

/** A lease id from a path segment. */
export function parseLeaseId(segment: string): number {
  const n = Number(segment);
  if (!/^\d{1,16}$/.test(segment) || !Number.isSafeInteger(n) || n < 1) {
    throw new HttpError(400, ErrorCode.InvalidArgument, `lease id "${segment}" is not a positive integer`, { field: 'id' });
  }
  return n;
}

export type QueryKind = 'bool' | 'uint' | 'string';

/** Query parameters: unknown names are refused, each known one parsed by its kind. */
export function parseQuery<S extends Record<string, QueryKind>>(
  params: URLSearchParams,
  spec: S,
): { [K in keyof S]?: S[K] extends 'bool' ? boolean : S[K] extends 'uint' ? number : string } {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of params) {
    const kind = spec[name];
    if (kind === undefined) throw badField(name, `unknown query parameter "${name}" (allowed: ${Object.keys(spec).join(', ') || 'none'})`);
    if (name in out) throw badField(name, `query parameter "${name}" given twice`);
    if (kind === 'bool') {
      if (raw !== 'true' && raw !== 'false' && raw !== '') throw badField(name, `${name} must be true or false`);
      out[name] = raw !== 'false';
    } else if (kind === 'uint') {
      const n = Number(raw);
      if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(n)) {
        throw new HttpError(400, ErrorCode.InvalidArgument, `${name} must be a non-negative integer`, { field: name });
      }
      out[name] = n;
    } else out[name] = raw;
  }
  return out as { [K in keyof S]?: S[K] extends 'bool' ? boolean : S[K] extends 'uint' ? number : string };
}

/** POST /v1/config/compact body: {"revision": N}. */
export function parseCompactBody(body: unknown): { revision: number } {
  const o = strictObject(body, 'body', ['revision'], ['revision']);
  return { revision: checkUint(o.revision, 'revision', 1) };
}
