/** Leader election (Raft paper §5.2, §5.4.1; dissertation §9.6 PreVote, §6.2 CheckQuorum). */
import test from 'ava';
import { Cluster, msg } from './cluster.js';
import { MessageType } from '../../../src/raft/types.js';

test('§5.2 "a server remains in follower state as long as it receives valid RPCs"; then one leader is elected', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 7 });
  const leader = c.electLeader();
  const term = c.node(leader).status().term;
  c.tickAll(100);
  t.is(c.leader(), leader, 'heartbeats keep the leader');
  t.is(c.node(leader).status().term, term, 'no further elections while the leader is healthy');
  for (const id of ['a', 'b', 'c']) t.is(c.node(id).status().leader, leader);
});

test('§5.2 election safety: "at most one leader can be elected in a given term" across seeds and partitions', (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const c = new Cluster({ voters: ['a', 'b', 'c', 'd', 'e'], seed });
    c.electLeader();
    for (let round = 0; round < 4; round++) {
      const victim = c.leader()!;
      c.isolate(victim);
      c.tickAll(40);
      c.heal();
      c.tickAll(20);
    }
    // Cluster.processReady throws on two leaders in one term.
    t.true(c.leadersByTerm.size >= 2, `seed ${seed}: leadership changed`);
    c.checkStateMachineSafety();
  }
});

test('§5.2 "each server will vote for at most one candidate in a given term, on a first-come-first-served basis"', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { preVote: false, checkQuorum: false }, seed: 3 });
  c.stabilize();
  const a = c.node('a');
  const term = a.status().term + 1;
  a.step(msg({ type: MessageType.Vote, from: 'b', to: 'a', term, index: 3, logTerm: 1 }));
  a.step(msg({ type: MessageType.Vote, from: 'c', to: 'a', term, index: 3, logTerm: 1 }));
  const rd = a.ready();
  const resps = rd.messages.filter((m) => m.type === MessageType.VoteResp);
  t.deepEqual(
    resps.map((m) => [m.to, m.reject]),
    [
      ['b', false],
      ['c', true],
    ],
  );
  t.is(rd.hardState?.vote, 'b', 'the vote is in the HardState persisted before the response is sent');
  a.advance(rd);
});

test('§5.4.1 "the voter denies its vote if its own log is more up-to-date than that of the candidate"', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { preVote: false, checkQuorum: false }, seed: 5 });
  const leader = c.electLeader();
  c.propose(leader, 'x');
  const a = c.node('a');
  const st = a.status();
  const candidate = leader === 'b' ? 'c' : 'b';
  a.step(msg({ type: MessageType.Vote, from: candidate, to: 'a', term: st.term + 5, index: st.lastIndex - 1, logTerm: st.term }));
  const rd = a.ready();
  const resp = rd.messages.find((m) => m.type === MessageType.VoteResp && m.to === candidate);
  t.is(resp?.reject, true);
  t.is(rd.hardState?.vote, '', 'no vote recorded');
  t.is(rd.hardState?.term, st.term + 5, 'the higher term is adopted even when the vote is denied');
  a.advance(rd);
});

test('§5.2 a candidate that wins a majority becomes leader and appends a no-op of its term', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 11 });
  c.node('a').campaign();
  c.stabilize();
  const st = c.node('a').status();
  t.is(st.role, 'leader');
  const last = c.log('a').at(-1)!;
  t.is(last.term, st.term);
  t.is(last.data.length, 0, 'no-op entry');
  t.is(st.commit, last.index, 'the no-op commits once a majority holds it');
});

test('PreVote (§9.6): a partitioned node rejoining does not disrupt the leader', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 13 });
  c.node('a').campaign();
  c.stabilize();
  const term = c.node('a').status().term;
  c.isolate('c');
  c.tickAll(200);
  t.is(c.node('c').status().term, term, 'pre-elections do not bump the isolated node term');
  t.not(c.node('c').status().role, 'leader');
  c.heal();
  c.tickAll(30);
  t.is(c.leader(), 'a');
  t.is(c.node('a').status().term, term, 'the leader kept its term');
});

test('without PreVote a rejoining node bumps the term (the disruption PreVote prevents)', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { preVote: false, checkQuorum: false }, seed: 13 });
  c.node('a').campaign();
  c.stabilize();
  const term = c.node('a').status().term;
  c.isolate('c');
  c.tickAll(60);
  t.true(c.node('c').status().term > term);
  c.heal();
  c.tickAll(30);
  t.true(c.node(c.electLeader()).status().term > term, 'the cluster was forced into a new term');
});

test('CheckQuorum (§6.2): a leader that has not heard from a quorum within an election timeout steps down', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 17 });
  c.node('a').campaign();
  c.stabilize();
  c.isolate('a');
  c.tickAll(25);
  t.is(c.node('a').status().role, 'follower');
  t.not(c.leader(), 'a');
});

test('leader stickiness: a vote request is ignored while a leader was heard recently, unless forced by TimeoutNow', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 19 });
  c.node('a').campaign();
  c.stabilize();
  const b = c.node('b');
  const term = b.status().term;
  const vote = msg({ type: MessageType.Vote, from: 'c', to: 'b', term: term + 1, index: 100, logTerm: 100 });
  b.step(vote);
  t.is(b.status().term, term, 'ignored inside the lease');
  t.is(b.status().counters.votesIgnoredInLease, 1);
  b.step({ ...vote, context: new TextEncoder().encode('CampaignTransfer') });
  t.is(b.status().term, term + 1, 'a transfer campaign overrides stickiness');
});

test('§5.2 randomized election timeouts fall in [electionTicks, 2*electionTicks)', (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed });
    c.isolate('a');
    let ticks = 0;
    while (c.node('a').status().role === 'follower' && ticks < 100) {
      c.node('a').tick();
      ticks++;
    }
    t.true(ticks >= 10 && ticks < 20, `seed ${seed}: campaigned after ${ticks} ticks`);
  }
});
