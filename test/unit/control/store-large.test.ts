/**
 * Large store: with 1,000,000 keys, reads cost what they return, not what
 * the store holds, so they never stall the Raft loop. Each read runs in its
 * own macrotask while perf_hooks.monitorEventLoopDelay samples the loop, as
 * a leader serving reads between Raft ticks does; the p99 of that delay and
 * the time of each call are asserted below the 50 ms budget. A call's time
 * is the least of three back-to-back runs of it (a read's cost is
 * deterministic; the other two absorb a preemption by another process on
 * the shared cores). The loop delay also counts the time the OS gives to
 * other processes: the serving phase is measured up to three times and the
 * quietest pass must meet the budget.
 */
import test from 'ava';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { TxnOp } from '../../../src/control/store/commands.js';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import type { RangeResult } from '../../../src/control/store/reads.js';
import { b, Harness } from './store-helpers.js';

const keysTotal = 1_000_000;
const budgetMs = 50;
const keyOf = (i: number): string => `/svc/${String(i).padStart(7, '0')}/config`;

test('Large store: with 1,000,000 keys, range(limit=1), continuation pages and historical reads keep the event-loop delay p99 below 50 ms', async (t) => {
  t.timeout(120_000);
  const h = new Harness(new ConfigStore());
  const value = b('{"replicas":3,"image":"registry/app:1.2.3"}');
  const fillStarted = performance.now();
  for (let i = 0; i < keysTotal; i += 128) {
    const success: TxnOp[] = [];
    for (let j = i; j < Math.min(i + 128, keysTotal); j++) success.push({ type: 'put', key: keyOf(j), value });
    h.ok({ type: 'txn', compare: [], success, failure: [] });
  }
  const filledAt = h.store.revision; // 7,813 revisions of 128 creations each
  // Then a working history: rewrites and deletes.
  for (let i = 0; i < 2000; i++) h.put(keyOf(i * 499), `v${i}`);
  for (let i = 0; i < 500; i++) h.apply({ type: 'delete', key: keyOf(i * 997 + 1) });
  const fillMs = performance.now() - fillStarted;
  t.is(h.store.keyCount, keysTotal - 500);

  const timings = new Map<string, number[]>();
  const timed = <T>(name: string, read: () => T): T => {
    let out: T | undefined;
    let leastMs = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      out = read();
      leastMs = Math.min(leastMs, performance.now() - started);
    }
    const list = timings.get(name) ?? [];
    list.push(leastMs);
    timings.set(name, list);
    return out as T;
  };

  // The fill's garbage is collected before measuring: what is measured is the reads (and the writes between them).
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const passes: { p99Ms: number; maxMs: number; samples: number }[] = [];
  for (let pass = 0; pass < 3 && !passes.some((x) => x.p99Ms < budgetMs); pass++) {
    const loop = monitorEventLoopDelay({ resolution: 1 });
    await nextMacrotask();
    loop.enable();
    for (let round = pass * 40; round < pass * 40 + 40; round++) {
      // The leader keeps applying writes between reads.
      h.put(keyOf(round * 7919), `round ${round}`);
      await nextMacrotask();

      const first = timed('range(limit=1)', () => h.store.range('/svc/', { limit: 1 }));
      t.is(first.kvs.length, 1);
      t.is(first.count, h.store.keyCount);
      t.true(first.more);
      await nextMacrotask();

      timed('range("", limit=1)', () => h.store.range('', { limit: 1 }));
      await nextMacrotask();

      // Pages through continuations: pinned at the first page's revision while writes go on.
      let page: RangeResult = timed('range page (limit=1000)', () => h.store.range('/svc/', { limit: 1000 }));
      const pinned = page.revision;
      for (let p = 0; p < 5; p++) {
        h.put(keyOf(2 + 2 * p), `moved on ${round}`);
        await nextMacrotask();
        page = timed('range page (limit=1000)', () => h.store.range('/svc/', { limit: 1000, continuation: page.continuation }));
        t.is(page.revision, pinned);
        t.is(page.kvs.length, 1000);
      }
      await nextMacrotask();

      // limitBytes stops the page early.
      const small = timed('range(limitBytes=4096)', () => h.store.range('/svc/', { limitBytes: 4096 }));
      t.true(small.kvs.length > 10 && small.kvs.length < 100);
      await nextMacrotask();

      // Historical reads: a key at a revision before it existed, then at the end of the fill.
      const k = keyOf(500 + round * 499 + 1);
      t.is(
        timed('historical get', () => h.store.get(k, { revision: 1 })),
        undefined,
      );
      await nextMacrotask();
      t.is(timed('historical get', () => h.store.get(k, { revision: filledAt }))?.version, 1);
      await nextMacrotask();

      const old = timed('historical range(limit=1)', () => h.store.range('/svc/', { limit: 1, revision: filledAt }));
      t.is(old.count, keysTotal);
      t.is(old.kvs[0].version, 1);
      await nextMacrotask();
      const sparse = timed('historical range(limit=100) at revision 100', () => h.store.range('/svc/', { limit: 100, revision: 100 }));
      t.is(sparse.count, 100 * 128);
      t.is(sparse.kvs.length, 100);
      await nextMacrotask();
    }
    loop.disable();
    passes.push({ p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6, samples: loop.count });
  }

  const p99Ms = Math.min(...passes.map((x) => x.p99Ms));
  const lines = [...timings].map(([name, ms]) => {
    const sorted = [...ms].sort((x, y) => x - y);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
    return `${name}: n=${ms.length} median ${sorted[sorted.length >> 1].toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms`;
  });
  t.log(`fill ${keysTotal} keys: ${(fillMs / 1000).toFixed(1)} s`);
  for (const line of lines) t.log(line);
  for (const x of passes) t.log(`event-loop delay while serving: p99 ${x.p99Ms.toFixed(1)} ms, max ${x.maxMs.toFixed(1)} ms (${x.samples} samples)`);
  t.true(p99Ms < budgetMs, `event-loop delay p99 ${p99Ms} ms`);
  for (const [name, ms] of timings) t.true(Math.max(...ms) < budgetMs, `${name}: ${Math.max(...ms)} ms`);
});
