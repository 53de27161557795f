import test, { type ExecutionContext } from 'ava';
import { MemberState } from '../../../src/gossip/messages.js';
import { makeSimTest } from '../../../src/sim/seed.js';
import { describeConfs, fastControl, formed, names, newCluster, recordConfigurations } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test, { serial: true });
const graceMs = fastControl.autopilot!.deadVoterGraceMs!;

simTest('autopilot replaces a crashed voter: learner added, promoted, the dead voter removed after the grace', [1, 2, 3], async (t, seed) => {
  const members = names('m', 5);
  const c = newCluster(seed, members);
  c.startAll(members, { spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3 && c.configuration()!.learners.length === 2, 30_000, 50));
  await c.runFor(2000);
  const confs = recordConfigurations(c);
  const before = c.configuration()!;
  const victim = before.voters.find((v) => v !== c.leader())!;
  c.crash(victim);
  const crashMs = c.nowMs;
  const healed = (): boolean => {
    const conf = c.configuration();
    return conf !== undefined && conf.voters.length === 3 && !conf.voters.includes(victim) && !conf.learners.includes(victim);
  };
  t.true(await c.runUntil(healed, 60_000, 50), `replaced:\n${describeConfs(confs)}`);
  t.log(describeConfs(confs));
  const promoted = confs.find((s) => s.voters.length === 4 && s.voters.includes(victim));
  t.truthy(promoted, 'a replacement was promoted while the dead voter was still in its grace');
  const removed = confs.find((s) => !s.voters.includes(victim) && !s.learners.includes(victim))!;
  t.true(removed.atMs - crashMs >= graceMs, `removed ${removed.atMs - crashMs} ms after the crash, grace ${graceMs}`);
  t.true(promoted!.atMs < removed.atMs);
  const replacement = promoted!.voters.find((v) => !before.voters.includes(v))!;
  t.true(before.learners.includes(replacement) || confs.some((s) => s.learners.includes(replacement)), 'the replacement was a learner first');
  // The cluster still serves writes.
  t.true(c.status(c.leader()!)!.voters.every((v) => c.isLive(v)));
});

simTest('a voter that leaves is removed at once and replaced', [4, 5], async (t, seed) => {
  const members = names('m', 5);
  const c = newCluster(seed, members);
  c.startAll(members, { spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3 && c.configuration()!.learners.length === 2, 30_000, 50));
  await c.runFor(2000);
  const confs = recordConfigurations(c);
  const leaver = c.configuration()!.voters.find((v) => v !== c.leader())!;
  c.leave(leaver);
  // "At once" counts from when the leader's gossip reports the member left (dissemination takes its own time).
  const leaderSees = (): MemberState | undefined => c.membersSeenBy(c.leader() ?? leaver).find((m) => m.name === leaver)?.state;
  t.true(await c.runUntil(() => leaderSees() === MemberState.Left, 30_000, 10), 'the leader learns of the leave');
  const leftSeenMs = c.nowMs;
  const gone = (): boolean => {
    const conf = c.configuration();
    return conf !== undefined && !conf.voters.includes(leaver) && !conf.learners.includes(leaver);
  };
  t.true(await c.runUntil(gone, 20_000, 10), describeConfs(confs));
  t.true(c.nowMs - leftSeenMs < 2000, `removed ${c.nowMs - leftSeenMs} ms after the leader saw the leave (grace for the dead: ${graceMs} ms)`);
  t.true(await c.runUntil(() => c.configuration()?.voters.length === 3, 20_000, 50), `replaced:\n${describeConfs(confs)}`);
  t.log(describeConfs(confs));
});

simTest('the leader itself leaving hands over and is removed', [6], async (t, seed) => {
  const members = names('m', 4);
  const c = newCluster(seed, members);
  c.startAll(members, { spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3, 30_000, 50));
  await c.runFor(2000);
  const leader = c.leader()!;
  c.leave(leader);
  t.true(
    await c.runUntil(() => {
      const l = c.leader();
      const conf = c.configuration();
      return l !== undefined && l !== leader && conf !== undefined && !conf.voters.includes(leader) && conf.voters.length === 3;
    }, 30_000, 50),
  );
});

simTest('voters spread across zones: 3 zones, 6 members, one voter per zone', [7, 8, 9], async (t, seed) => {
  // The three smallest names (bootstrap candidates) share zone a.
  const zoneOf: Record<string, string> = { m1: 'a', m2: 'a', m3: 'a', m4: 'b', m5: 'b', m6: 'c' };
  const members = Object.keys(zoneOf);
  const c = newCluster(seed, members, { tags: (n) => ({ zone: zoneOf[n] }) });
  c.startAll(members, { spreadMs: 1000 });
  const confs = recordConfigurations(c);
  const spread = (): boolean => {
    const conf = c.configuration();
    if (conf === undefined || conf.voters.length !== 3) return false;
    return new Set(conf.voters.map((v) => zoneOf[v])).size === 3;
  };
  t.true(await c.runUntil(spread, 60_000, 50), describeConfs(confs));
  await c.runFor(5000);
  t.true(spread(), `still spread:\n${describeConfs(confs)}`);
  t.log(describeConfs(confs));
});
