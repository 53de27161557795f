/**
 * Hostile numbers and messages against the Raft core (issue "Security", part 4):
 * a message from the network never halts the core, numbers beyond the wire
 * bound are refused at decode, and a sender outside the configuration changes
 * neither term, log nor commit.
 */
import test from 'ava';
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { RaftNode } from '../../../src/raft/node.js';
import { validateRaftConfig } from '../../../src/raft/config.js';
import { encodeConfChange } from '../../../src/raft/conf-change.js';
import { ConfChangeType, EntryType, MessageType, type Message, type Ready } from '../../../src/raft/types.js';
import { SeededRng } from '../../../src/util/rng.js';
import { WireKind } from '../../../src/wire/kind.js';
import { DecodeDropReason } from '../../../src/wire/limits.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../../src/wire/raft-codec.js';
import { Cluster, bytes, msg } from './cluster.js';

/** The wire bound (src/wire/uint.ts); written out so this file also runs against code without it. */
const wireUintMax = 2 ** 48 - 1;

const raftRoot = protobuf.loadSync(fileURLToPath(new URL('../../../src/wire/raft.proto', import.meta.url)));
const RaftMessageType = raftRoot.lookupType('shoal.raft.Message');

/** Bytes a hostile peer can send: encoded by protobufjs, which knows no bound but 2^64. */
function forge(m: Partial<Message> & { type: MessageType; from: string; to: string }): Uint8Array {
  const body = RaftMessageType.encode(RaftMessageType.fromObject({ ...m })).finish();
  return Uint8Array.from([WireKind.RaftMessage, ...body]);
}

/** What a shell does with a frame: decode, step if it decodes, then run Readys encoding every message. */
function deliver(node: RaftNode, frame: Uint8Array): boolean {
  const r = decodeRaftMessage(frame);
  if (r.ok) node.step(r.msg);
  drain(node);
  return r.ok;
}

function drain(node: RaftNode): Message[] {
  const sent: Message[] = [];
  while (node.hasReady()) {
    const rd: Ready = node.ready();
    for (const m of rd.messages) {
      encodeRaftMessage(m); // the shell encodes everything it sends: must never throw
      sent.push(m);
    }
    node.advance(rd);
  }
  return sent;
}

function lone(id: string, voters: string[]): RaftNode {
  const n = new RaftNode(validateRaftConfig({ id, electionTicks: 10, heartbeatTicks: 1 }), { hardState: { term: 0, vote: '', commit: 0 }, entries: [], conf: { voters, learners: [] } }, new SeededRng(7));
  drain(n);
  return n;
}

test('the 2^53-1 heartbeat attack: refused at decode, counted, and the control plane keeps electing', (t) => {
  const a = lone('a', ['a', 'b', 'c']);
  const frame = forge({ type: MessageType.Heartbeat, from: 'x', to: 'a', term: Number.MAX_SAFE_INTEGER });
  const r = decodeRaftMessage(frame);
  t.false(r.ok, 'a term above the wire bound does not decode');
  if (!r.ok) t.is(r.error.details?.reason, DecodeDropReason.OutOfRange);
  deliver(a, frame);
  t.is(a.status().term, 1, 'term unchanged');
  // Time passes: the node campaigns (PreVote at term + 1), and nothing it sends fails to encode.
  t.notThrows(() => {
    for (let i = 0; i < 40; i++) {
      a.tick();
      drain(a);
    }
  });
  t.true(a.status().counters.elections > 0);
});

test('the same heartbeat, stepped directly (an in-memory transport, no decoder), is dropped as malformed', (t) => {
  const a = lone('a', ['a', 'b', 'c']);
  a.step(msg({ type: MessageType.Heartbeat, from: 'b', to: 'a', term: Number.MAX_SAFE_INTEGER }));
  t.is(a.status().term, 1);
  t.is(a.status().counters.messagesDroppedUnexpected, 1);
  t.notThrows(() => {
    for (let i = 0; i < 40; i++) {
      a.tick();
      drain(a);
    }
  });
});

