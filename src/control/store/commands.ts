/**
 * What is proposed through Raft to the config store, and its encoding.
 *
 * Encoding: UTF-8 JSON with values in base64, one object per command with a
 * format version. JSON keeps entries readable in WAL dumps; decode is bounded
 * by storeLimits.encodedCommandBytesMax, checks every field's type, then
 * validates the command (validate.ts), and never throws: it returns a result.
 */
import { ErrorCode, ShoalError } from '../../util/errors.js';
import {
  arr,
  bytes,
  JsonReadFail,
  obj,
  oneOf,
  optUint,
  parseJsonBytes,
  str,
  toBase64,
  uint,
  uintValue,
  type JsonObject,
} from './json-read.js';
import { utf8Encode } from './keys.js';
import { storeLimits } from './limits.js';
import type { LeaseId, RequestId } from './types.js';
import { validateCommand } from './validate.js';

export const compareTargets = ['value', 'version', 'createRevision', 'modRevision'] as const;
export type CompareTarget = (typeof compareTargets)[number];
export const compareOps = ['=', '!=', '<', '>'] as const;
export type CompareOp = (typeof compareOps)[number];

/**
 * One condition of a txn, as etcd's Compare. On a missing key, version,
 * createRevision and modRevision are 0, and a 'value' compare is false
 * whatever the op ('!=' too): an absent value is not comparable (etcd).
 */
export type Compare =
  | { readonly key: string; readonly target: 'value'; readonly op: CompareOp; readonly value: Uint8Array }
  | {
      readonly key: string;
      readonly target: 'version' | 'createRevision' | 'modRevision';
      readonly op: CompareOp;
      readonly value: number;
    };

export type TxnOp =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array; readonly lease?: LeaseId }
  | { readonly type: 'delete'; readonly key: string }
  | { readonly type: 'get'; readonly key: string };

/** ONLY APPEND to command types: they are written to the Raft log. */
export const commandTypes = [
  'put',
  'delete',
  'deleteRange',
  'txn',
  'leaseGrant',
  'leaseKeepAlive',
  'leaseRevoke',
  'leaseExpire',
  'compact',
  'setQuota',
] as const;
export type CommandType = (typeof commandTypes)[number];

export type Command =
  | {
      readonly type: 'put';
      readonly req: RequestId;
      readonly key: string;
      readonly value: Uint8Array;
      /** Attach to this lease (it must exist); without it the key has no lease. */
      readonly lease?: LeaseId;
      /** Put only if the key's modRevision is this (0: only if absent); else ERR_CONFLICT. */
      readonly prevRevision?: number;
    }
  | { readonly type: 'delete'; readonly req: RequestId; readonly key: string }
  | { readonly type: 'deleteRange'; readonly req: RequestId; readonly prefix: string }
  | {
      readonly type: 'txn';
      readonly req: RequestId;
      readonly compare: readonly Compare[];
      readonly success: readonly TxnOp[];
      readonly failure: readonly TxnOp[];
    }
  | { readonly type: 'leaseGrant'; readonly req: RequestId; readonly id: LeaseId; readonly ttlMs: number }
  | { readonly type: 'leaseKeepAlive'; readonly req: RequestId; readonly id: LeaseId }
  | { readonly type: 'leaseRevoke'; readonly req: RequestId; readonly id: LeaseId }
  | {
      /** Proposed by the leader when its clock says these leases expired (see leases.ts). */
      readonly type: 'leaseExpire';
      readonly req: RequestId;
      readonly ids: readonly LeaseId[];
      /**
       * keepAlives[i]: the keep-alive count of ids[i] the leader saw when it
       * decided. A lease kept alive since (its count moved on) is not expired.
       */
      readonly keepAlives: readonly number[];
      /** The leader's clock when it decided; informational (never compared on replicas). */
      readonly leaderTimeMs: number;
    }
  | { readonly type: 'compact'; readonly req: RequestId; readonly revision: number }
  | {
      /**
       * Set the space quota (StoreCapacity.quotaBytes), in
       * [storeLimits.quotaBytesMin, storeLimits.quotaBytesMax]: proposed by the
       * leader when its configured --quota-bytes differs from the store's.
       */
      readonly type: 'setQuota';
      readonly req: RequestId;
      readonly quotaBytes: number;
    };

const formatVersion = 1;

export type DecodeResult = { readonly ok: true; readonly command: Command } | { readonly ok: false; readonly error: ShoalError };

export function encodeCommand(command: Command): Uint8Array {
  return utf8Encode(JSON.stringify(toWire(command)));
}

/** Bounded, never throws. Checks structure, then validateCommand(). */
export function decodeCommand(data: Uint8Array): DecodeResult {
  if (data.length > storeLimits.encodedCommandBytesMax) {
    return fail(`command of ${data.length} bytes, at most ${storeLimits.encodedCommandBytesMax}`);
  }
  let command: Command;
  try {
    command = fromWire(obj(parseJsonBytes(data), 'command'));
  } catch (e) {
    if (e instanceof JsonReadFail) return fail(e.message);
    return fail('malformed command');
  }
  const invalid = validateCommand(command);
  if (invalid !== undefined) return { ok: false, error: invalid };
  return { ok: true, command };
}

