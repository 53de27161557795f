/**
 * Conversions between the config store's types (bytes, commands, responses)
 * and the HTTP API's JSON views (UTF-8 strings).
 */
import type { Command, Compare, TxnOp } from '../control/store/commands.js';
import type { KeyValue, StoreEvent, StoreResponse, TxnOpResult } from '../control/store/types.js';
import type { KvView, PutRequest, TxnOpResultView, TxnOpView, TxnRequest, TxnResult, WatchEventView } from './config-types.js';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A command without its request id: the shell that proposes it assigns one. */
export type CommandBody = Command extends infer C ? (C extends { req: unknown } ? Omit<C, 'req'> : never) : never;

export function kvView(kv: KeyValue): KvView {
  const v: KvView = {
    key: kv.key,
    value: utf8Decoder.decode(kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
  };
  if (kv.lease !== 0) v.lease = kv.lease;
  return v;
}

export function eventView(e: StoreEvent): WatchEventView {
  const v: WatchEventView = { type: e.type, revision: e.kv.modRevision, kv: kvView(e.kv) };
  if (e.prevKv !== undefined) v.prevKv = kvView(e.prevKv);
  return v;
}

export function putCommand(r: PutRequest): CommandBody {
  return {
    type: 'put',
    key: r.key,
    value: utf8.encode(r.value),
    ...(r.lease === undefined ? {} : { lease: r.lease }),
    ...(r.prevRevision === undefined ? {} : { prevRevision: r.prevRevision }),
  };
}

function compareOf(c: TxnRequest['compare'][number]): Compare {
  if (c.target === 'value') return { key: c.key, target: 'value', op: c.op, value: utf8.encode(String(c.value)) };
  return { key: c.key, target: c.target, op: c.op, value: Number(c.value) };
}

function opOf(op: TxnOpView): TxnOp {
  if ('put' in op) {
    return { type: 'put', key: op.put.key, value: utf8.encode(op.put.value), ...(op.put.lease === undefined ? {} : { lease: op.put.lease }) };
  }
  if ('delete' in op) return { type: 'delete', key: op.delete.key };
  return { type: 'get', key: op.get.key };
}

export function txnCommand(r: TxnRequest): CommandBody {
  return { type: 'txn', compare: r.compare.map(compareOf), success: r.success.map(opOf), failure: r.failure.map(opOf) };
}

function opResultView(r: TxnOpResult): TxnOpResultView {
  switch (r.kind) {
    case 'put':
      return { put: r.prevKv === undefined ? {} : { prevKv: kvView(r.prevKv) } };
    case 'delete':
      return { delete: { deleted: r.deleted, ...(r.prevKv === undefined ? {} : { prevKv: kvView(r.prevKv) }) } };
    case 'get':
      return { get: r.kv === undefined ? {} : { kv: kvView(r.kv) } };
  }
}

export function txnResultView(response: StoreResponse, revision: number): TxnResult {
  if (response.kind !== 'txn') return { succeeded: false, revision, responses: [] };
  return { succeeded: response.succeeded, revision, responses: response.results.map(opResultView) };
}