test('a term at the bound from a voter is accepted, and the next election is refused and counted, not thrown', (t) => {
  const a = lone('a', ['a', 'b', 'c']);
  t.true(deliver(a, forge({ type: MessageType.Heartbeat, from: 'b', to: 'a', term: wireUintMax })));
  t.is(a.status().term, wireUintMax);
  t.notThrows(() => {
    for (let i = 0; i < 60; i++) {
      a.tick();
      drain(a);
    }
  });
  const st = a.status();
  t.is(st.term, wireUintMax, 'no term past the bound');
  t.is(st.role, 'follower');
  t.true(st.counters.campaignsRefusedAtBound > 0);
  t.is(st.counters.elections, 0, 'a refused campaign is not an election');
  // A forced campaign (TimeoutNow) is refused the same way.
  t.notThrows(() => deliver(a, forge({ type: MessageType.TimeoutNow, from: 'b', to: 'a', term: wireUintMax })));
  t.is(a.status().term, wireUintMax);
});

test('a term one above the bound is refused at decode; the bound itself decodes', (t) => {
  const base = { type: MessageType.App, from: 'b', to: 'a' } as const;
  for (const field of ['term', 'index', 'logTerm', 'commit', 'rejectHint'] as const) {
    t.true(decodeRaftMessage(forge({ ...base, [field]: wireUintMax })).ok, field);
    const r = decodeRaftMessage(forge({ ...base, [field]: wireUintMax + 1 }));
    t.false(r.ok, field);
    if (!r.ok) t.is(r.error.details?.reason, DecodeDropReason.OutOfRange, field);
  }
});

// ---- senders outside the configuration (etcd: responses from unknown ids are dropped, raft/rawnode.go Step;
// etcd's server drops every message from a removed member, rafthttp)

function threeWithLeader(seed: number): Cluster {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed });
  c.node('a').campaign();
  c.stabilize();
  c.propose('a', 'one');
  return c;
}

test('a forged append from a non-member changes neither term, log nor commit of a follower', (t) => {
  const c = threeWithLeader(101);
  const b = c.node('b');
  const before = b.status();
  b.step(
    msg({
      type: MessageType.App,
      from: 'x',
      to: 'b',
      term: before.term + 1,
      index: before.lastIndex,
      logTerm: before.term,
      entries: [{ term: before.term + 1, index: before.lastIndex + 1, type: 0, data: bytes('forged put') }],
      commit: before.lastIndex + 1,
    }),
  );
  c.stabilize();
  const after = b.status();
  t.is(after.term, before.term);
  t.is(after.lastIndex, before.lastIndex);
  t.is(after.commit, before.commit);
  t.is(after.leader, 'a');
  t.false(c.applied.get('b')!.includes('forged put'));
  t.is(after.counters.messagesDroppedUnknownPeer, 1);
});

test('a forged heartbeat and snapshot from a non-member change nothing either', (t) => {
  const c = threeWithLeader(102);
  const b = c.node('b');
  const before = b.status();
  b.step(msg({ type: MessageType.Heartbeat, from: 'x', to: 'b', term: before.term + 3, commit: before.lastIndex }));
  b.step(
    msg({
      type: MessageType.Snap,
      from: 'x',
      to: 'b',
      term: before.term + 3,
      snapshot: { meta: { index: before.lastIndex + 10, term: before.term + 3, conf: { voters: ['x'], learners: [] } }, offset: 0, data: bytes('[]'), done: true },
    }),
  );
  c.stabilize();
  const after = b.status();
  t.deepEqual([after.term, after.lastIndex, after.commit, after.leader, after.voters], [before.term, before.lastIndex, before.commit, 'a', ['a', 'b', 'c']]);
  t.is(after.counters.messagesDroppedUnknownPeer, 2);
});

