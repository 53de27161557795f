/**
 * A client-operation history for linearizability checking, in the shape Jepsen
 * and porcupine use: every operation has an invocation and, maybe, a completion.
 *
 *  - ok:   completed with an output; it took effect between call and return.
 *  - fail: definitely not applied (the server said so); dropped from the check.
 *  - info: outcome unknown (timeout, crash): it may or may not have taken effect,
 *          so it stays pending forever: it may be linearized anywhere after its
 *          invocation, or never.
 * An operation never completed at all is treated like `info`.
 */
import { assert } from '../util/assert.js';

export type OpId = number;

export const OpStatus = {
  Pending: 'pending',
  Ok: 'ok',
  Fail: 'fail',
  Info: 'info',
} as const;
export type OpStatus = (typeof OpStatus)[keyof typeof OpStatus];

export interface Operation<I, O> {
  id: OpId;
  clientId: string;
  input: I;
  /** Set only when status is ok. */
  output: O | undefined;
  callMs: number;
  /** Infinity while pending or when the outcome is unknown. */
  returnMs: number;
  status: OpStatus;
}

/** Refuse to grow past this many operations (a runaway simulation, not a real history). */
export const maxHistoryOps = 1_000_000;

export class History<I, O> {
  private readonly ops: Operation<I, O>[] = [];
  private readonly pendingByClient = new Map<string, OpId>();
  private readonly limitOps: number;
  /** Invocations refused because the history was full. */
  droppedInvocations = 0;

  constructor(options: { limitOps?: number } = {}) {
    this.limitOps = options.limitOps ?? maxHistoryOps;
  }

  /**
   * A client invokes an operation. A client has at most one operation in
   * flight (an info completion frees it). Returns -1 when the history is full.
   */
  invoke(clientId: string, input: I, timeMs: number): OpId {
    assert(!this.pendingByClient.has(clientId), `client ${clientId} already has an operation in flight`);
    if (this.ops.length >= this.limitOps) {
      this.droppedInvocations++;
      return -1;
    }
    const id = this.ops.length;
    this.ops.push({ id, clientId, input, output: undefined, callMs: timeMs, returnMs: Infinity, status: OpStatus.Pending });
    this.pendingByClient.set(clientId, id);
    return id;
  }

  ok(opId: OpId, output: O, timeMs: number): void {
    const op = this.open(opId, timeMs);
    op.status = OpStatus.Ok;
    op.output = output;
    op.returnMs = timeMs;
  }

  /** Definitely not applied. */
  fail(opId: OpId, timeMs: number): void {
    const op = this.open(opId, timeMs);
    op.status = OpStatus.Fail;
    op.returnMs = timeMs;
  }

  /** Outcome unknown: the operation stays pending forever. */
  info(opId: OpId, timeMs: number): void {
    const op = this.open(opId, timeMs);
    op.status = OpStatus.Info;
  }

  get size(): number {
    return this.ops.length;
  }

  /** Every operation recorded, in invocation order (copies). */
  all(): Operation<I, O>[] {
    return this.ops.map((op) => ({ ...op }));
  }

  /** The operations a checker must consider: ok, info and still-pending ones (fail dropped). */
  forChecking(): Operation<I, O>[] {
    return this.all().filter((op) => op.status !== OpStatus.Fail);
  }

  private open(opId: OpId, timeMs: number): Operation<I, O> {
    const op = this.ops[opId];
    assert(op !== undefined, `unknown operation ${opId}`);
    assert(op.status === OpStatus.Pending, `operation ${opId} already completed (${op.status})`);
    assert(timeMs >= op.callMs, `operation ${opId} completes before its invocation`);
    this.pendingByClient.delete(op.clientId);
    return op;
  }
}
