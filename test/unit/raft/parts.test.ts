/** The small parts: inflights, quorum, log, conf-change encoding, snapshot assembly. */
import test from 'ava';
import { Inflights } from '../../../src/raft/inflights.js';
import { committedIndex, voteResult } from '../../../src/raft/quorum.js';
import { RaftLog } from '../../../src/raft/log.js';
import { applyConfChange, decodeConfChange, encodeConfChange } from '../../../src/raft/conf-change.js';
import { SnapshotAssembler } from '../../../src/raft/snapshot-chunks.js';
import { ConfChangeType, EntryType, type Entry } from '../../../src/raft/types.js';
import { isShoalError } from '../../../src/util/errors.js';
import { Raft } from '../../../src/raft/raft.js';
import { validateRaftConfig } from '../../../src/raft/config.js';
import { SeededRng } from '../../../src/util/rng.js';

const ent = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array(4) });

test('inflights: full by count or by bytes; freeLE releases acknowledged messages', (t) => {
  const f = new Inflights(3, 100);
  f.add(5, 10);
  f.add(7, 10);
  t.false(f.full());
  f.add(9, 10);
  t.true(f.full(), 'count limit');
  f.freeLE(7);
  t.is(f.count, 1);
  t.is(f.bytes, 10);
  f.add(12, 95);
  t.true(f.full(), 'byte limit');
  f.freeLE(100);
  t.is(f.count, 0);
  t.is(f.bytes, 0);
  for (let i = 0; i < 10; i++) {
    f.add(200 + i, 1);
    f.freeLE(200 + i);
  }
  t.is(f.count, 0, 'the ring wraps');
});

test('quorum: committed index is the majority match; votes decide once a majority is known', (t) => {
  const match: Record<string, number> = { a: 9, b: 5, c: 7, d: 1, e: 7 };
  t.is(committedIndex(['a', 'b', 'c', 'd', 'e'], (id) => match[id]), 7);
  t.is(committedIndex(['a', 'b', 'c', 'd'], (id) => match[id]), 5, 'four voters need three');
  t.is(voteResult(['a', 'b', 'c'], new Map([['a', true]])), 'pending');
  t.is(voteResult(['a', 'b', 'c'], new Map([['a', true], ['x', true], ['b', false]])), 'pending', 'non-voters do not count');
  t.is(voteResult(['a', 'b', 'c'], new Map([['a', true], ['c', true]])), 'won');
  t.is(voteResult(['a', 'b', 'c'], new Map([['a', false], ['c', false]])), 'lost');
});

test('log: maybeAppend truncates a conflicting suffix and marks it unstable from the conflict', (t) => {
  const log = new RaftLog(undefined, [ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)], 2);
  t.is(log.maybeAppend(2, 1, 3, [ent(3, 3), ent(4, 3), ent(5, 3)]), 5);
  t.deepEqual(log.unstableEntries().map((e) => [e.index, e.term]), [[3, 3], [4, 3], [5, 3]]);
  t.is(log.committed, 3);
  t.is(log.maybeAppend(5, 2, 5, []), undefined, 'term mismatch rejects');
  t.deepEqual(log.findConflictByTerm(5, 2), { index: 2, term: 1 });
  t.is(log.maybeAppend(1, 1, 5, [ent(2, 9)]), 'conflicts-with-committed', 'committed entries are never overwritten');
  t.is(log.term(2), 1);
});

test('log: compaction keeps the snapshot term and refuses compacted slices', (t) => {
  const log = new RaftLog(undefined, [ent(1, 1), ent(2, 1), ent(3, 2)], 3);
  log.appliedTo(3);
  log.compact(2);
  t.is(log.firstIndex(), 3);
  t.is(log.term(2), 1);
  t.is(log.term(1), undefined);
  t.is(log.slice(2, 4, 1000), undefined);
  t.deepEqual(log.slice(3, 4, 1000)!.map((e) => e.index), [3]);
});

test('conf change: round-trips; a corrupt encoding is a ShoalError', (t) => {
  for (const type of [ConfChangeType.AddVoter, ConfChangeType.AddLearner, ConfChangeType.RemoveNode]) {
    t.deepEqual(decodeConfChange(encodeConfChange({ type, node: 'node-ü' })), { type, node: 'node-ü' });
  }
  t.true(isShoalError(t.throws(() => decodeConfChange(new Uint8Array([1, 9, 65]))), 'ERR_DECODE_FAILED'));
  t.true(isShoalError(t.throws(() => decodeConfChange(new Uint8Array([2, 0, 65]))), 'ERR_DECODE_FAILED'));
  t.deepEqual(applyConfChange({ voters: ['a', 'b'], learners: ['c'] }, { type: ConfChangeType.AddVoter, node: 'c' }), {
    voters: ['a', 'b', 'c'],
    learners: [],
  });
});

test('snapshot assembly: only in order; a restart mid-way restarts from 0', (t) => {
  const a = new SnapshotAssembler();
  const meta = { index: 10, term: 2, conf: { voters: ['a'], learners: [] } };
  t.deepEqual(a.receive('l', meta, 0, new Uint8Array([1, 2]), false), { kind: 'ack', offset: 2 });
  t.deepEqual(a.receive('l', meta, 4, new Uint8Array([5]), false), { kind: 'reject', expectedOffset: 2 });
  t.deepEqual(a.receive('l', meta, 2, new Uint8Array([3, 4]), false), { kind: 'ack', offset: 4 });
  const done = a.receive('l', meta, 4, new Uint8Array([5]), true);
  t.is(done.kind, 'done');
  if (done.kind === 'done') t.deepEqual([...done.snapshot.data], [1, 2, 3, 4, 5]);
  t.deepEqual(new SnapshotAssembler().receive('l', meta, 3, new Uint8Array([1]), true), { kind: 'reject', expectedOffset: 0 });
});

test('role transitions: an illegal transition is an assertion failure', (t) => {
  const r = new Raft(validateRaftConfig({ id: 'a' }), { hardState: { term: 0, vote: '', commit: 0 }, entries: [], conf: { voters: ['a', 'b', 'c'], learners: [] } }, new SeededRng(1));
  t.is(r.role, 'follower');
  t.throws(() => r.becomeLeader(), { message: /invalid transition \[follower -> leader\]/ });
  r.becomeCandidate();
  r.becomeLeader();
  t.throws(() => r.becomeCandidate(), { message: /invalid transition \[leader -> candidate\]/ });
  t.throws(() => r.becomePreCandidate(), { message: /invalid transition \[leader -> pre-candidate\]/ });
  r.becomeFollower(r.term, '');
  t.is(r.role, 'follower');
});
