/** Log replication (Raft paper §5.3, §5.4; etcd flow control). */
import test from 'ava';
import { Cluster, bytes, text } from './cluster.js';
import { MessageType, type Message } from '../../../src/raft/types.js';

const isApp = (m: Message): boolean => m.type === MessageType.App;

test('§5.3 "the leader appends the command to its log ... and applies it once it is safely replicated"; logs match', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 2 });
  const leader = c.electLeader();
  for (let i = 0; i < 20; i++) c.propose(leader, `v${i}`);
  c.tickAll(3);
  const expected = Array.from({ length: 20 }, (_, i) => `v${i}`);
  for (const id of ['a', 'b', 'c']) t.deepEqual(c.applied.get(id), expected, `${id} applied all in order`);
  t.deepEqual(c.log('a').map((e) => [e.index, e.term]), c.log('b').map((e) => [e.index, e.term]));
  c.checkLogMatching();
  c.checkStateMachineSafety();
});

test('§5.3 "if followers crash or run slowly ... the leader retries AppendEntries indefinitely"', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 4 });
  c.node('a').campaign();
  c.stabilize();
  c.isolate('c');
  for (let i = 0; i < 10; i++) c.propose('a', `v${i}`);
  t.is(c.applied.get('c')!.length, 0);
  t.is(c.applied.get('a')!.length, 10, 'a majority (a, b) commits without c');
  c.heal();
  c.tickAll(5);
  t.is(c.applied.get('c')!.length, 10);
});

test('§5.3 "the leader handles inconsistencies by forcing the followers\' logs to duplicate its own"', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c', 'd', 'e'], seed: 6 });
  c.node('a').campaign();
  c.stabilize();
  c.isolate('a');
  for (let i = 0; i < 30; i++) c.propose('a', `lost${i}`); // uncommitted, only in a's log
  const lostFrom = c.log('a').find((e) => text(e.data) === 'lost0')!.index;
  c.tickAll(40);
  const newLeader = c.leader()!;
  t.not(newLeader, 'a');
  for (let i = 0; i < 5; i++) c.propose(newLeader, `kept${i}`);
  const rejectsBefore = c.sent.filter((m) => m.type === MessageType.AppResp && m.from === 'a' && m.reject).length;
  c.heal();
  // Capture a's Readys to see where the overwrite starts.
  const overwrite = c.sent.length;
  c.tickAll(5);
  t.is(c.node('a').status().role, 'follower');
  t.deepEqual(c.log('a').map((e) => [e.index, e.term]), c.log(newLeader).map((e) => [e.index, e.term]));
  for (const id of c.nodes.keys()) t.false(c.applied.get(id)!.some((v) => v.startsWith('lost')), `${id} never applied a lost entry`);
  t.deepEqual(c.applied.get('a'), ['kept0', 'kept1', 'kept2', 'kept3', 'kept4']);
  // Fast back-off: a 30-entry divergent tail costs a couple of rejections, not 30.
  const rejects = c.sent.slice(overwrite).filter((m) => m.type === MessageType.AppResp && m.from === 'a' && m.reject).length;
  t.true(rejects - 0 <= 3, `rejections: ${rejects} (before: ${rejectsBefore})`);
  t.true(lostFrom > 0);
  c.checkLogMatching();
  c.checkStateMachineSafety();
});

test('Ready.entries that overwrite persisted entries start at the conflicting index', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 8 });
  c.node('a').campaign();
  c.stabilize();
  c.isolate('a');
  c.propose('a', 'x1');
  c.propose('a', 'x2');
  const conflictAt = c.log('a').find((e) => text(e.data) === 'x1')!.index;
  c.tickAll(30);
  const leader = c.leader()!;
  t.not(leader, 'a');
  c.propose(leader, 'y');
  const newTerm = c.node(leader).status().term;
  const writesBefore = c.entryWrites.get('a')!.length;
  c.heal();
  c.tickAll(3);
  const writes = c.entryWrites.get('a')!.slice(writesBefore);
  t.true(writes.length > 0);
  t.is(writes[0].first, conflictAt, 'the rewrite begins exactly at the first conflicting entry');
  t.true(writes[0].terms.every((term) => term === newTerm));
  t.deepEqual(c.log('a').map((e) => [e.index, e.term]), c.log(leader).map((e) => [e.index, e.term]));
});

