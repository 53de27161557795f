/**
 * What each command does to the store, as etcd's applier: preconditions
 * first (leases exist, capacity, prevRevision), so a refused command changes
 * nothing; then the writes of one revision through a RevisionWriter.
 */
import { ErrorCode } from '../../util/errors.js';
import type { Command, TxnOp } from './commands.js';
import { evaluateCompare } from './compare.js';
import type { KeyIndex } from './key-index.js';
import { compareKeys, utf8Bytes } from './keys.js';
import type { Lessor } from './leases.js';
import type { StoreCapacity } from './limits.js';
import type { RevisionWriter } from './revision-writer.js';
import { noLease, optional, type LeaseId, type StoreFailure, type StoreResponse, type TxnOpResult } from './types.js';

export type Outcome = { ok: true; response: StoreResponse } | { ok: false; error: StoreFailure };

/** The store's parts a command may change. */
export interface ExecContext {
  readonly keys: KeyIndex;
  readonly lessor: Lessor;
  readonly capacity: Readonly<StoreCapacity>;
  readonly revision: number;
  readonly compactedRevision: number;
  /** A writer for the next revision. */
  writer(): RevisionWriter;
  /** Make the writer's changes a revision (nothing if it changed nothing). */
  commit(w: RevisionWriter): void;
  compactTo(revision: number): void;
}

export function executeCommand(ctx: ExecContext, c: Command): Outcome {
  switch (c.type) {
    case 'put': {
      const lease = c.lease ?? noLease;
      const pre = checkLease(ctx, lease) ?? checkCapacity(ctx, [{ type: 'put', key: c.key, value: c.value }]);
      if (pre !== undefined) return { ok: false, error: pre };
      if (c.prevRevision !== undefined) {
        const modRevision = ctx.keys.get(c.key)?.modRevision ?? 0;
        if (modRevision !== c.prevRevision) {
          return failed(ErrorCode.Conflict, `key ${c.key} is at modRevision ${modRevision}, not ${c.prevRevision}`, {
            key: c.key,
            modRevision,
          });
        }
      }
      const w = ctx.writer();
      const prevKv = w.put(c.key, c.value, lease);
      ctx.commit(w);
      return { ok: true, response: { kind: 'put', ...optional('prevKv', prevKv) } };
    }
    case 'delete': {
      const w = ctx.writer();
      const prevKv = w.delete(c.key);
      ctx.commit(w);
      return { ok: true, response: { kind: 'delete', deleted: prevKv === undefined ? 0 : 1, ...optional('prevKv', prevKv) } };
    }
    case 'deleteRange': {
      const w = ctx.writer();
      let deleted = 0;
      for (const key of [...ctx.keys.keysWithPrefix(c.prefix)]) if (w.delete(key) !== undefined) deleted++;
      ctx.commit(w);
      return { ok: true, response: { kind: 'deleteRange', deleted } };
    }
    case 'txn':
      return executeTxn(ctx, c);
    case 'leaseGrant':
      if (ctx.lessor.get(c.id) !== undefined) return failed(ErrorCode.Conflict, `lease ${c.id} already exists`, { lease: c.id });
      if (ctx.lessor.size >= ctx.capacity.leasesMax) {
        return failed(ErrorCode.ResourceExhausted, `${ctx.lessor.size} leases, at most ${ctx.capacity.leasesMax}`, {});
      }
      ctx.lessor.grant(c.id, c.ttlMs);
      return { ok: true, response: { kind: 'leaseGrant', id: c.id, ttlMs: c.ttlMs } };
    case 'leaseKeepAlive': {
      const missing = checkLease(ctx, c.id);
      if (missing !== undefined) return { ok: false, error: missing };
      const l = ctx.lessor.keepAlive(c.id);
      return { ok: true, response: { kind: 'leaseKeepAlive', id: c.id, ttlMs: l.ttlMs } };
    }
    case 'leaseRevoke': {
      const missing = checkLease(ctx, c.id);
      if (missing !== undefined) return { ok: false, error: missing };
      const deleted = deleteLeaseKeys(ctx, [c.id]);
      return { ok: true, response: { kind: 'leaseRevoke', deleted } };
    }
    case 'leaseExpire': {
      const expired: LeaseId[] = [];
      c.ids.forEach((id, i) => {
        const l = ctx.lessor.get(id);
        // A keep-alive applied after the leader decided wins: the lease lives on.
        if (l !== undefined && l.keepAlives === c.keepAlives[i] && !expired.includes(id)) expired.push(id);
      });
      const deleted = deleteLeaseKeys(ctx, expired);
      return { ok: true, response: { kind: 'leaseExpire', expired, deleted } };
    }
    case 'compact':
      if (c.revision > ctx.revision) {
        return failed(ErrorCode.InvalidArgument, `cannot compact to revision ${c.revision}: the current one is ${ctx.revision}`, {
          revision: c.revision,
          currentRevision: ctx.revision,
        });
      }
      if (c.revision <= ctx.compactedRevision) {
        return failed(ErrorCode.Compacted, `revision ${c.revision} is compacted: the oldest available revision is ${ctx.compactedRevision}`, {
          revision: c.revision,
          oldestRevision: ctx.compactedRevision,
        });
      }
      ctx.compactTo(c.revision);
      return { ok: true, response: { kind: 'compact', compactedRevision: c.revision } };
  }
}

