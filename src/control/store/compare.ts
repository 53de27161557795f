/**
 * Txn compares, as etcd's applyCompare. On a missing key, version,
 * createRevision and modRevision read as 0 (so `version = 0` tests absence),
 * and every 'value' compare is false, '!=' included: an absent value is not
 * comparable with any value, not even the empty one.
 */
import { unreachable } from '../../util/assert.js';
import type { Compare, CompareOp } from './commands.js';
import { compareBytes } from './keys.js';
import type { KeyValue } from './types.js';

export function evaluateCompare(c: Compare, kv: KeyValue | undefined): boolean {
  if (c.target === 'value') {
    if (kv === undefined) return false;
    return holds(c.op, compareBytes(kv.value, c.value));
  }
  const actual = kv === undefined ? 0 : kv[c.target];
  return holds(c.op, actual === c.value ? 0 : actual < c.value ? -1 : 1);
}

/** `order` is the sign of actual - expected. */
function holds(op: CompareOp, order: number): boolean {
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '>':
      return order > 0;
    default:
      return unreachable(op, 'compare op');
  }
}
