/**
 * Linearizability checker: Wing & Gong's backtracking search with Lowe's
 * memoisation (a cache of (set of linearized operations, model state) already
 * explored), after partitioning the history (per key for a key/value store), as
 * porcupine and Knossos do.
 *
 * The history becomes a doubly linked list of call and return events in time
 * order. The search walks it: at a call it tries to linearize that operation
 * now (model step accepts the output, and the resulting configuration is new),
 * lifting the call and its return out of the list; at a return whose operation
 * is not yet linearized it backtracks. Operations with an unknown outcome have
 * no return event: they may be linearized anywhere after their call or never,
 * so the search succeeds once every completed operation is linearized.
 */
import { performance } from 'node:perf_hooks';
import { assert } from '../util/assert.js';
import { OpStatus, type OpId, type Operation } from './history.js';

export interface Model<S, I, O> {
  init(): S;
  /**
   * Apply `input` to `state`. `output` is undefined when the outcome is unknown
   * (a pending operation): accept it and return the state it would produce.
   * Returns [false, state] when the output is impossible from this state.
   */
  step(state: S, input: I, output: O | undefined): [boolean, S];
  /** Split into independent sub-histories (e.g. per key). Default: one partition. */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  equal(a: S, b: S): boolean;
  hash(state: S): string;
  describeOperation?(input: I, output: O | undefined): string;
  describeState?(state: S): string;
}

export const CheckResult = {
  Ok: 'ok',
  Illegal: 'illegal',
  /** The time budget ran out before an answer. */
  Unknown: 'unknown',
} as const;
export type CheckResult = (typeof CheckResult)[keyof typeof CheckResult];

export interface CheckOptions {
  /** Wall-clock budget for the whole check. Default 10 s. */
  timeoutMs?: number;
}

export interface CheckReport<I, O> {
  result: CheckResult;
  partitions: number;
  /** Search steps over all partitions. */
  steps: number;
  elapsedMs: number;
  /** Illegal: the smallest partition that is not linearizable. */
  failingPartition?: Operation<I, O>[];
  /** Illegal: the longest linearization found in that partition (op ids in order). */
  longestLinearized?: OpId[];
  /** Illegal: a readable account of the failure. */
  explanation?: string;
}

const defaultTimeoutMs = 10_000;
/** Check the clock every this many search steps. */
const clockCheckSteps = 1024;

interface EventNode {
  isCall: boolean;
  opIndex: number;
  /** Call: its return event (null for an operation with unknown outcome). */
  ret: EventNode | null;
  prev: EventNode | null;
  next: EventNode | null;
}

interface PartitionOutcome {
  result: CheckResult;
  steps: number;
  longest: number[];
}

export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckReport<I, O> {
  const startMs = performance.now();
  const deadlineMs = startMs + (options.timeoutMs ?? defaultTimeoutMs);
  const ops = history.filter((op) => op.status !== OpStatus.Fail);
  const partitions = (model.partition ? model.partition(ops) : [ops]).filter((p) => p.length > 0);
  // Small partitions first: a failure in a small one is found fast and easy to read.
  partitions.sort((a, b) => a.length - b.length);
  let steps = 0;
  let timedOut = false;
  for (const part of partitions) {
    const outcome = checkPartition(model, part, deadlineMs);
    steps += outcome.steps;
    if (outcome.result === CheckResult.Illegal) {
      const longestLinearized = outcome.longest.map((i) => part[i].id);
      return {
        result: CheckResult.Illegal,
        partitions: partitions.length,
        steps,
        elapsedMs: performance.now() - startMs,
        failingPartition: part,
        longestLinearized,
        explanation: explain(model, part, outcome.longest),
      };
    }
    if (outcome.result === CheckResult.Unknown) {
      timedOut = true;
      break;
    }
  }
  return {
    result: timedOut ? CheckResult.Unknown : CheckResult.Ok,
    partitions: partitions.length,
    steps,
    elapsedMs: performance.now() - startMs,
  };
}

function checkPartition<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], deadlineMs: number): PartitionOutcome {
  const head = buildEventList(ops);
  const words = Math.ceil(ops.length / 32) || 1;
  const linearized = new Uint32Array(words);
  const cache = new Map<string, { bits: Uint32Array; state: S }[]>();
  const stack: { call: EventNode; state: S }[] = [];
  let longest: number[] = [];
  let remainingCompleted = ops.filter((op) => op.status === OpStatus.Ok).length;
  let state = model.init();
  let entry = head.next;
  let steps = 0;

  while (remainingCompleted > 0) {
    steps++;
    if (steps % clockCheckSteps === 0 && performance.now() > deadlineMs) {
      return { result: CheckResult.Unknown, steps, longest };
    }
    // A completed operation's return is still in the list, so the walk meets it first.
    assert(entry !== null, 'linearizability search ran off the event list');
    if (entry.isCall) {
      const op = ops[entry.opIndex];
      const output = op.status === OpStatus.Ok ? op.output : undefined;
      const [ok, next] = model.step(state, op.input, output);
      if (ok) {
        setBit(linearized, entry.opIndex);
        if (cacheAdd(cache, model, linearized, next)) {
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          if (entry.ret !== null) remainingCompleted--;
          if (stack.length > longest.length) longest = stack.map((s) => s.call.opIndex);
          entry = head.next;
          continue;
        }
        clearBit(linearized, entry.opIndex);
      }
      entry = entry.next;
    } else {
      const top = stack.pop();
      if (top === undefined) return { result: CheckResult.Illegal, steps, longest };
      state = top.state;
      clearBit(linearized, top.call.opIndex);
      unlift(top.call);
      if (top.call.ret !== null) remainingCompleted++;
      entry = top.call.next;
    }
  }
  return { result: CheckResult.Ok, steps, longest };
}

