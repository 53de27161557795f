/** The RaftNode Ready/advance contract. */
import test from 'ava';
import { RaftNode } from '../../../src/raft/node.js';
import { validateRaftConfig } from '../../../src/raft/config.js';
import { EntryType, MessageType } from '../../../src/raft/types.js';
import { SeededRng } from '../../../src/util/rng.js';
import { Cluster, bytes, msg } from './cluster.js';

const fresh = (id: string, voters: string[], extra: object = {}): RaftNode =>
  new RaftNode(
    validateRaftConfig({ id, ...extra }),
    { hardState: { term: 0, vote: '', commit: 0 }, entries: [], conf: { voters, learners: [] } },
    new SeededRng(1),
  );

test('bootstrap: the first Ready persists the membership as committed conf-change entries of term 1', (t) => {
  const n = fresh('a', ['a', 'b', 'c']);
  t.true(n.hasReady());
  const rd = n.ready();
  t.deepEqual(rd.hardState, { term: 1, vote: '', commit: 3 });
  t.deepEqual(rd.entries.map((e) => [e.index, e.term, e.type]), [
    [1, 1, EntryType.ConfChange],
    [2, 1, EntryType.ConfChange],
    [3, 1, EntryType.ConfChange],
  ]);
  t.is(rd.committedEntries.length, 3);
  n.advance(rd);
  t.false(n.hasReady());
  t.deepEqual(n.status().voters, ['a', 'b', 'c']);
  t.is(n.status().applied, 3);
});

test('one Ready at a time: ready() again before advance() is a programmer error', (t) => {
  const n = fresh('a', ['a', 'b', 'c']);
  const rd = n.ready();
  t.false(n.hasReady(), 'nothing new while a Ready is outstanding');
  t.throws(() => n.ready(), { code: 'ERR_ASSERTION' } as never);
  t.throws(() => n.advance({ ...rd }), { code: 'ERR_ASSERTION' } as never);
  n.advance(rd);
});

test('HardState changes (term, vote, commit) ride in the same Ready as the messages that depend on them', (t) => {
  const n = fresh('a', ['a', 'b', 'c'], { preVote: false });
  n.advance(n.ready());
  n.campaign();
  const rd = n.ready();
  t.deepEqual(rd.hardState, { term: 2, vote: 'a', commit: 3 });
  t.deepEqual(rd.softState, { leader: '', role: 'candidate' });
  t.deepEqual(rd.messages.map((m) => [m.type, m.to, m.term]), [
    [MessageType.Vote, 'b', 2],
    [MessageType.Vote, 'c', 2],
  ]);
  n.advance(rd);
  n.step(msg({ type: MessageType.VoteResp, from: 'b', to: 'a', term: 2 }));
  const rd2 = n.ready();
  t.deepEqual(rd2.softState, { leader: 'a', role: 'leader' });
  t.is(rd2.hardState, undefined, 'winning changes no term, vote or commit');
  t.deepEqual(rd2.entries.map((e) => [e.index, e.term, e.data.length]), [[4, 2, 0]], 'the no-op');
  t.true(rd2.messages.every((m) => m.type === MessageType.App && m.entries.length === 1));
  n.advance(rd2);
  n.step(msg({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, index: 4 }));
  const rd3 = n.ready();
  t.deepEqual(rd3.hardState, { term: 2, vote: 'a', commit: 4 });
  t.deepEqual(rd3.committedEntries.map((e) => e.index), [4]);
  n.advance(rd3);
});

test('a restarted node keeps its term and vote and re-emits committed entries to apply', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 61 });
  c.node('a').campaign();
  c.stabilize();
  c.propose('a', 'one');
  c.propose('a', 'two');
  const before = c.node('b').status();
  c.restart('b');
  const after = c.node('b').status();
  t.is(after.term, before.term);
  t.is(after.vote, before.vote);
  t.is(after.commit, before.commit);
  t.is(after.applied, 0);
  c.stabilize();
  t.deepEqual(c.applied.get('b'), ['one', 'two']);
});

test('lease-based reads: a restarted voter ignores vote requests for an election timeout', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { readOnlyOption: 'lease-based' }, seed: 62 });
  c.node('a').campaign();
  c.stabilize();
  c.restart('b');
  const term = c.node('b').status().term;
  c.node('b').step(msg({ type: MessageType.Vote, from: 'c', to: 'b', term: term + 1, index: 99, logTerm: 99 }));
  t.is(c.node('b').status().term, term, 'it may have backed the old leader lease before restarting');
  t.is(c.node('b').status().counters.votesIgnoredInLease, 1);
});

test('proposeConfChange with an invalid change is refused, not thrown', (t) => {
  const n = fresh('a', ['a']);
  n.advance(n.ready());
  n.proposeConfChange({ type: 7 as 0, node: 'x' }, bytes('bad'));
  const rd = n.ready();
  t.deepEqual(rd.droppedProposals, [{ context: bytes('bad'), code: 'ERR_INVALID_ARGUMENT', leader: '' }]);
  n.advance(rd);
});
