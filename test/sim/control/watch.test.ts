import test, { type ExecutionContext } from 'ava';
import type { CommandBody } from '../../../src/api/config-views.js';
import { ResumingWatch } from '../../../src/sim/control-clients.js';
import type { ControlCluster } from '../../../src/sim/control-cluster.js';
import { makeSimTest } from '../../../src/sim/seed.js';
import { SeededRng } from '../../../src/util/rng.js';
import { formed, names, newCluster } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test, { serial: true });
const utf8 = new TextEncoder();

/** Writers putting keys one at a time through random live members; acknowledged revisions recorded. */
function startWriters(c: ControlCluster, rng: SeededRng, count: number, acked: number[], stopAtMs: () => number, avoid: ReadonlySet<string> = new Set()): void {
  for (let w = 0; w < count; w++) {
    let seq = 0;
    const next = (): void => {
      if (c.nowMs >= stopAtMs()) return;
      const live = c.names().filter((n) => c.isLive(n) && !avoid.has(n));
      const member = live[rng.int(live.length)];
      seq++;
      const requestId = `w${w}/${seq}`;
      const cmd: CommandBody = { type: 'put', key: `k/${w}/${seq}`, value: utf8.encode(`v${seq}`) };
      let done = false;
      const finish = (value: unknown, ok: boolean): void => {
        if (done) return;
        done = true;
        if (ok) acked.push((value as { revision: number }).revision);
        c.after(5 + rng.int(20), next);
      };
      const sent = c.request(member, requestId, (shell) => shell.write(cmd), (r) => (r.ok ? finish(r.value, true) : finish(undefined, false)));
      if (!sent) finish(undefined, false);
      else c.after(5000, () => finish(undefined, false));
    };
    c.after(rng.int(20), next);
  }
}

simTest('a watch delivers every change in order across leader changes: no gap, no duplicate', [1, 2, 3], async (t, seed) => {
  const rng = new SeededRng(seed ^ 0x5eed);
  const members = names('m', 5);
  const c = newCluster(seed, members, { control: { snapshotEveryEntries: 200 } });
  c.startAll(members, { spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3, 30_000, 50));
  await c.runFor(1000);
  const leader = c.leader()!;
  const watched = c.configuration()!.voters.find((v) => v !== leader)!;
  const watch = new ResumingWatch(c, watched, '', c.core(watched)!.store.revision + 1);
  const startRevision = watch.lastRevision;
  const acked: number[] = [];
  let stopMs = c.nowMs + 8000;
  startWriters(c, rng, 4, acked, () => stopMs);
  await c.runFor(2000);
  c.crash(leader);
  await c.runFor(3000);
  const second = c.leader();
  if (second !== undefined && second !== watched) c.crash(second);
  await c.runFor(3000);
  c.start(leader, [watched]);
  if (second !== undefined && second !== watched) c.start(second, [watched]);
  stopMs = c.nowMs;
  await c.runFor(6000);
  const finalRevision = c.core(watched)!.store.revision;
  t.true(acked.length > 50, `${acked.length} writes acknowledged`);
  t.true(watch.revisions.length > 0);
  for (let i = 1; i < watch.revisions.length; i++) {
    t.true(watch.revisions[i] > watch.revisions[i - 1], `revisions increase at ${i}: ${watch.revisions[i - 1]} then ${watch.revisions[i]}`);
  }
  // Every revision is a put here: the watch must have seen each one from its start on.
  const expected = Array.from({ length: finalRevision - startRevision }, (_, i) => startRevision + 1 + i);
  t.deepEqual(watch.revisions, expected, 'no gap and no duplicate');
  const seen = new Set(watch.revisions);
  t.deepEqual(acked.filter((r) => !seen.has(r)), [], 'every acknowledged write was seen');
  t.is(new Set(watch.events.map((e) => e.kv.key)).size, watch.events.length, 'each key put once');
  t.true(c.leaderChanges.filter((l) => l.observer === watched).length >= 2, 'the watched member saw the leader change');
  t.log(`${acked.length} acked, ${watch.revisions.length} revisions watched, ${watch.closes} watch reopenings`);
});

simTest('a watch on a member that installs a snapshot resumes on the new store without a gap', [4, 5], async (t, seed) => {
  const rng = new SeededRng(seed ^ 0x5eed);
  const members = names('m', 5);
  const c = newCluster(seed, members, { control: { snapshotEveryEntries: 100 } });
  c.startAll(members, { spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3, 30_000, 50));
  await c.runFor(1000);
  const watched = c.configuration()!.voters.find((v) => v !== c.leader())!;
  const watch = new ResumingWatch(c, watched, 'k/', c.core(watched)!.store.revision + 1);
  const startRevision = watch.lastRevision;
  const acked: number[] = [];
  let stopMs = c.nowMs + 60_000;
  const avoid = new Set<string>();
  startWriters(c, rng, 4, acked, () => stopMs, avoid);
  await c.runFor(1000);
  avoid.add(watched);
  c.isolate(watched);
  await c.runFor(4000);
  c.heal();
  avoid.clear();
  await c.runFor(2000);
  stopMs = c.nowMs;
  await c.runFor(5000);
  t.true(c.core(watched)!.status().counters.snapshotsRestored >= 1, 'the watched member installed a snapshot');
  t.true(watch.closes >= 1, 'the watch was closed by the store swap and reopened');
  t.true((c.configEvents.get(watched) ?? []).some((e) => e.changes.length === 0), 'config-changed announced the jump');
  const finalRevision = c.core(watched)!.store.revision;
  const expected = Array.from({ length: finalRevision - startRevision }, (_, i) => startRevision + 1 + i);
  t.deepEqual(watch.revisions, expected, 'no gap and no duplicate');
  const seen = new Set(watch.revisions);
  t.deepEqual(acked.filter((r) => !seen.has(r)), [], 'every acknowledged write was seen');
});
