/**
 * Every decoder and parser of outside input against random and mutated-valid
 * input (targets.ts): a few thousand cases each here; `npm run soak:fuzz`
 * runs 100,000 each. FUZZ_RUNS overrides the count, FUZZ_SEED replays a seed.
 */
import test from 'ava';
import fc from 'fast-check';
import { fuzzTargets } from './targets.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 2000);
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

for (const target of fuzzTargets) {
  test(`${target.name}: no throw, bounded output, re-encodes; a refused input changes no state`, (t) => {
    fc.assert(
      fc.property(target.arbitrary, (input) => {
        target.check(input);
      }),
      { numRuns, ...(seed === undefined ? {} : { seed }) },
    );
    t.pass();
  });
}
