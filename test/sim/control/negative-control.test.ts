/**
 * The control simulation must catch a shell that breaks Raft's persistence
 * rule (Raft §5.1 / thesis §3.8: a server answers RequestVote and
 * AppendEntries only once what it promised is on stable storage). The real
 * ControlShell runs with `unsafe.sendBeforeFsync`: every message of a Ready
 * leaves before its fsync, so a member can acknowledge entries (and grant
 * votes) it then loses in a crash. Whole-cluster power losses with slow
 * disks, the members coming back one by one, then lose acknowledged writes
 * (an entry committed on the leader's disk and a follower's premature ack
 * is gone once the two followers elect each other) or elect two leaders in
 * one term, and the checks fail; the same storm on the honest shell passes.
 */
import test, { type ExecutionContext } from 'ava';
import type { ControlShellUnsafe } from '../../../src/agent/control-shell.js';
import { ControlClients } from '../../../src/sim/control-clients.js';
import type { ControlCluster } from '../../../src/sim/control-cluster.js';
import { CheckResult, checkLinearizable } from '../../../src/sim/linearizability.js';
import { kvModel } from '../../../src/sim/linearizability-kv.js';
import { makeSimTest } from '../../../src/sim/seed.js';
import { SeededRng } from '../../../src/util/rng.js';
import { formed, names, newCluster } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test, { serial: true });

interface StormReport {
  linearizability: CheckResult;
  explanation: string;
  /** Terms in which two members each became leader (Raft's election safety broken). */
  doubleLeaders: string[];
  /** Moments the leader had applied an entry that a majority of voters had not made durable. */
  undurableCommits: string[];
  ops: number;
  ok: number;
  pending: number;
  faults: string[];
}

/** Leaders per term, from the members' own leader-changed events (a member reporting itself leader). */
function doubleLeaders(c: ControlCluster): string[] {
  const byTerm = new Map<number, Set<string>>();
  for (const l of c.leaderChanges) {
    if (l.leader !== l.observer) continue;
    let set = byTerm.get(l.term);
    if (set === undefined) {
      set = new Set();
      byTerm.set(l.term, set);
    }
    set.add(l.leader);
  }
  return [...byTerm].filter(([, set]) => set.size > 1).map(([term, set]) => `term ${term}: ${[...set].join(', ')}`);
}

/**
 * An entry the leader has applied (so a client may have its answer) that
 * fewer than a majority of voters hold on disk: a power loss now can lose an
 * acknowledged write. Never true of an honest shell (its followers
 * acknowledge after their fsync); the fault injector crashes the cluster at
 * such a moment when there is one.
 */
function undurableCommit(c: ControlCluster): string | undefined {
  const leader = c.leader();
  const s = leader === undefined ? undefined : c.status(leader);
  if (s === undefined || s.appliedIndex === 0) return undefined;
  const index = s.appliedIndex;
  const holders = s.voters.filter((v) => {
    const d = c.node(v).disk.raft;
    return d !== undefined && ((d.durableState.snapshot?.meta.index ?? 0) >= index || d.entry(index) !== undefined);
  });
  return holders.length * 2 > s.voters.length ? undefined : `${c.nowMs.toFixed(0)}: ${leader} applied ${index}, durable on ${holders.join(',') || 'none'}`;
}

/**
 * Three voters under repeated whole-cluster power losses, with slow and
 * uneven disks and busy clients. A round's power loss comes at a random
 * time, or at once when an applied entry is not durable on a majority.
 */
async function crashStorm(seed: number, unsafe?: ControlShellUnsafe): Promise<StormReport> {
  const rng = new SeededRng(seed ^ 0x5707);
  const members = names('m', 3);
  const c = newCluster(seed, members, {
    control: { snapshotEveryEntries: 200 },
    cluster: { persistLatencyMinMs: 1, persistLatencyMaxMs: 60, tornWritePercent: 50, ...(unsafe === undefined ? {} : { unsafe }) },
  });
  c.startAll(members, { spreadMs: 500 });
  if (!(await c.runUntil(() => formed(c, members), 30_000, 50))) throw new Error('the cluster did not form');
  await c.runFor(1000);
  const clients = new ControlClients(c, rng.fork(), { keys: ['a', 'b'], thinkMs: 10, giveUpMs: 4000, readPercent: 40, casPercent: 30 });
  clients.start(4);
  const faults: string[] = [];
  const undurable: string[] = [];
  for (let round = 0; round < 8; round++) {
    let seen: string | undefined;
    await c.runUntil(() => (seen = undurableCommit(c)) !== undefined, 1000 + rng.int(2000), 1);
    if (seen !== undefined) undurable.push(seen);
    const leader = c.leader();
    faults.push(`${c.nowMs.toFixed(0)}: power loss (leader ${leader ?? 'none'}${seen === undefined ? '' : ', an applied entry not durable on a majority'})`);
    for (const m of members) c.crash(m);
    await c.runFor(50 + rng.int(300));
    // The followers first, the old leader after an election timeout or two: the followers may elect each other.
    const followers = members.filter((m) => m !== leader);
    c.start(followers[0]);
    c.start(followers[1], [followers[0]]);
    if (leader !== undefined) {
      await c.runFor(1000 + rng.int(3000));
      c.start(leader, [followers[0]]);
    }
  }
  await c.runFor(2000);
  clients.stop();
  await c.runFor(6000);
  const ops = clients.history.all();
  const report = checkLinearizable(kvModel, ops, { timeoutMs: 20_000 });
  return {
    linearizability: report.result,
    explanation: report.result === CheckResult.Illegal ? (report.explanation ?? '') : '',
    doubleLeaders: doubleLeaders(c),
    undurableCommits: undurable,
    ops: ops.length,
    ok: clients.counters.ok,
    pending: ops.filter((op) => op.status === 'pending').length,
    faults,
  };
}

simTest('whole-cluster power losses lose no acknowledged write (the honest shell)', [1, 2], async (t, seed) => {
  const r = await crashStorm(seed);
  t.log(`${r.faults.join('; ')}\n${r.ops} ops, ${r.ok} ok: ${r.linearizability}`);
  if (r.linearizability === CheckResult.Illegal) t.log(r.explanation);
  t.is(r.pending, 0, 'every operation completed');
  t.true(r.ok > 100, `${r.ok} ok`);
  t.deepEqual(r.doubleLeaders, [], 'one leader per term');
  t.deepEqual(r.undurableCommits, [], 'every applied entry was durable on a majority');
  t.is(r.linearizability, CheckResult.Ok);
});

test.serial('negative control: a shell that sends before its fsync is caught by a control simulation', async (t) => {
  const caught: string[] = [];
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const r = await crashStorm(seed, { sendBeforeFsync: true });
    t.log(`seed ${seed}: ${r.ops} ops, ${r.ok} ok, ${r.linearizability}, double leaders: ${r.doubleLeaders.join('; ') || 'none'}, undurable commits: ${r.undurableCommits.length}`);
    if (r.linearizability === CheckResult.Illegal || r.doubleLeaders.length > 0) {
      caught.push(`seed ${seed}: ${r.linearizability === CheckResult.Illegal ? r.explanation.split('\n')[0] : ''} ${r.doubleLeaders.join('; ')}`);
      break;
    }
  }
  t.log(caught.join('\n'));
  t.true(caught.length >= 1, 'sending before fsync must not pass every check');
});