test('figure 8 (§5.4.2): "Raft never commits log entries from previous terms by counting replicas"', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c', 'd', 'e'], config: { preVote: false, checkQuorum: false, maxSizePerMsgBytes: 1 }, seed: 9 });
  c.node('a').campaign();
  c.stabilize();
  const base = c.node('a').status().commit;
  // Term 2: a replicates x only to b.
  for (const id of ['c', 'd', 'e']) c.cut('a', id);
  c.node('a').propose(bytes('x'));
  c.stabilize();
  t.is(c.node('b').status().lastIndex, base + 1);
  t.is(c.node('a').status().commit, base, 'x is on 2 of 5: not committed');
  // Term 3: e wins with c and d, appends its no-op locally only.
  c.heal();
  c.isolate('a');
  c.isolate('b');
  c.filter = (m) => !(m.from === 'e' && m.type === MessageType.App);
  c.node('e').campaign();
  c.stabilize();
  t.is(c.node('e').status().role, 'leader');
  // Term 4: a restarts (log ends with x of term 2) and wins with b, c, d; acks of its term-4 no-op are lost.
  c.heal();
  c.isolate('e');
  const term3 = c.node('e').status().term;
  c.filter = (m) => !(m.type === MessageType.AppResp && m.index > base + 1);
  c.restart('a');
  for (let i = 0; i < 3 && c.node('a').status().role !== 'leader'; i++) {
    c.node('a').campaign();
    c.stabilize();
  }
  const term4 = term3 + 1;
  const a = c.node('a').status();
  t.is(a.term, term4);
  t.is(a.role, 'leader');
  t.true(a.progress.c.match >= base + 1 && a.progress.d.match >= base + 1, 'x (term 2) is now on a, b, c, d');
  t.is(a.commit, base, 'a majority holds x, yet the leader does not commit an entry of an old term by counting');
  // Once the term-4 no-op reaches a majority, x commits with it.
  c.filter = (m) => m.to !== 'e' && m.from !== 'e';
  c.tickAll(3);
  t.is(c.node('a').status().commit, base + 2);
  t.deepEqual(c.applied.get('c'), ['x']);
  c.checkStateMachineSafety();
});

test('§5.4 leader completeness: a newly elected leader holds every committed entry', (t) => {
  for (let seed = 1; seed <= 10; seed++) {
    const c = new Cluster({ voters: ['a', 'b', 'c', 'd', 'e'], seed });
    let leader = c.electLeader();
    const committed: string[] = [];
    for (let round = 0; round < 3; round++) {
      const others = [...c.nodes.keys()].filter((id) => id !== leader);
      c.isolate(others[round % others.length]); // one follower misses entries
      for (let i = 0; i < 3; i++) {
        const v = `s${seed}r${round}v${i}`;
        c.propose(leader, v);
        if (c.applied.get(leader)!.includes(v)) committed.push(v);
      }
      c.heal();
      c.isolate(leader);
      c.tickAll(40);
      c.heal();
      leader = c.electLeader();
      const texts = c.log(leader).map((e) => text(e.data));
      for (const v of committed) t.true(texts.includes(v), `seed ${seed}: new leader ${leader} holds ${v}`);
    }
    c.checkStateMachineSafety();
  }
});

test('batching: one App carries many entries, never more than maxSizePerMsgBytes (beyond the first entry)', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { maxSizePerMsgBytes: 200 }, seed: 10 });
  c.node('a').campaign();
  c.stabilize();
  c.cut('a', 'b');
  for (let i = 0; i < 40; i++) c.node('a').propose(bytes(`value-${i.toString().padStart(3, '0')}`)); // 9 bytes + 16 overhead
  c.stabilize();
  c.heal();
  const before = c.sent.length;
  c.tickAll(3);
  const apps = c.sent.slice(before).filter((m) => isApp(m) && m.to === 'b' && m.entries.length > 0);
  t.true(apps.some((m) => m.entries.length > 1), 'batched');
  for (const m of apps) t.true(m.entries.reduce((n, e) => n + e.data.length + 16, 0) <= 200 || m.entries.length === 1);
  t.is(c.applied.get('b')!.length, 40);
});

