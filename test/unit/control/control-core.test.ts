import test from 'ava';
import { ErrorCode } from '../../../src/util/errors.js';
import { MemberState } from '../../../src/gossip/messages.js';
import { TAG_BOOT, TAG_CLUSTER, TAG_REVISION } from '../../../src/control/autopilot/tags.js';
import type { Command } from '../../../src/control/store/commands.js';
import { member, SoloCore } from './control-core-helpers.js';

const utf8 = new TextEncoder();
const put = (client: string, seq: number, key: string, value: string): Command => ({ type: 'put', req: { client, seq }, key, value: utf8.encode(value) });

function soloLeader(extra: Partial<ConstructorParameters<typeof SoloCore>[0]> = {}): SoloCore {
  const s = new SoloCore({ name: 'a', bootstrapExpect: 1, requestTimeoutMs: 1000, ...extra });
  s.core.onMembership([member('a')], s.nowMs);
  s.drain();
  s.run(50);
  s.run(3000);
  return s;
}

test('a member without Raft state refuses writes and linearizable reads at once with ERR_NO_QUORUM; serializable reads are served', (t) => {
  const s = new SoloCore({ name: 'a', bootstrapExpect: 3 });
  s.core.onMembership([member('a'), member('b')], 0);
  s.core.write('w1', put('c', 1, 'k', 'v'), 0);
  s.core.read('r1', { kind: 'get', key: 'k' }, true, 0);
  s.core.read('r2', { kind: 'get', key: 'k' }, false, 0);
  s.drain();
  t.is(s.result('w1')?.ok, false);
  t.is((s.result('w1') as { error: { code: string } }).error.code, ErrorCode.NoQuorum);
  t.is((s.result('r1') as { error: { code: string } }).error.code, ErrorCode.NoQuorum);
  t.deepEqual(s.result('r2'), { requestId: 'r2', ok: true, value: { kv: undefined, revision: 0 } });
  t.false(s.core.status().bootstrapped);
  t.is(s.readies.find((r) => r.startRaft !== undefined), undefined, 'no Raft started with 2 of 3 members');
});

test('bootstrapExpect 1: commits, then bootstraps, leads, and advertises cluster, boot and revision tags', (t) => {
  const s = soloLeader();
  const commitAt = s.readies.findIndex((r) => r.bootCommitment !== undefined);
  const startAt = s.readies.findIndex((r) => r.startRaft !== undefined);
  t.true(commitAt >= 0 && startAt >= 0 && commitAt <= startAt, 'the commitment is persisted before (or with) the Raft start');
  t.deepEqual(s.readies[startAt].startRaft!.initial.conf, { voters: ['a'], learners: [] });
  const st = s.core.status();
  t.is(st.role, 'leader');
  t.is(st.leader, 'a');
  t.true(st.bootstrapped);
  t.is(s.tags[TAG_CLUSTER], st.clusterId);
  t.regex(s.tags[TAG_BOOT] ?? '', /^c:/);
  t.is(s.tags[TAG_REVISION], '0');
  t.true(s.readies.some((r) => r.events.some((e) => e.type === 'leader-changed' && e.leader === 'a')));
});

test('a write is answered after it is applied, with its revision; reads see it; config-changed reports it', (t) => {
  const s = soloLeader();
  s.core.write('w1', put('c', 1, 'k', 'v1'), s.nowMs);
  t.is(s.result('w1'), undefined, 'not answered before it is committed and applied');
  s.drain();
  const w = s.result('w1');
  t.true(w?.ok);
  t.like((w as { value: unknown }).value, { revision: 1, duplicate: false, response: { kind: 'put' } });
  s.core.read('r1', { kind: 'get', key: 'k' }, true, s.nowMs);
  s.drain();
  const r = s.result('r1') as { ok: true; value: { kv: { value: Uint8Array; modRevision: number } } };
  t.true(r.ok);
  t.is(new TextDecoder().decode(r.value.kv.value), 'v1');
  t.is(r.value.kv.modRevision, 1);
  const changes = s.readies.flatMap((rd) => rd.events).filter((e) => e.type === 'config-changed');
  t.is(changes.length, 1);
  t.like(changes[0], { type: 'config-changed', revision: 1 });
  s.run(1100);
  t.is(s.tags[TAG_REVISION], '1', 'the leader advertises its revision (rate-limited)');
});

