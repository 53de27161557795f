/** Learners and single-server membership changes (dissertation §4.1-4.2, §4.4 learners). */
import test from 'ava';
import { Cluster, bytes, msg } from './cluster.js';
import { ConfChangeType, MessageType } from '../../../src/raft/types.js';

const addLearner = (node: string) => ({ type: ConfChangeType.AddLearner, node });
const addVoter = (node: string) => ({ type: ConfChangeType.AddVoter, node });
const remove = (node: string) => ({ type: ConfChangeType.RemoveNode, node });

test('learners receive the log but do not count for the commit quorum', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], learners: ['d', 'e'], seed: 41 });
  c.node('a').campaign();
  c.stabilize();
  c.propose('a', 'x');
  t.deepEqual(c.applied.get('d'), ['x'], 'the learner applies the log');
  c.cut('a', 'b');
  c.cut('a', 'c');
  const commit = c.node('a').status().commit;
  c.propose('a', 'y');
  t.is(c.node('a').status().progress.d.match, commit + 1, 'both learners hold y');
  t.is(c.node('a').status().commit, commit, 'leader + 2 learners are not a quorum of 3 voters');
  t.true(c.node('a').status().progress.d.isLearner);
});

test('learners never campaign, and their votes do not count', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], learners: ['d', 'e'], config: { preVote: false }, seed: 42 });
  c.isolate('d');
  c.tickAll(100);
  t.is(c.node('d').status().role, 'follower');
  t.is(c.node('d').status().counters.elections, 0);
  t.false(c.sent.some((m) => m.type === MessageType.Vote && (m.to === 'd' || m.to === 'e')), 'vote requests go to voters only');
  c.heal();
  const leader = c.electLeader();
  const candidate = ['a', 'b', 'c'].find((id) => id !== leader)!;
  const fresh = new Cluster({ voters: ['a', 'b', 'c'], learners: ['d', 'e'], config: { preVote: false }, seed: 43 });
  fresh.isolate(candidate);
  fresh.node(candidate).campaign();
  fresh.stabilize();
  const term = fresh.node(candidate).status().term;
  for (const l of ['d', 'e']) fresh.node(candidate).step(msg({ type: MessageType.VoteResp, from: l, to: candidate, term }));
  t.is(fresh.node(candidate).status().role, 'candidate', 'self + two learner votes do not make a majority of 3 voters');
});

test('§4.1 a leader accepts no membership change before the no-op of its term has committed', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], spares: ['d'], seed: 44 });
  c.filter = (m) => m.type !== MessageType.AppResp;
  c.node('a').campaign();
  c.stabilize();
  c.node('a').proposeConfChange(addLearner('d'), bytes('cc1'));
  c.stabilize();
  t.deepEqual(c.dropped.get('a')!.map((d) => d.code), ['ERR_CONF_CHANGE_IN_PROGRESS']);
  c.heal();
  c.tickAll(2);
  c.node('a').proposeConfChange(addLearner('d'), bytes('cc2'));
  c.tickAll(2);
  t.is(c.dropped.get('a')!.length, 1, 'accepted once the no-op committed');
  t.deepEqual(c.node('a').status().learners, ['d']);
});

test('§4.1 one membership change at a time: a second change is refused while the first is pending', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], spares: ['d', 'e'], seed: 45 });
  c.node('a').campaign();
  c.stabilize();
  c.filter = (m) => m.type !== MessageType.AppResp;
  c.node('a').proposeConfChange(addLearner('d'));
  c.node('a').proposeConfChange(addLearner('e'), bytes('second'));
  c.stabilize();
  t.deepEqual(c.dropped.get('a')!.map((d) => d.code), ['ERR_CONF_CHANGE_IN_PROGRESS']);
  t.deepEqual(c.node('a').status().learners, [], 'not in force before it is applied');
  c.heal();
  c.tickAll(2);
  t.deepEqual(c.node('a').status().learners, ['d']);
  c.node('a').proposeConfChange(addLearner('e'));
  c.tickAll(2);
  t.deepEqual(c.node('a').status().learners, ['d', 'e']);
  t.is(c.dropped.get('a')!.length, 1);
});

test('a node added as learner learns the whole membership from the log, then is promoted to voter', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], spares: ['d'], seed: 46 });
  c.node('a').campaign();
  c.stabilize();
  c.propose('a', 'before');
  c.node('a').proposeConfChange(addLearner('d'));
  c.tickAll(3);
  t.deepEqual(c.node('d').status().voters, ['a', 'b', 'c']);
  t.deepEqual(c.node('d').status().learners, ['d']);
  t.deepEqual(c.applied.get('d'), ['before']);
  c.node('a').proposeConfChange(addVoter('d'));
  c.tickAll(3);
  for (const id of ['a', 'b', 'c', 'd']) t.deepEqual(c.node(id).status().voters, ['a', 'b', 'c', 'd'], id);
  // Four voters: a quorum is three.
  c.isolate('b');
  c.isolate('c');
  const commit = c.node('a').status().commit;
  c.propose('a', 'needs-3');
  t.is(c.node('a').status().commit, commit);
  c.heal();
  c.isolate('c');
  c.tickAll(2);
  t.true(c.applied.get('d')!.includes('needs-3'));
});

test('§4.2.2 a leader removed from the configuration steps down once the change is committed', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 47 });
  c.node('a').campaign();
  c.stabilize();
  c.node('a').proposeConfChange(remove('a'));
  c.stabilize();
  t.is(c.node('a').status().role, 'follower');
  t.deepEqual(c.node('a').status().voters, ['b', 'c']);
  c.tickAll(30);
  const leader = c.leader()!;
  t.true(leader === 'b' || leader === 'c');
  c.propose(leader, 'after');
  t.deepEqual(c.applied.get('b'), ['after']);
  t.deepEqual(c.node(leader).status().voters, ['b', 'c']);
  t.is(c.node('a').status().role, 'follower', 'the removed node never campaigns');
});

test('a change that would leave no voters is refused', (t) => {
  const c = new Cluster({ voters: ['a'], seed: 48 });
  c.node('a').campaign();
  c.stabilize();
  t.is(c.node('a').status().role, 'leader', 'a single voter elects itself');
  c.node('a').proposeConfChange(remove('a'), bytes('x'));
  c.stabilize();
  t.deepEqual(c.dropped.get('a')!.map((d) => d.code), ['ERR_INVALID_ARGUMENT']);
});
