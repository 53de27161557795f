/**
 * Property: random sequences of appends, overwrites, hard states, snapshot
 * markers, concurrent batches, clean restarts and crashes (at a random cut
 * point, with a random torn outcome) always recover a state equal to the
 * model after some prefix of the records that holds every acknowledged one.
 */
import test from 'ava';
import fc from 'fast-check';
import { CrashFs } from '../../../src/sim/crash-fs.js';
import { Wal, type WalWrite } from '../../../src/storage/wal.js';
import { SeededRng } from '../../../src/util/rng.js';
import { entries, hs } from './helpers.js';
import { matchingPrefix, modelState, recordsOf, type ModelRecord } from './model.js';

const DIR = '/p/wal';
const OPTIONS = { segmentSizeBytes: 200 };

const opArb = fc.record({
  kind: fc.constantFrom('append', 'append', 'append', 'hardState', 'marker'),
  a: fc.nat(1000),
  b: fc.nat(1000),
  c: fc.nat(1000),
});
const stepArb = fc.record({
  writes: fc.array(opArb, { minLength: 1, maxLength: 4 }),
  end: fc.constantFrom('none', 'none', 'restart', 'crash'),
  cutBudget: fc.nat(6),
  seed: fc.nat(),
});

/** Turns a random op into a valid write, given the model state including queued records. */
type Op = { kind: string; a: number; b: number; c: number };

function toWrite(op: Op, records: ModelRecord[], termRef: { term: number }): WalWrite {
  const st = modelState(records);
  const last = st.entries.at(-1)?.index ?? st.base;
  if (op.kind === 'hardState') {
    termRef.term += op.a % 2;
    return { hardState: hs(termRef.term, op.b % 3 === 0 ? '' : `n${op.b % 3}`, op.c % (last + 1)), entries: [] };
  }
  if (op.kind === 'marker' && last > st.base) {
    const index = st.base + 1 + (op.a % (last - st.base));
    const at = st.entries.find((e) => e.index === index);
    const term = op.b % 2 === 0 && at !== undefined ? at.term : termRef.term + 50;
    return { snapshotMarker: { index, term }, entries: [] };
  }
  const lo = st.base + 1;
  const start = lo + (op.a % (last + 1 - lo + 1));
  termRef.term += op.c % 4 === 0 ? 1 : 0;
  return { entries: entries(start, start + (op.b % 4), termRef.term) };
}

test('WAL matches the model under random appends, overwrites, markers, restarts and crashes', async (t) => {
  const out = await fc.check(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 14 }), async (steps) => {
      const fs = new CrashFs();
      let wal = await Wal.open(fs, DIR, OPTIONS);
      let records: ModelRecord[] = [];
      const termRef = { term: 1 };
      for (const step of steps) {
        if (step.end === 'crash') fs.haltAfterOps = fs.stats.mutatingOps + step.cutBudget;
        const ackedBefore = records.length;
        const pending: Promise<number>[] = [];
        for (const op of step.writes) {
          const w = toWrite(op, records, termRef);
          const recs = recordsOf(w);
          records.push(...recs);
          pending.push(wal.write(w).then(() => recs.length));
        }
        const settled = await Promise.allSettled(pending);
        let acked = ackedBefore;
        for (const s of settled) {
          if (s.status !== 'fulfilled') break;
          acked += s.value;
        }
        if (step.end === 'crash') {
          fs.crash(new SeededRng(step.seed));
          wal = await Wal.open(fs, DIR, OPTIONS);
          const p = matchingPrefix(records, acked, wal.recovered);
          if (p < 0) throw new Error(`after crash: ${JSON.stringify(wal.recovered)} vs ${JSON.stringify(records)}: recovered state matches no prefix >= ${acked} of ${records.length} records`);
          records = records.slice(0, p);
        } else if (step.end === 'restart') {
          await wal.close();
          wal = await Wal.open(fs, DIR, OPTIONS);
          if (matchingPrefix(records, records.length, wal.recovered) !== records.length) throw new Error('clean restart lost records');
        }
      }
      await wal.close();
      const final = await Wal.open(fs, DIR, OPTIONS);
      if (matchingPrefix(records, records.length, final.recovered) !== records.length) throw new Error('final restart lost records');
      await final.close();
    }),
    { numRuns: 150 },
  );
  if (out.failed) {
    t.fail(`seed ${out.seed} path ${out.counterexamplePath}: ${String(out.errorInstance)}\n${JSON.stringify(out.counterexample)}`);
  } else t.pass();
});
