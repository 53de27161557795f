/**
 * The control plane as real processes on loopback (run `npm run build` first):
 * five `shoal agent`s bootstrap one Raft group by themselves (bootstrap-expect
 * 3, autopilot adds the rest as learners); clients write, read and CAS under
 * load while two members stream watches; the leader is killed with SIGKILL.
 * Afterwards: a new leader, no acknowledged write lost, every watcher saw
 * every committed change exactly once in revision order, the client history
 * is linearizable. Then voters are killed for good and autopilot replaces them.
 * A second cluster checks bad input over HTTP, a write without quorum (503 in
 * bounded time, not reported written) and voters restarting from their data.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigClient } from '../../src/api/config-client.js';
import type { RaftStatusView } from '../../src/api/config-types.js';
import { LocalControlCluster } from '../support/control-cluster.js';
import { History } from '../../src/sim/history.js';
import { CheckResult, checkLinearizable } from '../../src/sim/linearizability.js';
import { kvModel, type KvInput, type KvOutput } from '../../src/sim/linearizability-kv.js';
import { ErrorCode, isShoalError } from '../../src/util/errors.js';
import { SeededRng } from '../../src/util/rng.js';
import { waitUntil } from './wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/shoal');
const built = existsSync(path.join(root, 'dist/src/agent/control-shell.js'));
const sharedKeys = ['k/a', 'k/b', 'k/c'];
const now = (): number => performance.now();

type KvHistory = History<KvInput, KvOutput>;

async function statuses(cluster: LocalControlCluster): Promise<(RaftStatusView | undefined)[]> {
  return Promise.all(cluster.running().map((n) => cluster.client(n.name).raftStatus({ signal: AbortSignal.timeout(2000) }).catch(() => undefined)));
}

/** Every running member agrees on one leader, the voter set and the learner set. */
async function agreed(cluster: LocalControlCluster, voters: number, learners: number): Promise<RaftStatusView | undefined> {
  const all = await statuses(cluster);
  const first = all[0];
  if (first === undefined || first.leader === '') return undefined;
  const same = all.every(
    (s) =>
      s !== undefined &&
      s.leader === first.leader &&
      s.voters.join() === first.voters.join() &&
      s.learners.join() === first.learners.join() &&
      s.voters.length === voters &&
      s.learners.length === learners,
  );
  return same ? first : undefined;
}

interface Workload {
  history: KvHistory;
  acked: Map<string, string>;
  okAfterKill: number;
  killed: boolean;
  stop: boolean;
}

/** Any error leaves the outcome unknown (a write may commit after its request timed out). */
async function runClient(name: string, cluster: LocalControlCluster, w: Workload, rng: SeededRng): Promise<void> {
  const seen = new Map<string, string | null>();
  let n = 0;
  while (!w.stop) {
    const nodes = cluster.running();
    const client = new ConfigClient(nodes[rng.int(nodes.length)]!.http);
    const key = sharedKeys[rng.int(sharedKeys.length)]!;
    const value = `${name}-${++n}`;
    const dice = rng.next();
    let ok = false;
    const signal = AbortSignal.timeout(8000);
    try {
      if (dice < 0.15) {
        const once = `k/once-${value}`;
        const id = w.history.invoke(name, { op: 'put', key: once, value }, now());
        try {
          await client.put({ key: once, value }, { signal });
          w.history.ok(id, { op: 'put' }, now());
          w.acked.set(once, value);
          ok = true;
        } catch (e) {
          w.history.info(id, now());
          throw e;
        }
      } else if (dice < 0.5) {
        const id = w.history.invoke(name, { op: 'put', key, value }, now());
        try {
          await client.put({ key, value }, { signal });
          w.history.ok(id, { op: 'put' }, now());
          seen.set(key, value);
          ok = true;
        } catch (e) {
          w.history.info(id, now());
          throw e;
        }
      } else if (dice < 0.75) {
        const id = w.history.invoke(name, { op: 'get', key }, now());
        try {
          const kv = await client.get(key, { signal });
          w.history.ok(id, { op: 'get', value: kv?.value ?? null }, now());
          seen.set(key, kv?.value ?? null);
          ok = true;
        } catch (e) {
          w.history.info(id, now());
          throw e;
        }
      } else {
        const expected = seen.get(key) ?? null;
        const id = w.history.invoke(name, { op: 'cas', key, expected, value }, now());
        try {
          const r = await client.txn(
            {
              compare: [expected === null ? { key, target: 'version', op: '=', value: 0 } : { key, target: 'value', op: '=', value: expected }],
              success: [{ put: { key, value } }],
              failure: [{ get: { key } }],
            },
            { signal },
          );
          w.history.ok(id, { op: 'cas', ok: r.succeeded }, now());
          const got = r.responses[0];
          seen.set(key, r.succeeded ? value : got && 'get' in got ? (got.get.kv?.value ?? null) : null);
          ok = true;
        } catch (e) {
          w.history.info(id, now());
          throw e;
        }
      }
    } catch {
      // recorded as unknown above; back off while there is no leader
    }
    if (ok && w.killed) w.okAfterKill++;
    if (!ok) await new Promise((r) => setTimeout(r, 20 + rng.int(30)));
  }
}

