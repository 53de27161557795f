/**
 * What each command does to the store, as etcd's applier: preconditions
 * first (leases exist, capacity, the space quota, prevRevision), so a
 * refused command changes nothing; then the writes of one revision through a
 * RevisionWriter.
 *
 * The space quota (space.ts) is checked against the exact growth of a
 * command, computed before it runs and asserted after: a command that would
 * grow the store past the quota, or any that grows it while the NOSPACE
 * alarm is raised, is refused with ERR_NO_SPACE (config-store.ts: admit). Commands that do not grow
 * it (deletes, lease revokes and keep-alives, compaction, a txn whose deletes
 * free as much as its puts take) always run, as in etcd.
 */
import { assert } from '../../util/assert.js';
import { ErrorCode } from '../../util/errors.js';
import type { Command, TxnOp } from './commands.js';
import { evaluateCompare } from './compare.js';
import type { KeyIndex } from './key-index.js';
import { compareKeys, utf8Bytes } from './keys.js';
import type { Lessor } from './leases.js';
import type { StoreCapacity } from './limits.js';
import type { RevisionWriter } from './revision-writer.js';
import { deleteGrowthBytes, leaseBytes, putGrowthBytes, recordOverheadBytes } from './space.js';
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
  /** Accounted bytes of the store (space.ts). */
  readonly usedBytes: number;
  /** Undefined when a command growing the store by growthBytes may run; else ERR_NO_SPACE (and the alarm is raised). */
  admit(growthBytes: number): StoreFailure | undefined;
  setQuota(quotaBytes: number): void;
}

export function executeCommand(ctx: ExecContext, c: Command): Outcome {
  switch (c.type) {
    case 'put': {
      const lease = c.lease ?? noLease;
      const ops: TxnOp[] = [{ type: 'put', key: c.key, value: c.value }];
      const pre = checkLease(ctx, lease) ?? checkKeys(ctx, ops);
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
      const growth = growthOf(ctx, ops);
      const full = ctx.admit(growth);
      if (full !== undefined) return { ok: false, error: full };
      const before = ctx.usedBytes;
      const w = ctx.writer();
      const prevKv = w.put(c.key, c.value, lease);
      ctx.commit(w);
      assertGrowth(ctx, before, growth);
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
      {
        const full = ctx.admit(leaseBytes);
        if (full !== undefined) return { ok: false, error: full };
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
    case 'setQuota':
      ctx.setQuota(c.quotaBytes);
      return { ok: true, response: { kind: 'setQuota', quotaBytes: c.quotaBytes } };
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
  const tooMany = checkKeys(ctx, ops);
  if (tooMany !== undefined) return { ok: false, error: tooMany };
  const growth = growthOf(ctx, ops);
  const full = ctx.admit(growth);
  if (full !== undefined) return { ok: false, error: full };
  const before = ctx.usedBytes;
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
  assertGrowth(ctx, before, growth);
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

/** Refuse writes that would add keys past keysMax (shrinking is always allowed). */
function checkKeys(ctx: ExecContext, ops: readonly TxnOp[]): StoreFailure | undefined {
  let keysDelta = 0;
  for (const op of ops) {
    const prev = ctx.keys.get(op.key);
    if (op.type === 'put' && prev === undefined) keysDelta += 1;
    else if (op.type === 'delete' && prev !== undefined) keysDelta -= 1;
  }
  if (keysDelta > 0 && ctx.keys.size + keysDelta > ctx.capacity.keysMax) {
    return { code: ErrorCode.ResourceExhausted, message: `the store holds ${ctx.keys.size} keys, at most ${ctx.capacity.keysMax}` };
  }
  return undefined;
}

/** The exact growth of the store's accounted bytes if these ops run as one revision (space.ts). */
function growthOf(ctx: ExecContext, ops: readonly TxnOp[]): number {
  let writes = 0;
  let growth = 0;
  for (const op of ops) {
    if (op.type === 'put') {
      writes++;
      growth += putGrowthBytes(utf8Bytes(op.key), op.value.length, ctx.keys.get(op.key));
    } else if (op.type === 'delete' && ctx.keys.get(op.key) !== undefined) {
      writes++;
      growth += deleteGrowthBytes;
    }
  }
  return writes === 0 ? 0 : growth + recordOverheadBytes;
}

function assertGrowth(ctx: ExecContext, before: number, growth: number): void {
  assert(ctx.usedBytes - before === growth, `space accounting: grew by ${ctx.usedBytes - before} bytes, ${growth} expected`);
}

function failed(code: ErrorCode, message: string, details: Record<string, string | number | boolean>): Outcome {
  return { ok: false, error: { code, message, details } };
}