function buildEventList<I, O>(ops: readonly Operation<I, O>[]): EventNode {
  const events: { timeMs: number; node: EventNode }[] = [];
  ops.forEach((op, opIndex) => {
    const call: EventNode = { isCall: true, opIndex, ret: null, prev: null, next: null };
    events.push({ timeMs: op.callMs, node: call });
    if (op.status === OpStatus.Ok) {
      assert(op.returnMs >= op.callMs, `operation ${op.id} returns before its call`);
      const ret: EventNode = { isCall: false, opIndex, ret: null, prev: null, next: null };
      call.ret = ret;
      events.push({ timeMs: op.returnMs, node: ret });
    }
  });
  // Time order; at equal times calls first (treat touching operations as concurrent:
  // the permissive reading, so a checker never reports a false violation).
  events.sort(
    (a, b) =>
      a.timeMs - b.timeMs ||
      Number(b.node.isCall) - Number(a.node.isCall) ||
      a.node.opIndex - b.node.opIndex,
  );
  const head: EventNode = { isCall: false, opIndex: -1, ret: null, prev: null, next: null };
  let last = head;
  for (const { node } of events) {
    last.next = node;
    node.prev = last;
    last = node;
  }
  return head;
}

function unlink(node: EventNode): void {
  node.prev!.next = node.next;
  if (node.next !== null) node.next.prev = node.prev;
}

function relink(node: EventNode): void {
  node.prev!.next = node;
  if (node.next !== null) node.next.prev = node;
}

/** Remove a call and its return (dancing links: the nodes keep their neighbours). */
function lift(call: EventNode): void {
  unlink(call);
  if (call.ret !== null) unlink(call.ret);
}

/** Undo lift, in reverse order. */
function unlift(call: EventNode): void {
  if (call.ret !== null) relink(call.ret);
  relink(call);
}

function setBit(bits: Uint32Array, i: number): void {
  bits[i >>> 5] |= 1 << (i & 31);
}

function clearBit(bits: Uint32Array, i: number): void {
  bits[i >>> 5] &= ~(1 << (i & 31));
}

function bitsHash(bits: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bits.length; i++) {
    h = Math.imul(h ^ bits[i], 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

function bitsEqual(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Adds (bits, state) to the cache; false if an equal configuration was already explored. */
function cacheAdd<S, I, O>(
  cache: Map<string, { bits: Uint32Array; state: S }[]>,
  model: Model<S, I, O>,
  bits: Uint32Array,
  state: S,
): boolean {
  const key = `${bitsHash(bits)}|${model.hash(state)}`;
  const bucket = cache.get(key);
  if (bucket === undefined) {
    cache.set(key, [{ bits: bits.slice(), state }]);
    return true;
  }
  for (const seen of bucket) {
    if (bitsEqual(seen.bits, bits) && model.equal(seen.state, state)) return false;
  }
  bucket.push({ bits: bits.slice(), state });
  return true;
}

/** Lines of context on either side of where the search got stuck. */
const explainOpsMax = 12;

function explain<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], longest: number[]): string {
  const ms = (t: number) => (Number.isFinite(t) ? t.toFixed(1) : '?');
  const describe = (op: Operation<I, O>): string => {
    const what = model.describeOperation
      ? model.describeOperation(op.input, op.output)
      : `${JSON.stringify(op.input)} -> ${JSON.stringify(op.output)}`;
    return `#${op.id} ${op.clientId} [${ms(op.callMs)}, ${ms(op.returnMs)}] ${what}${op.status === OpStatus.Ok ? '' : ' (unknown outcome)'}`;
  };
  let state = model.init();
  for (const i of longest) {
    const op = ops[i];
    state = model.step(state, op.input, op.status === OpStatus.Ok ? op.output : undefined)[1];
  }
  const shown = longest.slice(-explainOpsMax);
  const lines = [`longest linearization found: ${longest.length} of ${ops.length} operations; its end:`];
  if (shown.length < longest.length) lines.push(`  ... ${longest.length - shown.length} earlier`);
  for (const i of shown) lines.push(`  ${describe(ops[i])}`);
  if (model.describeState) lines.push(`  state then: ${model.describeState(state)}`);
  const placed = new Set(longest);
  const rest = ops
    .filter((_, i) => !placed.has(i))
    .sort((a, b) => a.callMs - b.callMs);
  lines.push('none of the next operations can follow it:');
  for (const op of rest.slice(0, explainOpsMax)) lines.push(`  ${describe(op)}`);
  if (rest.length > explainOpsMax) lines.push(`  ... ${rest.length - explainOpsMax} more`);
  return lines.join('\n');
}
