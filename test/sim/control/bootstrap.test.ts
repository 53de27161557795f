import test, { type ExecutionContext } from 'ava';
import { SeededRng } from '../../../src/util/rng.js';
import { makeSimTest } from '../../../src/sim/seed.js';
import type { ControlCluster } from '../../../src/sim/control-cluster.js';
import { formed, names, newCluster, shuffled } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test, { serial: true });

/** Exactly one cluster id and one bootstrapped voter set, ever; every member joined it. */
function assertOneCluster(t: ExecutionContext, c: ControlCluster, members: readonly string[], expect: number): void {
  t.is(c.clusterIds().length, 1, `cluster ids: ${c.clusterIds().join(', ')}`);
  const sets = c.bootstrapVoterSets();
  t.is(sets.length, 1, `voter sets: ${JSON.stringify(sets)}`);
  t.is(sets[0].length, expect);
  for (const m of members) if (c.isLive(m)) t.is(c.status(m)?.clusterId, c.clusterIds()[0], `${m} in the cluster`);
  t.is(new Set(c.starts.map((s) => s.name)).size, c.starts.length, 'no member started Raft twice');
}

for (const expect of [3, 5]) {
  simTest(`${expect} expected voters form one cluster whatever the join order`, [1, 2, 3, 4], async (t, seed) => {
    const rng = new SeededRng(seed);
    const members = names('m', expect);
    const c = newCluster(seed, members, { bootstrapExpect: expect });
    // Odd seeds start members over 3 s (most join the first cluster id they see), even seeds
    // within 100 ms (several bootstrap concurrently through the commit protocol).
    c.startAll(shuffled(members, rng), { spreadMs: seed % 2 === 1 ? 3000 : 100 });
    t.true(await c.runUntil(() => formed(c, members), 60_000, 50), 'formed');
    await c.runFor(3000);
    assertOneCluster(t, c, members, expect);
    t.deepEqual(c.configuration()?.voters, [...members].sort(), 'the voters are the expected members');
    t.log(c.starts.map((x) => `${x.name}:${x.voters.length > 0 ? 'bootstrapped' : 'joined'}`).join(' '));
  });
}

simTest('5 members expecting 3, split 2|3 at bootstrap: the 3 bootstrap, the 2 join after the heal', [5, 6, 7], async (t, seed) => {
  const rng = new SeededRng(seed);
  const members = shuffled(names('m', 5), rng);
  const small = members.slice(0, 2);
  const large = members.slice(2);
  const c = newCluster(seed, members, { bootstrapExpect: 3 });
  c.partition(small, large);
  c.startAll(small, { seeds: [small[0]], spreadMs: 1000 });
  c.startAll(large, { seeds: [large[0]], spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, large), 30_000, 50), 'the larger side formed a cluster');
  await c.runFor(5000);
  t.true(small.every((m) => !c.status(m)!.bootstrapped), 'the smaller side waits');
  c.heal();
  for (const m of small) c.join(m, [large[0]]);
  t.true(await c.runUntil(() => formed(c, members), 30_000, 50), 'everyone joined');
  assertOneCluster(t, c, members, 3);
});

simTest('4 members expecting 3, split 2|2 at bootstrap: nobody bootstraps until the heal, then one cluster', [8, 9], async (t, seed) => {
  const members = names('m', 4);
  const a = [members[0], members[2]];
  const b = [members[1], members[3]];
  const c = newCluster(seed, members, { bootstrapExpect: 3 });
  c.partition(a, b);
  c.startAll(a, { seeds: [a[0]], spreadMs: 500 });
  c.startAll(b, { seeds: [b[0]], spreadMs: 500 });
  await c.runFor(20_000);
  t.is(c.starts.length, 0, 'no side has enough members to bootstrap');
  c.heal();
  c.join(b[0], [a[0]]);
  t.true(await c.runUntil(() => formed(c, members), 60_000, 50), 'formed after the heal');
  await c.runFor(3000);
  assertOneCluster(t, c, members, 3);
});

simTest('a restarted member does not bootstrap again; a late member joins the existing cluster', [10, 11], async (t, seed) => {
  const members = names('m', 3);
  const c = newCluster(seed, [...members, 'late']);
  c.startAll(members, { spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, members), 30_000, 50));
  const id = c.clusterIds()[0];
  const victim = members.find((m) => m !== c.leader())!;
  c.crash(victim);
  await c.runFor(2000);
  c.start(victim, [c.leader()!]);
  c.start('late', [members[0]]);
  t.true(await c.runUntil(() => formed(c, [...members, 'late']), 30_000, 50));
  await c.runFor(5000);
  t.deepEqual(c.clusterIds(), [id]);
  t.is(c.starts.filter((s) => s.name === victim).length, 1, 'the restarted member started Raft once, from its storage');
  t.is(c.node(victim).counters.restarts, 1);
  const lateStart = c.starts.find((s) => s.name === 'late');
  t.deepEqual(lateStart?.voters, [], 'the late member joined with an empty configuration');
  t.is(c.status('late')?.clusterId, id);
  const conf = c.configuration()!;
  t.true(conf.learners.includes('late') || conf.voters.includes('late'), `late is a learner or voter: ${JSON.stringify(conf)}`);
});

simTest('a whole-cluster restart re-forms the same cluster from disk, with its data, and bootstraps nothing', [12, 13], async (t, seed) => {
  const members = names('m', 3);
  const c = newCluster(seed, members);
  c.startAll(members, { spreadMs: 500 });
  t.true(await c.runUntil(() => formed(c, members), 30_000, 50));
  const id = c.clusterIds()[0];
  let written = false;
  c.request(c.leader()!, 'w', (shell) => shell.write({ type: 'put', key: 'k', value: new TextEncoder().encode('v') }), (r) => {
    written = r.ok;
  });
  t.true(await c.runUntil(() => written, 5000, 5));
  for (const m of members) c.crash(m);
  await c.runFor(3000);
  const startsBefore = c.starts.length;
  c.startAll(members, { spreadMs: 500 });
  t.true(await c.runUntil(() => formed(c, members), 30_000, 50), 're-formed');
  await c.runFor(2000);
  t.is(c.starts.length, startsBefore, 'no Raft start: every member loaded its storage');
  t.deepEqual(c.clusterIds(), [id]);
  for (const m of members) t.is(c.status(m)?.clusterId, id);
  t.is(new TextDecoder().decode(c.core(c.leader()!)!.store.get('k')!.value), 'v', 'the acknowledged write survived');
});