function executeTxn(ctx: ExecContext, c: Extract<Command, { type: 'txn' }>): Outcome {
  const succeeded = c.compare.every((cmp) => evaluateCompare(cmp, ctx.keys.get(cmp.key)));
  const ops = succeeded ? c.success : c.failure;
  for (const op of ops) {
    if (op.type !== 'put') continue;
    const missing = checkLease(ctx, op.lease ?? noLease);
    if (missing !== undefined) return { ok: false, error: missing };
  }
  const full = checkCapacity(ctx, ops);
  if (full !== undefined) return { ok: false, error: full };
  const w = ctx.writer();
  // Ops run in order; a get sees the writes of the ops before it (etcd's txn reads its own writes).
  const results: TxnOpResult[] = ops.map((op): TxnOpResult => {
    switch (op.type) {
      case 'put':
        return { kind: 'put', ...optional('prevKv', w.put(op.key, op.value, op.lease ?? noLease)) };
      case 'delete': {
        const prevKv = w.delete(op.key);
        return { kind: 'delete', deleted: prevKv === undefined ? 0 : 1, ...optional('prevKv', prevKv) };
      }
      case 'get':
        return { kind: 'get', ...optional('kv', ctx.keys.get(op.key)) };
    }
  });
  ctx.commit(w);
  return { ok: true, response: { kind: 'txn', succeeded, results } };
}

function deleteLeaseKeys(ctx: ExecContext, ids: readonly LeaseId[]): number {
  const w = ctx.writer();
  let deleted = 0;
  for (const id of ids) {
    for (const key of ctx.lessor.remove(id).sort(compareKeys)) if (w.delete(key) !== undefined) deleted++;
  }
  ctx.commit(w);
  return deleted;
}

function checkLease(ctx: ExecContext, lease: LeaseId): StoreFailure | undefined {
  if (lease === noLease || ctx.lessor.get(lease) !== undefined) return undefined;
  return { code: ErrorCode.NotFound, message: `lease ${lease} not found`, details: { lease } };
}

/** Refuse writes that would grow the store past its capacity (shrinking is always allowed). */
function checkCapacity(ctx: ExecContext, ops: readonly TxnOp[]): StoreFailure | undefined {
  let keysDelta = 0;
  let bytesDelta = 0;
  for (const op of ops) {
    const prev = ctx.keys.get(op.key);
    if (op.type === 'put') {
      keysDelta += prev === undefined ? 1 : 0;
      bytesDelta += op.value.length - (prev === undefined ? -utf8Bytes(op.key) : prev.value.length);
    } else if (op.type === 'delete' && prev !== undefined) {
      keysDelta -= 1;
    }
  }
  if (keysDelta > 0 && ctx.keys.size + keysDelta > ctx.capacity.keysMax) {
    return { code: ErrorCode.ResourceExhausted, message: `the store holds ${ctx.keys.size} keys, at most ${ctx.capacity.keysMax}` };
  }
  if (bytesDelta > 0 && ctx.keys.dataBytes + bytesDelta > ctx.capacity.dataBytesMax) {
    return { code: ErrorCode.ResourceExhausted, message: `the store holds ${ctx.keys.dataBytes} bytes, at most ${ctx.capacity.dataBytesMax}` };
  }
  return undefined;
}

function failed(code: ErrorCode, message: string, details: Record<string, string | number | boolean>): Outcome {
  return { ok: false, error: { code, message, details } };
}
