import test from 'ava';
import { mustSync, splitReadyMessages } from '../../../src/raft/ready-order.js';
import { MessageType, type HardState, type Message, type Ready } from '../../../src/raft/types.js';

const msg = (type: MessageType, to = 'b'): Message => ({
  type, from: 'a', to, term: 2, index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(),
});
const ready = (over: Partial<Ready>): Ready => ({
  entries: [], messages: [], committedEntries: [], readStates: [], droppedProposals: [], ...over,
});
const hs = (term: number, vote: string, commit: number): HardState => ({ term, vote, commit });

test('a leader appending in its term sends appends and heartbeats before its fsync, everything else after', (t) => {
  const messages = [msg(MessageType.App), msg(MessageType.Heartbeat, 'c'), msg(MessageType.ReadIndexResp), msg(MessageType.TimeoutNow)];
  const { early, late } = splitReadyMessages(ready({ messages, hardState: hs(2, 'a', 7) }), hs(2, 'a', 5));
  t.deepEqual(early.map((m) => m.type), [MessageType.App, MessageType.Heartbeat]);
  t.deepEqual(late.map((m) => m.type), [MessageType.ReadIndexResp, MessageType.TimeoutNow]);
});

test('acknowledgements never leave before the fsync', (t) => {
  const messages = [msg(MessageType.AppResp), msg(MessageType.HeartbeatResp), msg(MessageType.SnapResp)];
  const { early } = splitReadyMessages(ready({ messages }), hs(2, 'a', 5));
  t.deepEqual(early, []);
});

test('a term or vote change holds every message until it is durable', (t) => {
  const messages = [msg(MessageType.App), msg(MessageType.Vote)];
  t.deepEqual(splitReadyMessages(ready({ messages, hardState: hs(3, 'a', 5) }), hs(2, 'a', 5)).early, []);
  t.deepEqual(splitReadyMessages(ready({ messages, hardState: hs(2, 'b', 5) }), hs(2, '', 5)).early, []);
  t.deepEqual(splitReadyMessages(ready({ messages, hardState: hs(1, '', 0) }), undefined).early, []);
});

test('a snapshot to install holds every message until it is durable', (t) => {
  const snapshot = { meta: { index: 10, term: 2, conf: { voters: ['a'], learners: [] } }, data: new Uint8Array() };
  t.deepEqual(splitReadyMessages(ready({ messages: [msg(MessageType.App)], snapshot }), hs(2, 'a', 5)).early, []);
});

test('mustSync: entries, a snapshot, a term or a vote need an fsync; a commit-only change does not', (t) => {
  const entry = { term: 2, index: 8, type: 0 as const, data: new Uint8Array() };
  const snapshot = { meta: { index: 10, term: 2, conf: { voters: ['a'], learners: [] } }, data: new Uint8Array() };
  t.true(mustSync(ready({ entries: [entry] }), hs(2, 'a', 5)));
  t.true(mustSync(ready({ snapshot }), hs(2, 'a', 5)));
  t.true(mustSync(ready({ hardState: hs(3, 'a', 5) }), hs(2, 'a', 5)), 'term');
  t.true(mustSync(ready({ hardState: hs(2, 'b', 5) }), hs(2, '', 5)), 'vote');
  t.true(mustSync(ready({ hardState: hs(1, '', 0) }), undefined), 'nothing persisted yet');
  t.false(mustSync(ready({ hardState: hs(2, 'a', 9) }), hs(2, 'a', 5)), 'commit only');
  t.false(mustSync(ready({ messages: [msg(MessageType.Heartbeat)] }), hs(2, 'a', 5)));
});
