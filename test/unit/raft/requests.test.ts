/** Client requests: ReadIndex (dissertation §6.4), proposals on followers, leadership transfer (§3.10). */
import test from 'ava';
import { Cluster, bytes, msg, text } from './cluster.js';
import { MessageType } from '../../../src/raft/types.js';

test('§6.4 ReadIndex (safe): the read is answered only after a heartbeat round reaches a quorum', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 21 });
  c.node('a').campaign();
  c.stabilize();
  c.propose('a', 'w1');
  const commit = c.node('a').status().commit;
  c.filter = (m) => m.type !== MessageType.HeartbeatResp;
  c.node('a').readIndex(bytes('r1'));
  c.stabilize();
  t.deepEqual(c.readStates.get('a'), [], 'no quorum confirmation yet');
  const hbs = c.sent.filter((m) => m.type === MessageType.Heartbeat && text(m.context) === 'r1');
  t.is(hbs.length, 2, 'a heartbeat carrying the context went to each follower');
  c.filter = (m) => !(m.type === MessageType.HeartbeatResp && m.from === 'c');
  c.tickAll(1); // the next heartbeat round carries the pending context again; b answers
  t.deepEqual(
    c.readStates.get('a')!.map((r) => [r.index, text(r.context)]),
    [[commit, 'r1']],
  );
});

test('§6.4 ReadIndex is not served before the leader has committed an entry of its term', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 22 });
  c.filter = (m) => m.type !== MessageType.AppResp; // the no-op cannot commit
  c.node('a').campaign();
  c.stabilize();
  t.is(c.node('a').status().role, 'leader');
  c.node('a').readIndex(bytes('early'));
  c.tickAll(3);
  t.deepEqual(c.readStates.get('a'), [], 'held while no entry of the term is committed');
  c.heal();
  c.tickAll(2);
  t.deepEqual(c.readStates.get('a')!.map((r) => text(r.context)), ['early']);
  t.is(c.readStates.get('a')![0].index, c.node('a').status().commit, 'index includes the no-op');
});

test('§6.4 ReadIndex on a follower is forwarded to the leader and answered to the follower', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 23 });
  c.node('a').campaign();
  c.stabilize();
  c.propose('a', 'w');
  c.node('b').readIndex(bytes('rb'));
  c.stabilize();
  t.deepEqual(c.readStates.get('b')!.map((r) => [r.index, text(r.context)]), [[c.node('a').status().commit, 'rb']]);
  t.deepEqual(c.readStates.get('a'), []);
});

test('lease-based ReadIndex answers within the leader lease without a heartbeat round, and not after it expires', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { readOnlyOption: 'lease-based' }, seed: 24 });
  c.node('a').campaign();
  c.stabilize();
  c.tickAll(2); // heartbeat acks establish the lease
  c.filter = () => false;
  c.node('a').readIndex(bytes('lr'));
  c.stabilize();
  t.deepEqual(c.readStates.get('a')!.map((r) => text(r.context)), ['lr']);
  t.is(c.sent.filter((m) => m.type === MessageType.Heartbeat && text(m.context) === 'lr').length, 0);
  c.tickAll(9); // followers may vote for someone else from 10 ticks after their last heartbeat
  c.node('a').readIndex(bytes('late'));
  c.stabilize();
  t.deepEqual(c.readStates.get('a')!.map((r) => text(r.context)), ['lr'], 'lease expired: falls back to a heartbeat round');
  c.heal();
  c.tickAll(1);
  t.deepEqual(c.readStates.get('a')!.map((r) => text(r.context)), ['lr', 'late']);
});

test('ReadIndex on a node without a leader is refused', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 25 });
  c.node('b').readIndex(bytes('nope'));
  c.stabilize();
  t.deepEqual(c.dropped.get('b')!.map((d) => [text(d.context), d.code]), [['nope', 'ERR_NOT_LEADER']]);
});

test('a proposal on a follower is forwarded to the leader and committed', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 26 });
  c.node('a').campaign();
  c.stabilize();
  c.propose('b', 'from-b');
  t.deepEqual(c.applied.get('a'), ['from-b']);
  t.deepEqual(c.applied.get('c'), ['from-b']);
  t.true(c.sent.some((m) => m.type === MessageType.Prop && m.from === 'b' && m.to === 'a'));
});

test('without forwardProposals a follower refuses a proposal with ERR_NOT_LEADER naming the leader', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { forwardProposals: false }, seed: 27 });
  c.node('a').campaign();
  c.stabilize();
  c.node('b').propose(bytes('x'), bytes('ctx-x'));
  c.stabilize();
  t.deepEqual(c.dropped.get('b'), [{ context: bytes('ctx-x'), code: 'ERR_NOT_LEADER', leader: 'a' }]);
  t.deepEqual(c.applied.get('a'), []);
});