test('a retried request id is answered once; a second in-flight copy is refused', (t) => {
  const s = soloLeader();
  s.core.write('w1', put('c', 1, 'k', 'v1'), s.nowMs);
  s.core.write('w1', put('c', 1, 'k', 'v1'), s.nowMs);
  s.drain();
  const answers = s.results.filter((r) => r.requestId === 'w1');
  t.is(answers.length, 2);
  t.is(answers.filter((a) => a.ok).length, 1);
  t.is((answers.find((a) => !a.ok) as { error: { code: string } }).error.code, ErrorCode.InvalidArgument);
});

test('a voter alone in a 3-voter cluster answers within the request timeout with ERR_NO_QUORUM / ERR_TIMEOUT, never ok', (t) => {
  const s = new SoloCore({ name: 'a', bootstrapExpect: 1, requestTimeoutMs: 1000 }, {
    raft: { hardState: { term: 0, vote: '', commit: 0 }, entries: [], conf: { voters: ['a', 'b', 'c'], learners: [] } },
    clusterId: 'x',
  });
  s.run(100);
  const sentMs = s.nowMs;
  s.core.write('w1', put('c', 1, 'k', 'v'), s.nowMs);
  s.core.read('r1', { kind: 'get', key: 'k' }, true, s.nowMs);
  s.run(2000);
  for (const id of ['w1', 'r1']) {
    const r = s.result(id);
    t.false(r?.ok ?? true, `${id} not ok`);
    t.true(([ErrorCode.NoQuorum, ErrorCode.Timeout] as string[]).includes((r as { error: { code: string } }).error.code));
  }
  const answeredAt = s.readies.findIndex((rd) => rd.results.some((x) => x.requestId === 'w1'));
  t.true(answeredAt >= 0);
  t.true(s.nowMs - sentMs >= 1000);
  t.is(s.core.status().pendingRequests, 0);
});

test('past maxPendingRequests new requests are refused with ERR_RESOURCE_EXHAUSTED', (t) => {
  const s = new SoloCore({ name: 'a', bootstrapExpect: 1, maxPendingRequests: 2 }, {
    raft: { hardState: { term: 0, vote: '', commit: 0 }, entries: [], conf: { voters: ['a', 'b', 'c'], learners: [] } },
  });
  for (let i = 1; i <= 3; i++) s.core.write(`w${i}`, put('c', i, 'k', 'v'), 0);
  s.drain();
  t.is((s.result('w3') as { error: { code: string } }).error.code, ErrorCode.ResourceExhausted);
  t.is(s.result('w1'), undefined);
});

test('snapshots every snapshotEveryEntries; a restart restores the store from disk and never bootstraps again', (t) => {
  const s = soloLeader({ snapshotEveryEntries: 5 });
  for (let i = 1; i <= 12; i++) {
    s.core.write(`w${i}`, put('c', i, `k${i}`, `v${i}`), s.nowMs);
    s.drain();
  }
  t.true(s.readies.some((r) => r.compactedSnapshot !== undefined), 'a local snapshot was handed to the shell');
  t.true(s.core.status().counters.snapshotsTaken >= 2);
  const revision = s.core.store.revision;
  s.restart();
  s.core.onMembership([member('a')], s.nowMs);
  s.drain();
  s.run(3000);
  t.is(s.readies.find((r) => r.startRaft !== undefined), undefined, 'no second Raft start');
  t.is(s.core.status().role, 'leader');
  t.is(s.core.store.revision, revision);
  t.is(new TextDecoder().decode(s.core.store.get('k12')!.value), 'v12');
  t.is(s.core.status().clusterId, s.clusterId ?? 'missing');
});

test('an ineligible member never bootstraps; it joins a cluster it sees on gossip with an empty configuration', (t) => {
  const s = new SoloCore({ name: 'z', bootstrapExpect: 1, eligible: false });
  s.core.onMembership([member('z', { voter: 'false' })], 0);
  s.drain();
  s.run(100);
  t.false(s.core.status().bootstrapped);
  s.core.onMembership([member('z', { voter: 'false' }), member('a', { [TAG_CLUSTER]: 'abc' }), member('b', {}, MemberState.Dead)], s.nowMs);
  s.drain();
  const start = s.readies.find((r) => r.startRaft !== undefined)?.startRaft;
  t.deepEqual(start, { initial: { hardState: { term: 0, vote: '', commit: 0 }, entries: [], conf: { voters: [], learners: [] } }, clusterId: 'abc', fresh: false });
  s.run(5000);
  t.not(s.core.status().role, 'leader', 'a member with an empty configuration never campaigns');
  t.is(s.core.status().term, 0);
  t.is(s.tags[TAG_CLUSTER], 'abc');
});