test('vote traffic from a non-member changes no term: requests and responses alike', (t) => {
  const c = threeWithLeader(103);
  const a = c.node('a');
  const b = c.node('b');
  const term = a.status().term;
  a.step(msg({ type: MessageType.VoteResp, from: 'x', to: 'a', term: term + 7, reject: true }));
  a.step(msg({ type: MessageType.PreVoteResp, from: 'x', to: 'a', term: term + 7, reject: true }));
  b.step(msg({ type: MessageType.Vote, from: 'x', to: 'b', term: term + 7, index: 1000, logTerm: term + 7, context: bytes('CampaignTransfer') }));
  c.stabilize();
  t.is(a.status().term, term);
  t.is(a.status().role, 'leader');
  t.is(b.status().term, term);
  t.is(b.status().vote, 'a');
});

test('a forged append response from a non-member is never counted toward the commit quorum', (t) => {
  const c = threeWithLeader(104);
  c.isolate('a');
  const a = c.node('a');
  a.propose(bytes('needs a quorum'));
  c.stabilize();
  const st = a.status();
  t.true(st.lastIndex > st.commit);
  for (const from of ['x', 'y']) a.step(msg({ type: MessageType.AppResp, from, to: 'a', term: st.term, index: st.lastIndex }));
  c.stabilize();
  t.is(a.status().commit, st.commit, 'two outsiders are not a quorum');
  t.is(a.status().counters.messagesDroppedUnknownPeer, 2);
});

test('an append response claiming entries the leader never had is dropped', (t) => {
  const c = threeWithLeader(105);
  c.isolate('a');
  const a = c.node('a');
  a.propose(bytes('p'));
  c.stabilize();
  const st = a.status();
  a.step(msg({ type: MessageType.AppResp, from: 'b', to: 'a', term: st.term, index: st.lastIndex + 1000 }));
  c.stabilize();
  t.is(a.status().commit, st.commit);
  t.is(a.status().progress.b.match, st.progress.b.match);
});

test('proposals, reads and transfers forwarded by a non-member are dropped', (t) => {
  const c = threeWithLeader(106);
  const a = c.node('a');
  const last = a.status().lastIndex;
  a.step(msg({ type: MessageType.Prop, from: 'x', to: 'a', term: 0, entries: [{ term: 0, index: 0, type: 0, data: bytes('outsider put') }] }));
  a.step(msg({ type: MessageType.TransferLeader, from: 'x', to: 'a', term: 0, context: bytes('b') }));
  c.stabilize();
  t.is(a.status().lastIndex, last);
  t.is(a.status().leadTransferee, '');
  t.false(c.applied.get('b')!.includes('outsider put'));
});

test('a node with no configuration yet (joining) accepts the leader that adds it', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], spares: ['d'], seed: 107 });
  c.node('a').campaign();
  c.stabilize();
  c.propose('a', 'before');
  c.node('a').proposeConfChange({ type: ConfChangeType.AddLearner, node: 'd' });
  c.tickAll(3);
  t.deepEqual(c.applied.get('d'), ['before']);
  t.deepEqual(c.node('d').status().learners, ['d']);
  t.is(c.node('d').status().counters.messagesDroppedUnknownPeer, 0);
});

test('a node with no configuration yet hears everyone: the member that bootstraps the cluster needs its vote', (t) => {
  const b = lone('b', []);
  const sent: Message[] = [];
  b.step(msg({ type: MessageType.PreVote, from: 'a', to: 'b', term: 2, index: 3, logTerm: 1 }));
  sent.push(...drain(b));
  b.step(msg({ type: MessageType.Vote, from: 'a', to: 'b', term: 2, index: 3, logTerm: 1 }));
  sent.push(...drain(b));
  t.deepEqual(
    sent.map((m) => [m.type, m.to, m.reject]),
    [
      [MessageType.PreVoteResp, 'a', false],
      [MessageType.VoteResp, 'a', false],
    ],
  );
  t.is(b.status().counters.messagesDroppedUnknownPeer, 0);
});