test('a proposal during an election is refused (no leader named)', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 28 });
  c.node('a').propose(bytes('x'), bytes('c1'));
  c.stabilize();
  t.deepEqual(c.dropped.get('a'), [{ context: bytes('c1'), code: 'ERR_NOT_LEADER', leader: '' }]);
});

test('§3.10 leadership transfer: TimeoutNow once the target has caught up; the target wins the next term', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 29 });
  c.node('a').campaign();
  c.stabilize();
  const term = c.node('a').status().term;
  c.isolate('c');
  for (let i = 0; i < 5; i++) c.propose('a', `v${i}`);
  c.heal();
  c.filter = (m) => !(m.to === 'c' && m.type === MessageType.App); // c is behind
  c.node('a').transferLeadership('c');
  c.stabilize();
  t.is(c.node('a').status().leadTransferee, 'c');
  t.is(c.messagesOfType(MessageType.TimeoutNow).length, 0, 'not before c has caught up');
  c.node('a').propose(bytes('during'), bytes('during'));
  c.stabilize();
  t.deepEqual(c.dropped.get('a')!.map((d) => d.code), ['ERR_PROPOSAL_DROPPED'], 'proposals dropped during transfer');
  c.heal();
  c.tickAll(2);
  t.is(c.messagesOfType(MessageType.TimeoutNow).length, 1);
  t.is(c.leader(), 'c');
  t.is(c.node('c').status().term, term + 1);
  t.deepEqual(c.applied.get('c'), ['v0', 'v1', 'v2', 'v3', 'v4']);
});

test('§3.10 a transfer that does not finish within an election timeout is aborted', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { checkQuorum: false }, seed: 30 });
  c.node('a').campaign();
  c.stabilize();
  c.isolate('c');
  c.propose('a', 'v');
  c.node('a').transferLeadership('c');
  c.stabilize();
  t.is(c.node('a').status().leadTransferee, 'c');
  c.tickAll(10);
  t.is(c.node('a').status().leadTransferee, '');
  t.is(c.leader(), 'a');
  c.propose('a', 'after');
  t.true(c.applied.get('a')!.includes('after'), 'proposals accepted again');
});

test('transferLeadership on a follower is forwarded to the leader', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 31 });
  c.node('a').campaign();
  c.stabilize();
  c.node('c').transferLeadership('b');
  c.stabilize();
  t.is(c.leader(), 'b');
});

test('step() never throws on stale, misaddressed, malformed or unknown messages', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 32 });
  c.node('a').campaign();
  c.stabilize();
  const a = c.node('a');
  const term = a.status().term;
  const bad = [
    msg({ type: MessageType.App, from: 'b', to: 'a', term: term - 1 }),
    msg({ type: MessageType.AppResp, from: 'zz', to: 'a', term, index: 99 }),
    msg({ type: MessageType.HeartbeatResp, from: 'b', to: 'x', term }),
    msg({ type: 99 as MessageType, from: 'b', to: 'a', term }),
    msg({ type: MessageType.App, from: 'b', to: 'a', term: -1 }),
    msg({ type: MessageType.SnapResp, from: 'b', to: 'a', term, index: 5 }),
    msg({ type: MessageType.VoteResp, from: 'b', to: 'a', term }),
    { ...msg({ type: MessageType.App, from: 'b', to: 'a', term }), entries: null as unknown as [] },
    { ...msg({ type: MessageType.Snap, from: 'b', to: 'a', term: term + 1 }), snapshot: { meta: null } as never },
  ];
  for (const m of bad) t.notThrows(() => a.step(m));
  const counters = a.status().counters;
  t.true(counters.messagesDroppedStale + counters.messagesDroppedUnexpected + counters.messagesDroppedUnknownPeer >= bad.length - 1);
  t.is(a.status().role, 'leader');
  t.is(a.status().term, term);
});

test('reads a leader had not confirmed are refused when it steps down, locally and on the forwarding follower', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 33 });
  c.node('a').campaign();
  c.stabilize();
  c.filter = (m) => m.type !== MessageType.HeartbeatResp;
  c.node('a').readIndex(bytes('ra'));
  c.node('b').readIndex(bytes('rb'));
  c.stabilize();
  // A heartbeat of a newer term (some other leader) makes a step down.
  const term = c.node('a').status().term;
  c.node('a').step(msg({ type: MessageType.Heartbeat, from: 'c', to: 'a', term: term + 1 }));
  c.stabilize();
  t.is(c.node('a').status().role, 'follower');
  t.deepEqual(c.dropped.get('a')!.map((d) => [text(d.context), d.code]), [['ra', 'ERR_NOT_LEADER']]);
  t.deepEqual(c.readStates.get('a'), []);
  t.deepEqual(c.dropped.get('b')!.map((d) => [text(d.context), d.code]), [['rb', 'ERR_UNAVAILABLE']]);
  t.deepEqual(c.readStates.get('b'), []);
});