test('flow control: at most maxInflightMsgs unacknowledged Apps per follower in replicate state', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { maxInflightMsgs: 3, maxSizePerMsgBytes: 64 }, seed: 12 });
  c.node('a').campaign();
  c.stabilize();
  t.is(c.node('a').status().progress.b.state, 'replicate');
  c.filter = (m) => !(m.from === 'b' && m.type === MessageType.AppResp); // b's acks are lost
  const before = c.sent.length;
  for (let i = 0; i < 20; i++) c.propose('a', `v${i}`);
  const toB = c.sent.slice(before).filter((m) => isApp(m) && m.to === 'b' && m.entries.length > 0);
  t.is(toB.length, 3);
  t.is(c.node('a').status().progress.b.inflight, 3);
  t.is(c.node('a').status().progress.c.inflight, 0, 'c acknowledges');
  c.heal();
  c.tickAll(5);
  t.is(c.applied.get('b')!.length, 20, 'resumes once acks flow');
});

test('flow control: inflight bytes are bounded by maxInflightBytes', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { maxInflightMsgs: 100, maxSizePerMsgBytes: 100, maxInflightBytes: 300 }, seed: 14 });
  c.node('a').campaign();
  c.stabilize();
  c.filter = (m) => !(m.from === 'b' && m.type === MessageType.AppResp);
  for (let i = 0; i < 30; i++) c.propose('a', 'x'.repeat(60));
  const pr = c.node('a').status().progress.b;
  t.true(pr.inflightBytes >= 300 && pr.inflightBytes < 300 + 100, `inflight bytes ${pr.inflightBytes}`);
  t.true(pr.inflight < 10);
});

test('probe state: at most one App per heartbeat interval until the follower answers', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { electionTicks: 20, heartbeatTicks: 2 }, seed: 16 });
  c.filter = (m) => m.to !== 'b' && m.from !== 'b';
  const before = c.sent.length;
  c.node('a').campaign();
  c.stabilize();
  t.is(c.node('a').status().progress.b.state, 'probe');
  for (let i = 0; i < 10; i++) c.propose('a', `v${i}`);
  const apps = (): number => c.sent.slice(before).filter((m) => isApp(m) && m.to === 'b').length;
  t.is(apps(), 1, 'one probe, then paused');
  c.tickAll(6);
  t.is(apps(), 1, 'no heartbeat response arrives, so no further probe');
  c.filter = (m) => m.from !== 'b'; // b hears, but its answers are lost
  c.tickAll(6);
  t.is(apps(), 1);
  c.heal();
  c.tickAll(2);
  t.is(c.node('a').status().progress.b.state, 'replicate');
  t.is(c.applied.get('b')!.length, 10);
});

test('proposals beyond maxUncommittedEntriesBytes are dropped with ERR_PROPOSAL_DROPPED', (t) => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { maxUncommittedEntriesBytes: 100 }, seed: 18 });
  c.node('a').campaign();
  c.stabilize();
  c.isolate('a');
  for (let i = 0; i < 10; i++) c.node('a').propose(bytes('y'.repeat(30)), bytes(`p${i}`));
  c.stabilize();
  const dropped = c.dropped.get('a')!;
  t.is(dropped.length, 7, 'three fit in 100 bytes, the rest are refused');
  t.true(dropped.every((d) => d.code === 'ERR_PROPOSAL_DROPPED'));
  t.deepEqual(text(dropped[0].context), 'p3');
  c.heal();
  c.tickAll(3);
  c.node('a').propose(bytes('z'.repeat(30)));
  c.stabilize();
  t.is(c.dropped.get('a')!.length, 7, 'room again after commit');
});