test('a follower accepts a leader whose addition is in its log but not yet applied (a pending peer)', (t) => {
  const withEntry = (add: boolean): RaftNode => {
    const b = lone('b', ['a', 'b', 'c']);
    const cc = encodeConfChange({ type: ConfChangeType.AddVoter, node: 'd' });
    const entries = add ? [{ term: 2, index: 4, type: EntryType.ConfChange, data: cc }] : [];
    deliver(b, encodeRaftMessage(msg({ type: MessageType.App, from: 'a', to: 'b', term: 2, index: 3, logTerm: 1, entries, commit: 3 })));
    deliver(b, encodeRaftMessage(msg({ type: MessageType.Heartbeat, from: 'd', to: 'b', term: 3, commit: 3 })));
    return b;
  };
  const pending = withEntry(true).status();
  t.deepEqual(pending.voters, ['a', 'b', 'c'], 'the change is not applied yet');
  t.is(pending.term, 3, "the pending voter's heartbeat is accepted");
  t.is(pending.leader, 'd');
  const unknown = withEntry(false).status();
  t.is(unknown.term, 2, 'without the entry, d is a stranger');
  t.is(unknown.counters.messagesDroppedUnknownPeer, 1);
});

test('a member removed from the configuration can no longer move a follower term', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 109 });
  c.node('a').campaign();
  c.stabilize();
  c.tickAll(2);
  c.node('a').proposeConfChange({ type: ConfChangeType.RemoveNode, node: 'c' });
  c.tickAll(5);
  t.deepEqual(c.node('b').status().voters, ['a', 'b']);
  const term = c.node('b').status().term;
  c.node('b').step(msg({ type: MessageType.Vote, from: 'c', to: 'b', term: term + 2, index: 1000, logTerm: term + 2, context: bytes('CampaignTransfer') }));
  c.stabilize();
  t.is(c.node('b').status().term, term);
  t.is(c.node('b').status().counters.messagesDroppedUnknownPeer, 1);
});

test('a voter cut off while a new leader was added follows it once one of its members vouches for it', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c', 'd', 'e'], spares: ['f'], seed: 3 });
  c.node('a').campaign();
  c.stabilize();
  c.tickAll(2);
  c.isolate('e');
  c.node('a').proposeConfChange({ type: ConfChangeType.AddLearner, node: 'f' });
  c.tickAll(5);
  c.node('a').proposeConfChange({ type: ConfChangeType.AddVoter, node: 'f' });
  c.tickAll(5);
  c.node('a').transferLeadership('f');
  c.tickAll(10);
  t.is(c.leader(), 'f');
  c.node('f').proposeConfChange({ type: ConfChangeType.RemoveNode, node: 'a' });
  c.tickAll(10);
  c.propose('f', 'after');
  // e comes back knowing neither f (its addition is not in e's log) nor anything since.
  c.heal();
  c.isolate('a');
  t.is(c.node('e').status().voters.includes('f'), false);
  c.tickAll(100);
  const e = c.node('e').status();
  t.true(e.counters.messagesDroppedUnknownPeer > 0, "f's traffic was dropped until a member vouched for f");
  t.is(e.leader, 'f');
  t.is(e.lastIndex, c.node('f').status().lastIndex, 'e caught up');
  t.deepEqual(e.voters, ['b', 'c', 'd', 'e', 'f']);
  t.true(c.applied.get('e')!.includes('after'));
});

test('only a member can vouch: a refusal from a stranger naming a leader is dropped', (t) => {
  const b = lone('b', ['a', 'b', 'c']);
  b.step(msg({ type: MessageType.PreVoteResp, from: 'x', to: 'b', term: 1, reject: true, context: bytes('y') }));
  drain(b);
  b.step(msg({ type: MessageType.Heartbeat, from: 'y', to: 'b', term: 5, commit: 3 }));
  drain(b);
  t.is(b.status().term, 1);
  t.is(b.status().counters.messagesDroppedUnknownPeer, 2);
});
