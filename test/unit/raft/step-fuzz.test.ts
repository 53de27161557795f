/** step() never throws, whatever arrives: random (type-correct) messages against live nodes. */
import test from 'ava';
import fc from 'fast-check';
import { Cluster } from './cluster.js';
import { MessageType, type Message } from '../../../src/raft/types.js';

const ids = ['a', 'b', 'c'];
const small = fc.integer({ min: 0, max: 40 });
const arbMessage = (to: string): fc.Arbitrary<Message> =>
  fc.record({
    type: fc.constantFrom(...Object.values(MessageType)),
    from: fc.constantFrom('a', 'b', 'c', 'x'),
    to: fc.constant(to),
    term: fc.integer({ min: 0, max: 12 }),
    index: small,
    logTerm: fc.integer({ min: 0, max: 12 }),
    entries: fc.array(
      fc.record({ term: fc.integer({ min: 0, max: 12 }), index: small, type: fc.constantFrom(0, 1, 5) as fc.Arbitrary<0 | 1>, data: fc.uint8Array({ maxLength: 8 }) }),
      { maxLength: 4 },
    ),
    commit: small,
    reject: fc.boolean(),
    rejectHint: small,
    context: fc.uint8Array({ maxLength: 6 }),
    snapshot: fc.option(
      fc.record({
        meta: fc.record({ index: small, term: fc.integer({ min: 0, max: 12 }), conf: fc.constant({ voters: ids, learners: [] }) }),
        offset: fc.integer({ min: 0, max: 20 }),
        data: fc.uint8Array({ maxLength: 10 }),
        done: fc.boolean(),
      }),
      { nil: undefined },
    ),
  });

test('random (forged) messages never make step() or the Ready cycle throw', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(fc.tuple(fc.constantFrom(...ids), fc.nat()), { maxLength: 30 }), (seed, picks) => {
      const c = new Cluster({ voters: ids, seed });
      c.forgedMessages = true;
      c.electLeader();
      c.propose(c.leader()!, 'x');
      const gen = fc.sample(arbMessage('a'), { seed, numRuns: picks.length });
      picks.forEach(([to], i) => {
        const m = { ...gen[i], to };
        c.node(to).step(m);
        c.stabilize();
        c.tickAll(1);
      });
      for (const id of ids) {
        const st = c.node(id).status();
        if (!(st.applied <= st.commit && st.commit <= st.lastIndex && st.firstIndex <= st.lastIndex + 1)) throw new Error(`${id}: ${JSON.stringify(st)}`);
      }
    }),
    { numRuns: Number(process.env.RAFT_FUZZ_RUNS ?? 150), seed: Number(process.env.RAFT_FUZZ_SEED ?? 42) },
  );
  t.pass();
});
