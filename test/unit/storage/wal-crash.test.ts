/**
 * Crash at every cut point of a write sequence (every mutating fs operation:
 * creates, writes, fsyncs, dir fsyncs), with several torn-write outcomes per
 * point, then recover and check against the model.
 */
import test from 'ava';
import { CrashFs } from '../../../src/sim/crash-fs.js';
import { Wal, type WalWrite } from '../../../src/storage/wal.js';
import { SeededRng } from '../../../src/util/rng.js';
import { entries, hs, summary } from './helpers.js';
import { matchingPrefix, recordsOf, type ModelRecord } from './model.js';

const DIR = '/n1/wal';
const OPTIONS = { segmentSizeBytes: 150 };

/** Groups of writes; the writes in a group are issued concurrently (group commit). */
const WORKLOAD: WalWrite[][] = [
  [{ hardState: hs(1, 'a', 0), entries: entries(1, 3, 1) }],
  [{ entries: entries(4, 6, 1) }, { hardState: hs(2, 'b', 3), entries: entries(5, 7, 2) }],
  [{ entries: entries(8, 12, 2) }],
  [{ hardState: hs(2, 'b', 10), entries: [] }, { entries: entries(13, 13, 2) }, { entries: entries(14, 15, 2) }],
  [{ hardState: hs(3, '', 10), entries: entries(11, 12, 3) }],
  [{ entries: entries(13, 20, 3) }],
];

async function run(fs: CrashFs): Promise<{ records: ModelRecord[]; acked: number }> {
  const records: ModelRecord[] = [];
  let acked = 0;
  let wal: Wal;
  try {
    wal = await Wal.open(fs, DIR, OPTIONS);
  } catch {
    return { records, acked };
  }
  for (const group of WORKLOAD) {
    const settled = await Promise.allSettled(
      group.map((w) => {
        const recs = recordsOf(w);
        records.push(...recs);
        return wal.write(w).then(() => recs.length);
      }),
    );
    for (const s of settled) if (s.status === 'fulfilled') acked += s.value;
    if (settled.some((s) => s.status === 'rejected')) break;
  }
  return { records, acked };
}

test('every cut point and torn outcome recovers every acknowledged record and a repaired, appendable log', async (t) => {
  const probe = new CrashFs();
  await run(probe);
  const totalOps = probe.stats.mutatingOps;
  t.true(totalOps > 12, `${totalOps} ops`);
  let tornSeen = 0;
  let cases = 0;
  for (let cut = 0; cut <= totalOps; cut++) {
    for (let seed = 1; seed <= 12; seed++) {
      const label = `cut ${cut} seed ${seed}`;
      const fs = new CrashFs();
      fs.haltAfterOps = cut;
      const { records, acked } = await run(fs);
      fs.crash(new SeededRng(seed * 7919 + cut));
      const wal = await Wal.open(fs, DIR, OPTIONS);
      const rec = wal.recovered;
      const p = matchingPrefix(records, acked, rec);
      if (p < 0) t.fail(`${label}: recovered ${JSON.stringify(summary(rec.entries))} matches no prefix with all ${acked} acked records`);
      if (rec.report.tornTail) tornSeen++;
      // Further appends work and survive a clean restart.
      const next = (rec.entries.at(-1)?.index ?? 0) + 1;
      await wal.append(hs(9, 'z', 0), entries(next, next + 1, 9));
      await wal.close();
      const again = await Wal.open(fs, DIR, OPTIONS);
      t.is(again.recovered.report.tornTail, undefined, label);
      t.deepEqual(summary(again.recovered.entries), summary([...rec.entries, ...entries(next, next + 1, 9)]), label);
      t.deepEqual(again.recovered.hardState, hs(9, 'z', 0), label);
      await again.close();
      cases++;
    }
  }
  t.true(tornSeen > 0, 'some cut produced a torn tail');
  t.log(`${cases} crash cases, ${tornSeen} torn tails, ${totalOps} ops`);
});