interface Watcher {
  member: string;
  events: { revision: number; type: string; key: string; value: string }[];
  reconnects: number;
  violations: string[];
  done: Promise<void>;
}

/** A watch on one member that reconnects from the last revision seen + 1 after any error. */
function startWatcher(cluster: LocalControlCluster, member: string, signal: AbortSignal): Watcher {
  const w: Watcher = { member, events: [], reconnects: 0, violations: [], done: Promise.resolve() };
  w.done = (async () => {
    while (!signal.aborted) {
      const last = w.events.at(-1)?.revision ?? 0;
      try {
        for await (const line of cluster.client(member).watch('k/', { fromRevision: last + 1, signal })) {
          if (line.type === 'error') break;
          if (line.type !== 'put' && line.type !== 'delete') continue;
          const prev = w.events.at(-1)?.revision ?? 0;
          // One revision may carry several events (a txn), never of the same key.
          if (line.revision < prev) w.violations.push(`revision ${line.revision} after ${prev}`);
          w.events.push({ revision: line.revision, type: line.type, key: line.kv.key, value: line.kv.value });
        }
      } catch {
        // reconnect below
      }
      if (signal.aborted) return;
      w.reconnects++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return w;
}

test.serial('5 agents bootstrap one cluster; the leader is SIGKILLed under load; no acked write lost, watches exactly once, history linearizable; autopilot replaces a dead voter', async (t) => {
  if (!built) return t.fail('run `npm run build` first (dist/src/agent/control-shell.js missing)');
  const seed = Number(process.env.SHOAL_SEED ?? Date.now() % 1_000_000);
  t.log(`seed ${seed}`);
  const cluster = new LocalControlCluster({ bin, size: 5, extraArgs: ['--dead-voter-grace-ms', '3000', '--learner-stable-ms', '1000'] });
  t.teardown(() => cluster.stopAll());
  await cluster.start();

  // Bootstrap: 3 voters chosen automatically, the other 2 learners, every member agrees.
  let status: RaftStatusView | undefined;
  t.true(await waitUntil(async () => (status = await agreed(cluster, 3, 2)) !== undefined, 40_000, 200), 'the five agree on leader, 3 voters and 2 learners');
  const leader = status!.leader;
  t.log(`leader ${leader}, voters ${status!.voters.join(',')}, learners ${status!.learners.join(',')}`);

  // Watchers on two members that will not be killed in this test.
  const spare = status!.learners.length >= 2 ? status!.learners.slice(0, 2) : cluster.nodes.map((n) => n.name).filter((n) => n !== leader).slice(0, 2);
  const watchAbort = new AbortController();
  const watchers = spare.map((m) => startWatcher(cluster, m, watchAbort.signal));

  const w: Workload = { history: new History(), acked: new Map(), okAfterKill: 0, killed: false, stop: false };
  const clients = Array.from({ length: 4 }, (_, i) => runClient(`c${i}`, cluster, w, new SeededRng(seed + i + 1)));
  await new Promise((r) => setTimeout(r, 2500));
  const before = w.acked.size;
  await cluster.kill(leader, 'SIGKILL');
  w.killed = true;
  t.log(`killed leader ${leader} after ${before} acked write-once puts`);
  let newLeader = '';
  t.true(
    await waitUntil(async () => {
      const s = await statuses(cluster);
      newLeader = s[0]?.leader ?? '';
      return newLeader !== '' && newLeader !== leader && s.every((x) => x?.leader === newLeader);
    }, 20_000, 100),
    'a new leader is elected',
  );
  t.true(await waitUntil(() => w.okAfterKill >= 20, 20_000), `operations succeed after the kill (${w.okAfterKill})`);
  w.stop = true;
  await Promise.all(clients);
  t.log(`new leader ${newLeader}; ${w.history.size} ops, ${w.acked.size} acked write-once puts, ${w.okAfterKill} ok after the kill`);

  // No acknowledged write lost.
  const reader = cluster.client(newLeader);
  for (const [key, value] of w.acked) t.is((await reader.get(key))?.value, value, `acked ${key}`);

  // Linearizable.
  const report = checkLinearizable(kvModel, w.history.all(), { timeoutMs: 20_000 });
  t.not(report.result, CheckResult.Illegal, `seed ${seed}: ${report.explanation ?? ''}`);
  t.log(`linearizability: ${report.result} over ${report.partitions} partitions`);
  // Running out of the 20 s budget would hide a broken checker: these histories check in well under a second.
  t.is(report.result, CheckResult.Ok);

  // Watches: a fence write, then each watcher has every change exactly once in revision order,
  // the same sequence as a fresh replay of the history from revision 1.
  const fence = await reader.put({ key: 'k/fence', value: 'x' });
  t.true(
    await waitUntil(() => watchers.every((x) => (x.events.at(-1)?.revision ?? 0) >= fence.revision), 15_000),
    `watchers reach the fence revision ${fence.revision}`,
  );
  watchAbort.abort();
  await Promise.all(watchers.map((x) => x.done));
  const replay: Watcher['events'] = [];
  const ac = new AbortController();
  for await (const line of reader.watch('k/', { fromRevision: 1, signal: ac.signal })) {
    if (line.type === 'put' || line.type === 'delete') replay.push({ revision: line.revision, type: line.type, key: line.kv.key, value: line.kv.value });
    if (line.type !== 'created' && replay.at(-1)?.revision === fence.revision) ac.abort();
  }
  for (const x of watchers) {
    t.deepEqual(x.violations, [], `${x.member}: revision order`);
    t.deepEqual(x.events.filter((e) => e.revision <= fence.revision), replay, `${x.member}: every change exactly once (${x.reconnects} reconnects)`);
  }
  const watched = new Map(replay.map((e) => [e.key, e.value]));
  for (const [key, value] of w.acked) t.is(watched.get(key), value, `watchers saw acked ${key}`);

  // Voters that die for good are replaced by autopilot after the grace period (3 s) plus catch-up:
  // first the killed leader, then a live voter killed now.
  const replacedWithout = async (dead: string[]): Promise<RaftStatusView | undefined> => {
    let replaced: RaftStatusView | undefined;
    await waitUntil(async () => {
      const s = await cluster.client(newLeader).raftStatus().catch(() => undefined);
      if (s === undefined || dead.some((d) => s.voters.includes(d)) || s.voters.length !== 3) return false;
      replaced = s;
      return true;
    }, 30_000, 200);
    return replaced;
  };
  const first = await replacedWithout([leader]);
  t.truthy(first, `autopilot replaces the killed leader ${leader}`);
  const victim = first!.voters.find((v) => v !== newLeader)!;
  const killedAt = Date.now();
  await cluster.kill(victim, 'SIGKILL');
  const second = await replacedWithout([leader, victim]);
  t.truthy(second, `autopilot replaces dead voter ${victim}`);
  t.log(`voter ${victim} replaced after ${Date.now() - killedAt} ms: voters ${second?.voters.join(',')}`);
  const after = await cluster.client(newLeader).put({ key: 'k/after', value: 'y' });
  t.true(after.revision > fence.revision, 'writes commit with the new voter set');
});

test.serial('bad input over HTTP; without quorum a write fails with 503 in bounded time and is not reported written', async (t) => {
  if (!built) return t.fail('run `npm run build` first');
  const cluster = new LocalControlCluster({ bin, size: 3, extraArgs: ['--dead-voter-grace-ms', '600000'] });
  t.teardown(() => cluster.stopAll());
  await cluster.start();
  let status: RaftStatusView | undefined;
  t.true(await waitUntil(async () => (status = await agreed(cluster, 3, 0)) !== undefined, 40_000, 200));
  const follower = status!.voters.find((v) => v !== status!.leader)!;
  const base = `http://${cluster.node(follower).http}`;
  const client = cluster.client(follower);
  const put = (key: string, body: string): Promise<Response> => fetch(`${base}/v1/config/${key}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string; details?: Record<string, unknown> } }).error;

  // A follower forwards writes to the leader.
  for (let i = 1; i <= 6; i++) await client.put({ key: `b/${i}`, value: String(i) });
  let r = await put('bad%01key', '{"value":"x"}');
  t.is(r.status, 400);
  t.is((await errorOf(r)).details?.field, 'key');
  r = await put('big', JSON.stringify({ value: 'v'.repeat(300 * 1024) }));
  t.is(r.status, 400);
  t.like(await errorOf(r), { code: ErrorCode.InvalidArgument, details: { field: 'value' } });
  r = await put('k', '{"value": ');
  t.is(r.status, 400);
  t.is((await errorOf(r)).code, ErrorCode.BadRequest);
  r = await put('k', '{"value":"x","ttl":5}');
  t.is(r.status, 400);
  t.like(await errorOf(r), { code: ErrorCode.BadRequest, details: { field: 'ttl' } });
  const txn = await client.txn({
    compare: [{ key: 'missing', target: 'modRevision', op: '=', value: 0 }],
    success: [{ put: { key: 'missing', value: 'now here' } }],
  });
  t.true(txn.succeeded, 'a compare on a missing key works: its modRevision is 0');
  t.is((await client.get('missing'))?.value, 'now here');
  await client.compact(5);
  r = await fetch(`${base}/v1/config/watch?prefix=b/&fromRevision=2`);
  t.is(r.status, 410);
  const compacted = await errorOf(r);
  t.is(compacted.code, ErrorCode.Compacted);
  t.is(compacted.details?.oldestRevision, 5);
  t.regex(compacted.message, /oldest available revision is 5/);

  // Kill both other voters: the survivor has no quorum.
  const survivor = follower;
  for (const v of status!.voters) if (v !== survivor) await cluster.kill(v, 'SIGKILL');
  const started = Date.now();
  const e = await t.throwsAsync(cluster.client(survivor).put({ key: 'k/lost', value: 'x' }));
  const tookMs = Date.now() - started;
  t.true(isShoalError(e) && e.details?.status === 503, `503 (${(e as Error).message})`);
  const codes: string[] = [ErrorCode.NoQuorum, ErrorCode.Timeout, ErrorCode.NotLeader, ErrorCode.Unavailable];
  t.true(codes.includes((e as unknown as { code: string }).code), (e as Error).message);
  t.true(tookMs < 8000, `answered within ${tookMs} ms`);
  const read = await t.throwsAsync(cluster.client(survivor).get('b/1'));
  t.is((read as { details?: Record<string, unknown> }).details?.status, 503, 'a linearizable read needs quorum');
  t.is((await cluster.client(survivor).get('b/1', { serializable: true }))?.value, '1', 'a serializable read is local');
  t.is(await cluster.client(survivor).get('k/lost', { serializable: true }), undefined, 'the failed write is not there');

  // Restart the killed voters from their data dirs: quorum is back, nothing acknowledged was lost.
  for (const v of status!.voters) if (v !== survivor) cluster.spawn(cluster.node(v));
  t.true(
    await waitUntil(async () => (await cluster.client(survivor).put({ key: 'k/back', value: 'y' }).catch(() => undefined)) !== undefined, 30_000, 300),
    'writes commit again once the voters restart',
  );
  for (const v of status!.voters) {
    t.true(
      await waitUntil(async () => (await cluster.client(v).get('k/back', { serializable: true }).catch(() => undefined))?.value === 'y', 15_000),
      `${v} caught up`,
    );
    for (let i = 1; i <= 6; i++) t.is((await cluster.client(v).get(`b/${i}`, { serializable: true }))?.value, String(i), `${v} kept b/${i}`);
  }
});

export function logOf(t: ExecutionContext, cluster: LocalControlCluster): void {
  for (const n of cluster.nodes) t.log(`${n.name}: ${n.log.slice(-5).join(' | ')}`);
}
