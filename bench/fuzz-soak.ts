/**
 * Fuzz soak: every decoder and parser of outside input (test/fuzz/targets.ts)
 * against 100,000 random and mutated-valid cases each. Prints one JSON line
 * per decoder: {"decoder", "cases", "failures", "ms", "seed"}, and for a
 * decoder that failed, its first failure and the input (hex). Exits 1 on any
 * failure.
 *
 *   npm run soak:fuzz
 *   npx tsx bench/fuzz-soak.ts --cases 1000000 --only raft-message --seed 42
 */
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fuzzTargets } from '../test/fuzz/targets.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    only: { type: 'string', multiple: true },
  },
});
const cases = Number(values.cases);
const baseSeed = values.seed === undefined ? Math.floor(Math.random() * 0x7fffffff) : Number(values.seed);

/** Inputs as JSON, byte arrays as hex. */
function show(input: unknown): string {
  // `this[k]` is the value before toJSON (a Buffer would already be {type, data}).
  return JSON.stringify(input, function (this: Record<string, unknown>, k: string, v: unknown) {
    const raw = k === '' ? v : this[k];
    return raw instanceof Uint8Array ? Buffer.from(raw).toString('hex') : v;
  }).slice(0, 4096);
}

let failed = 0;
for (const [i, target] of fuzzTargets.entries()) {
  if (values.only !== undefined && !values.only.includes(target.name)) continue;
  const seed = (baseSeed + i) | 0;
  let failures = 0;
  let first: { error: string; input: string } | undefined;
  const start = performance.now();
  const details = fc.check(
    fc.property(target.arbitrary, (input) => {
      try {
        target.check(input);
      } catch (e) {
        failures++;
        first ??= { error: String((e as Error)?.stack ?? e).split('\n').slice(0, 4).join(' | '), input: show(input) };
      }
      return true; // count every failure instead of stopping at the first
    }),
    { numRuns: cases, seed },
  );
  const ms = Math.round(performance.now() - start);
  if (details.failed) {
    // The property itself threw (the arbitrary, not the check): report it as a failure.
    failures++;
    first ??= { error: String(details.errorInstance), input: '' };
  }
  if (failures > 0) failed++;
  console.log(JSON.stringify({ decoder: target.name, cases: details.numRuns, failures, ms, seed, ...(first === undefined ? {} : { firstFailure: first }) }));
}
process.exitCode = failed > 0 ? 1 : 0;
