/**
 * The key/value register model for the linearizability checker: get, put,
 * delete and compare-and-swap on string keys, partitioned per key.
 */
import type { Operation } from './history.js';
import type { Model } from './linearizability.js';

export type KvInput =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string }
  /** Succeeds iff the current value equals `expected` (null: the key is absent). */
  | { op: 'cas'; key: string; expected: string | null; value: string };

export type KvOutput =
  | { op: 'get'; value: string | null }
  | { op: 'put' }
  | { op: 'delete' }
  | { op: 'cas'; ok: boolean };

/** Per-key state after partitioning; a map so the model is also right for unpartitioned histories. */
export type KvState = ReadonlyMap<string, string>;

const emptyState: KvState = new Map();

function withValue(state: KvState, key: string, value: string | null): KvState {
  const next = new Map(state);
  if (value === null) next.delete(key);
  else next.set(key, value);
  return next;
}

export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => emptyState,

  step(state, input, output) {
    const current = state.get(input.key) ?? null;
    switch (input.op) {
      case 'get':
        if (output === undefined) return [true, state];
        return [output.op === 'get' && output.value === current, state];
      case 'put':
        return [output === undefined || output.op === 'put', withValue(state, input.key, input.value)];
      case 'delete':
        return [output === undefined || output.op === 'delete', withValue(state, input.key, null)];
      case 'cas': {
        const matches = current === input.expected;
        const next = matches ? withValue(state, input.key, input.value) : state;
        if (output === undefined) return [true, next];
        return [output.op === 'cas' && output.ok === matches, next];
      }
    }
  },

  /**
   * One partition per key. Gets with an unknown outcome are dropped: they change
   * nothing and constrain nothing, and only widen the search.
   */
  partition(ops) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of ops) {
      if (op.input.op === 'get' && op.status !== 'ok') continue;
      let list = byKey.get(op.input.key);
      if (list === undefined) {
        list = [];
        byKey.set(op.input.key, list);
      }
      list.push(op);
    }
    return [...byKey.values()];
  },

  equal(a, b) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (b.get(k) !== v) return false;
    return true;
  },

  hash(state) {
    if (state.size === 0) return '';
    return JSON.stringify([...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  },

  describeOperation(input, output) {
    const out = output === undefined ? '?' : describeOutput(output);
    switch (input.op) {
      case 'get':
        return `get(${input.key}) -> ${out}`;
      case 'put':
        return `put(${input.key}, ${input.value})`;
      case 'delete':
        return `delete(${input.key})`;
      case 'cas':
        return `cas(${input.key}, ${String(input.expected)}, ${input.value}) -> ${out}`;
    }
  },

  describeState(state) {
    return JSON.stringify(Object.fromEntries(state));
  },
};

function describeOutput(output: KvOutput): string {
  switch (output.op) {
    case 'get':
      return String(output.value);
    case 'cas':
      return String(output.ok);
    default:
      return 'ok';
  }
}