function fail(message: string): DecodeResult {
  return { ok: false, error: new ShoalError(ErrorCode.DecodeFailed, `config command: ${message}`) };
}

function toWire(c: Command): Record<string, unknown> {
  const base = { v: formatVersion, type: c.type, client: c.req.client, seq: c.req.seq };
  switch (c.type) {
    case 'put':
      return { ...base, key: c.key, value: toBase64(c.value), lease: c.lease, prevRevision: c.prevRevision };
    case 'delete':
      return { ...base, key: c.key };
    case 'deleteRange':
      return { ...base, prefix: c.prefix };
    case 'txn':
      return {
        ...base,
        compare: c.compare.map((x) => (x.target === 'value' ? { ...x, value: toBase64(x.value) } : x)),
        success: c.success.map(opToWire),
        failure: c.failure.map(opToWire),
      };
    case 'leaseGrant':
      return { ...base, id: c.id, ttlMs: c.ttlMs };
    case 'leaseKeepAlive':
    case 'leaseRevoke':
      return { ...base, id: c.id };
    case 'leaseExpire':
      return { ...base, ids: c.ids, keepAlives: c.keepAlives, leaderTimeMs: c.leaderTimeMs };
    case 'compact':
      return { ...base, revision: c.revision };
    case 'setQuota':
      return { ...base, quotaBytes: c.quotaBytes };
  }
}

function opToWire(op: TxnOp): Record<string, unknown> {
  return op.type === 'put' ? { ...op, value: toBase64(op.value) } : { ...op };
}

const keyLengthMax = storeLimits.keyBytesMax; // UTF-16 units never exceed UTF-8 bytes

function fromWire(o: JsonObject): Command {
  if (uint(o, 'v') !== formatVersion) throw new JsonReadFail('unknown format version');
  const type = oneOf(o, 'type', commandTypes);
  const req: RequestId = { client: str(o, 'client', storeLimits.clientIdBytesMax), seq: uint(o, 'seq') };
  switch (type) {
    case 'put': {
      const lease = optUint(o, 'lease');
      const prevRevision = optUint(o, 'prevRevision');
      return {
        type,
        req,
        key: str(o, 'key', keyLengthMax),
        value: bytes(o, 'value', storeLimits.valueBytesMax),
        ...(lease === undefined ? {} : { lease }),
        ...(prevRevision === undefined ? {} : { prevRevision }),
      };
    }
    case 'delete':
      return { type, req, key: str(o, 'key', keyLengthMax) };
    case 'deleteRange':
      return { type, req, prefix: str(o, 'prefix', keyLengthMax) };
    case 'txn':
      return {
        type,
        req,
        compare: arr(o.compare, 'compare', storeLimits.txnOpsMax).map((x) => compareFromWire(obj(x, 'compare'))),
        success: arr(o.success, 'success', storeLimits.txnOpsMax).map((x) => opFromWire(obj(x, 'op'))),
        failure: arr(o.failure, 'failure', storeLimits.txnOpsMax).map((x) => opFromWire(obj(x, 'op'))),
      };
    case 'leaseGrant':
      return { type, req, id: uint(o, 'id'), ttlMs: uint(o, 'ttlMs') };
    case 'leaseKeepAlive':
    case 'leaseRevoke':
      return { type, req, id: uint(o, 'id') };
    case 'leaseExpire': {
      const ids = arr(o.ids, 'ids', storeLimits.leaseExpireIdsMax).map((x) => uintValue(x, 'ids'));
      const keepAlives = arr(o.keepAlives, 'keepAlives', storeLimits.leaseExpireIdsMax).map((x) => uintValue(x, 'keepAlives'));
      return { type, req, ids, keepAlives, leaderTimeMs: uint(o, 'leaderTimeMs') };
    }
    case 'compact':
      return { type, req, revision: uint(o, 'revision') };
    case 'setQuota':
      return { type, req, quotaBytes: uint(o, 'quotaBytes') };
  }
}

function compareFromWire(o: JsonObject): Compare {
  const key = str(o, 'key', keyLengthMax);
  const target = oneOf(o, 'target', compareTargets);
  const op = oneOf(o, 'op', compareOps);
  if (target === 'value') return { key, target, op, value: bytes(o, 'value', storeLimits.valueBytesMax) };
  return { key, target, op, value: uint(o, 'value') };
}

function opFromWire(o: JsonObject): TxnOp {
  const type = oneOf(o, 'type', ['put', 'delete', 'get'] as const);
  const key = str(o, 'key', keyLengthMax);
  if (type !== 'put') return { type, key };
  const lease = optUint(o, 'lease');
  return { type, key, value: bytes(o, 'value', storeLimits.valueBytesMax), ...(lease === undefined ? {} : { lease }) };
}
