/**
 * One-way messages (post, send): each reaches the handler registered for its
 * stream kind, with the sender's verified identity; a kind nobody handles is
 * counted and dropped, and nothing else breaks.
 */
import test from 'ava';
import { StreamKind } from '../../../src/cluster/kinds.js';
import type { PeerInfo } from '../../../src/cluster/transport.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { bytes, eventually, startNode, text } from './net-helpers.js';

interface Got {
  kind: string;
  peer: PeerInfo;
  payload: string;
}

test('post and send arrive at the handler of their kind with the sender identity', async (t) => {
  const a = await startNode(t, { name: 'a', nodeId: 'node-a', clusterLabel: 'lab', clusterId: 'c1' });
  const b = await startNode(t, { name: 'b', nodeId: 'node-b', clusterLabel: 'lab', clusterId: 'c1' });
  const got: Got[] = [];
  b.handle(StreamKind.Raft, { message: (peer, payload) => got.push({ kind: 'raft', peer, payload: text(payload) }) });
  b.handle(StreamKind.Data, { message: (peer, payload) => got.push({ kind: 'data', peer, payload: text(payload) }) });

  t.true(a.post(b.localAddr, StreamKind.Raft, bytes('r1')));
  t.true(a.post(b.localAddr, StreamKind.Data, bytes('d1')));
  await a.send(b.localAddr, StreamKind.Raft, bytes('r2'));
  t.true(await eventually(() => got.length === 3));

  const identity = { clusterLabel: 'lab', clusterId: 'c1', name: 'a', nodeId: 'node-a', addr: a.localAddr };
  t.deepEqual(got, [
    { kind: 'raft', peer: identity, payload: 'r1' },
    { kind: 'data', peer: identity, payload: 'd1' },
    { kind: 'raft', peer: identity, payload: 'r2' },
  ]);
  t.is(b.stats.framesUnrouted, 0);
  t.is(a.stats.connects, 1, 'one pooled connection carried all three');
});

test('messages from two peers carry each its own identity', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  const c = await startNode(t, { name: 'c' });
  const got: string[] = [];
  c.handle(StreamKind.Gossip, { message: (peer, payload) => got.push(`${peer.name}/${peer.nodeId}/${peer.addr}:${text(payload)}`) });
  await a.send(c.localAddr, StreamKind.Gossip, bytes('x'));
  await b.send(c.localAddr, StreamKind.Gossip, bytes('y'));
  t.true(await eventually(() => got.length === 2));
  t.deepEqual(got.sort(), [`a/a-id/${a.localAddr}:x`, `b/b-id/${b.localAddr}:y`]);
});

test('a kind without a handler is counted as unrouted and the connection keeps working', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  const got: string[] = [];
  b.handle(StreamKind.Raft, { message: (_peer, payload) => got.push(text(payload)) });
  // Control has a request handler only: its one-way messages are unrouted too.
  b.handle(StreamKind.Control, { request: async () => bytes('ok') });

  t.true(a.post(b.localAddr, StreamKind.Data, bytes('nobody')));
  t.true(a.post(b.localAddr, StreamKind.Control, bytes('no message handler')));
  t.true(a.post(b.localAddr, StreamKind.Raft, bytes('after')));
  t.true(await eventually(() => got.length === 1 && b.stats.framesUnrouted === 2));
  t.deepEqual(got, ['after']);
  t.is(b.stats.framesMalformed, 0);
  t.is(b.stats.handlerErrors, 0);
  t.is(b.connections().inbound, 1, 'the connection stayed open');
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 2_000 })), 'ok');
  t.is(a.stats.connects, 1);

  // A request of a kind without a request handler is answered with an error at once.
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Data, bytes('q'), { timeoutMs: 2_000 }), { instanceOf: ShoalError, code: ErrorCode.Unavailable });
  t.is(b.stats.framesUnrouted, 3);
});

test('a message handler that throws is counted and later messages still arrive', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  const got: string[] = [];
  b.handle(StreamKind.Raft, {
    message: (_peer, payload) => {
      got.push(text(payload));
      if (text(payload) === 'boom') throw new Error('plane bug');
    },
  });
  await a.send(b.localAddr, StreamKind.Raft, bytes('boom'));
  await a.send(b.localAddr, StreamKind.Raft, bytes('next'));
  t.true(await eventually(() => got.length === 2));
  t.deepEqual(got, ['boom', 'next']);
  t.is(b.stats.handlerErrors, 1);
  t.is(a.stats.connects, 1);
});

test('a payload larger than frameMaxBytes is refused at once by post and send', async (t) => {
  const a = await startNode(t, { name: 'a', limits: { frameMaxBytes: 1024 } });
  const b = await startNode(t, { name: 'b' });
  t.false(a.post(b.localAddr, StreamKind.Raft, new Uint8Array(1024)));
  await t.throwsAsync(a.send(b.localAddr, StreamKind.Raft, new Uint8Array(1024)), { instanceOf: ShoalError, code: ErrorCode.FrameTooLarge });
  t.is(a.stats.framesRefused, 2);
  t.is(a.stats.connects, 0, 'nothing was dialed for it');
  t.true(a.post(b.localAddr, StreamKind.Raft, new Uint8Array(1024 - 6)), 'header and payload exactly at the limit');
});
