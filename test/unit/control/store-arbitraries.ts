/** fast-check generators of config store command sequences over a small key space (many collisions). */
import fc from 'fast-check';
import { compareOps, type Compare } from '../../../src/control/store/commands.js';
import type { CommandBody } from './store-helpers.js';
import { b } from './store-helpers.js';

export const keySpace = ['/a', '/b', '/p/a', '/p/b', '/p/c', '/q/ä', '/q/😀'] as const;
const key = fc.constantFrom(...keySpace);
const value = fc.constantFrom('', '0', '1', 'x', 'yy').map(b);
const leaseId = fc.integer({ min: 1, max: 3 });
const op = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key, value }),
  fc.record({ type: fc.constant('put' as const), key, value, lease: leaseId }),
  fc.record({ type: fc.constant('delete' as const), key }),
  fc.record({ type: fc.constant('get' as const), key }),
);
/** A txn compare over these keys, values and revision/version numbers (shared with store-validate.test.ts). */
export const compareOf = (key: fc.Arbitrary<string>, value: fc.Arbitrary<Uint8Array>, number: fc.Arbitrary<number>): fc.Arbitrary<Compare> =>
  fc.oneof(
    fc.record({ key, target: fc.constant('value' as const), op: fc.constantFrom(...compareOps), value }),
    fc.record({ key, target: fc.constantFrom('version', 'createRevision', 'modRevision' as const), op: fc.constantFrom(...compareOps), value: number }),
  );
const compare = compareOf(key, value, fc.nat(8));
/** Txn branches with distinct written keys (duplicates are refused by validation, tested elsewhere). */
const branch = fc.array(op, { maxLength: 4 }).map((ops) => {
  const written = new Set<string>();
  return ops.filter((o) => o.type === 'get' || (!written.has(o.key) && written.add(o.key) !== undefined));
});

export const commandBody: fc.Arbitrary<CommandBody> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('put' as const), key, value }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('put' as const), key, value, lease: leaseId }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('put' as const), key, value, prevRevision: fc.nat(6) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('delete' as const), key }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('deleteRange' as const), prefix: fc.constantFrom('/p/', '/q/', '/') }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('txn' as const), compare: fc.array(compare, { maxLength: 2 }), success: branch, failure: branch }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('leaseGrant' as const), id: leaseId, ttlMs: fc.constantFrom(1000, 5000) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leaseKeepAlive' as const), id: leaseId }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leaseRevoke' as const), id: leaseId }) },
  {
    weight: 1,
    arbitrary: fc.uniqueArray(leaseId, { maxLength: 2 }).chain((ids) =>
      fc.record({
        type: fc.constant('leaseExpire' as const),
        ids: fc.constant(ids),
        keepAlives: fc.array(fc.nat(1), { minLength: ids.length, maxLength: ids.length }),
        leaderTimeMs: fc.nat(100_000),
      }),
    ),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('compact' as const), revision: fc.nat(30) }) },
) as fc.Arbitrary<CommandBody>;

/** A step: a new command, or (retry) the previous request again with the same request id. */
export interface Step {
  readonly body: CommandBody;
  readonly retry: boolean;
}

export const steps = (maxLength: number): fc.Arbitrary<Step[]> =>
  fc.array(fc.record({ body: commandBody, retry: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) }), { maxLength });
