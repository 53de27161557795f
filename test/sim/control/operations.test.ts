import test, { type ExecutionContext } from 'ava';
import type { ControlResult } from '../../../src/control/control-types.js';
import { makeSimTest } from '../../../src/sim/seed.js';
import { formed, names, newCluster } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test, { serial: true });

simTest('operator actions: transfer leadership, remove a peer (answered when applied, on a follower too)', [1, 2], async (t, seed) => {
  const members = names('m', 5);
  const c = newCluster(seed, members);
  c.startAll(members, { spreadMs: 500 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3 && c.configuration()!.learners.length === 2, 30_000, 50));
  await c.runFor(1000);
  const old = c.leader()!;
  const to = c.configuration()!.voters.find((v) => v !== old)!;
  c.request(old, 'transfer', (shell) => shell.transferLeader(to), () => undefined);
  t.true(await c.runUntil(() => c.leader() === to, 5000, 5), `leadership moved from ${old} to ${to}`);
  // Remove a learner through a follower: the answer comes when the follower applies the change.
  const learner = c.configuration()!.learners[0];
  const via = c.configuration()!.voters.find((v) => v !== c.leader())!;
  let answer: ControlResult | undefined;
  c.request(via, 'rm', (shell) => shell.removePeer(learner), (r) => {
    answer = r;
  });
  t.true(await c.runUntil(() => answer !== undefined, 5000, 5));
  t.deepEqual(answer, { requestId: 'rm', ok: true, value: { removed: learner } });
  t.false(c.status(via)!.learners.includes(learner), 'applied on the member that answered');
  // Autopilot adds it back later as a spare: it is alive and eligible.
  t.true(await c.runUntil(() => c.configuration()!.learners.includes(learner), 20_000, 50), 'back as a spare learner');
});
