/**
 * A member restarted with a wiped data directory never votes under its old
 * identity (issue: an acknowledged write was lost). The exact scenario: three
 * voters; one follower (B) down; v2 written and acknowledged by the other
 * two (A and the leader C); A crashes, its data directory is wiped, and it
 * starts again; C crashes; B restarts from its intact disk. B and the wiped A must not elect B and
 * serve v1: every read answers v2 or fails. Once C is back, v2 is there, and
 * the wiped member rejoins as a new one (removed, re-added as a learner,
 * promoted). The negative control turns identity checks off and loses v2.
 */
import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import type { ControlCluster } from '../../../src/sim/control-cluster.js';
import { formed, newCluster } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test, { serial: true });
const enc = new TextEncoder();
const dec = new TextDecoder();

interface ReadResult {
  value?: string;
  ok: boolean;
}

/** Send a put; the outcome fills in as virtual time runs. */
function put(c: ControlCluster, member: string, id: string, value: string): { ok?: boolean } {
  const outcome: { ok?: boolean } = {};
  const sent = c.request(member, id, (shell) => shell.write({ type: 'put', key: 'k', value: enc.encode(value) }), (r) => {
    outcome.ok = r.ok;
  });
  if (!sent) outcome.ok = false;
  return outcome;
}

async function acknowledged(c: ControlCluster, outcome: { ok?: boolean }): Promise<boolean> {
  await c.runUntil(() => outcome.ok !== undefined, 5000, 10);
  return outcome.ok === true;
}

/** Linearizable reads of k through every live member, every 200 ms, for ms. */
async function readAll(c: ControlCluster, members: readonly string[], ms: number): Promise<ReadResult[]> {
  const out: ReadResult[] = [];
  let n = 0;
  for (let at = 0; at < ms; at += 200) {
    c.after(at, () => {
      for (const m of members) {
        if (!c.isLive(m)) continue;
        c.request(m, `read-${++n}`, (shell) => shell.read({ kind: 'get', key: 'k' }, true), (r) => {
          if (!r.ok) return void out.push({ ok: false });
          const kv = (r.value as { kv?: { value: Uint8Array } }).kv;
          out.push({ ok: true, ...(kv === undefined ? {} : { value: dec.decode(kv.value) }) });
        });
      }
    });
  }
  await c.runFor(ms + 4000);
  return out;
}

async function scenario(t: ExecutionContext, seed: number, identityChecks: boolean): Promise<{ during: ReadResult[]; after: ReadResult[]; c: ControlCluster; wiped: string }> {
  const members = ['a', 'b', 'c'];
  const c = newCluster(seed, members, identityChecks ? {} : { control: { nodeId: '' } });
  c.startAll(members, { spreadMs: 300 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3, 30_000, 50), 'three voters formed');
  const leader = c.leader()!;
  const [b, a] = members.filter((m) => m !== leader);
  t.true(await acknowledged(c, put(c, leader, 'w1', 'v1')), 'v1 acknowledged');
  await c.runFor(500);
  // B is down (killed, its disk intact) while v2 commits: it never sees v2.
  c.crash(b!);
  t.true(await acknowledged(c, put(c, leader, 'w2', 'v2')), 'v2 acknowledged by the leader and A');
  c.crash(a!);
  c.wipe(a!);
  // Before the wiped member can catch up from the leader, the leader dies.
  c.start(a!, [leader]);
  c.crash(leader);
  c.start(b!, [a!]);
  // Long enough for gossip to declare the old identity dead, so the transport lets the new one talk.
  const during = await readAll(c, [a!, b!], 40_000);
  // The old leader's intact disk comes back.
  c.start(leader, [b!]);
  await c.runFor(5000);
  const after = await readAll(c, members, 3000);
  return { during, after, c, wiped: a! };
}

simTest('a wiped member never votes under its old identity: no read ever answers the stale v1', [1, 2, 3, 4, 5, 6], async (t, seed) => {
  const { during, after, c, wiped } = await scenario(t, seed, true);
  const stale = [...during, ...after].filter((r) => r.ok && r.value === 'v1');
  t.deepEqual(stale, [], 'no read answered v1 after v2 was acknowledged');
  t.true(after.some((r) => r.ok && r.value === 'v2'), 'v2 is served once the intact voter is back');
  // The wiped member comes back as a new one: its old identity removed, re-added, caught up, voting again.
  const rejoined = await c.runUntil(() => {
    const conf = c.configuration();
    const s = c.status(wiped);
    return conf !== undefined && conf.voters.includes(wiped) && s !== undefined && s.appliedIndex > 0 && c.core(wiped)?.store.get('k') !== undefined;
  }, 60_000, 100);
  t.true(rejoined, `${wiped} rejoined as a voter: ${JSON.stringify(c.configuration())}`);
  const replaced = c.names().reduce((n, m) => n + (c.status(m)?.counters.identitiesReplaced ?? 0), 0);
  t.true(replaced >= 1, 'a leader removed the old identity');
  t.is(dec.decode(c.core(wiped)!.store.get('k')!.value), 'v2', 'and holds v2');
});

simTest('negative control: without identity checks the wiped member votes, and v2 is lost', [1, 2, 3, 4, 5, 6], async (t, seed) => {
  const { during, after } = await scenario(t, seed, false);
  const all = [...during, ...after];
  const stale = all.filter((r) => r.ok && r.value === 'v1').length;
  t.log(`reads: ${stale} answered v1, ${all.filter((r) => r.ok && r.value === 'v2').length} v2, ${all.filter((r) => !r.ok).length} failed`);
  t.true(stale > 0, 'the scenario reaches the hazard: without the checks, B and the wiped A elect B and serve v1');
});
