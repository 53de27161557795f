/**
 * Broken frames after a good handshake: a declared length over
 * frameMaxBytes, a bad header, a frame type not allowed in its direction.
 * Each closes that one connection and is counted; the transport keeps
 * serving every other connection, and its connection counts stay true.
 */
import test, { type ExecutionContext } from 'ava';
import * as net from 'node:net';
import { FrameType, StreamKind } from '../../../src/cluster/kinds.js';
import type { ClusterNetTransport } from '../../../src/cluster/net-transport.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { bytes, eventually, helloFrame, rawFrame, rawHandshake, readFirstFrame, socketClosed, startNode, text } from './net-helpers.js';

const frameMaxBytes = 64 * 1024;

const stranger = { clusterLabel: '', clusterId: '', name: 'raw', nodeId: 'raw-id', addr: '127.0.0.1:1' };

/** b serves requests; a is a well-behaved peer whose requests must keep working. */
async function pair(t: ExecutionContext): Promise<{ a: ClusterNetTransport; b: ClusterNetTransport; got: string[] }> {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b', limits: { frameMaxBytes } });
  const got: string[] = [];
  b.handle(StreamKind.Raft, { message: (peer, payload) => got.push(`${peer.name}:${text(payload)}`) });
  b.handle(StreamKind.Control, { request: async (peer, payload) => bytes(`${peer.name}:${text(payload)}`) });
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('before'), { timeoutMs: 2_000 })), 'a:before');
  return { a, b, got };
}

async function stillServes(t: ExecutionContext, a: ClusterNetTransport, b: ClusterNetTransport): Promise<void> {
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('after'), { timeoutMs: 2_000 })), 'a:after');
  t.is(a.stats.connects, 1, "a's connection was not disturbed");
  t.true(await eventually(() => b.connections().inbound === 1), 'only the broken connection was closed');
}

test('a frame declaring more than frameMaxBytes closes its connection and is counted', async (t) => {
  const { a, b, got } = await pair(t);
  const { socket, answer } = await rawHandshake(b.localAddr, stranger);
  t.is(answer.refuseReason, '');
  t.true(await eventually(() => b.connections().inbound === 2));
  // A good frame first: the connection works until the oversized one.
  socket.write(rawFrame(FrameType.Message, StreamKind.Raft, 0, bytes('fine')));
  t.true(await eventually(() => got.includes('raw:fine')));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(frameMaxBytes + 1, 0);
  socket.write(head); // only the length: the listener must not wait for (or buffer) the body
  await socketClosed(socket);
  t.is(b.stats.framesOversized, 1);
  t.is(b.stats.framesMalformed, 0);
  await stillServes(t, a, b);
});

test('a frame of exactly frameMaxBytes is accepted', async (t) => {
  const { a, b, got } = await pair(t);
  const { socket } = await rawHandshake(b.localAddr, stranger);
  const payload = Buffer.alloc(frameMaxBytes - 6, 0x61);
  socket.write(rawFrame(FrameType.Message, StreamKind.Raft, 0, payload));
  t.true(await eventually(() => got.length === 1));
  t.is(got[0].length, 'raw:'.length + frameMaxBytes - 6);
  t.is(b.stats.framesOversized, 0);
  t.false(socket.closed);
  socket.destroy();
  await stillServes(t, a, b);
});

test('an unknown stream kind (a newer peer) is counted as unrouted and the connection carries on', async (t) => {
  const { a, b, got } = await pair(t);
  const { socket } = await rawHandshake(b.localAddr, stranger);
  t.true(await eventually(() => b.connections().inbound === 2));
  socket.write(Buffer.concat([rawFrame(FrameType.Message, 99, 0, bytes('from-the-future')), rawFrame(FrameType.Message, StreamKind.Raft, 0, bytes('after'))]));
  t.true(await eventually(() => got.length === 1));
  t.deepEqual(got, ['raw:after']);
  t.is(b.stats.framesUnrouted, 1);
  t.is(b.stats.framesMalformed, 0);
  t.false(socket.closed);
  socket.destroy();
  await stillServes(t, a, b);
});

for (const [what, frame] of [
  ['an unknown frame type', rawFrame(9, StreamKind.Raft, 0, bytes('x'))],
  ['frame type 0', rawFrame(0, StreamKind.Raft, 0, bytes('x'))],
  ['a frame shorter than its header', Buffer.from([0, 0, 0, 2, FrameType.Message, StreamKind.Raft])],
  ['a response sent to a listener', rawFrame(FrameType.Response, StreamKind.Control, 1, bytes('x'))],
  ['an error response sent to a listener', rawFrame(FrameType.ErrorResponse, StreamKind.Control, 1, bytes('{}'))],
] as const) {
  test(`${what} closes its connection and is counted as malformed`, async (t) => {
    const { a, b, got } = await pair(t);
    const { socket } = await rawHandshake(b.localAddr, stranger);
    t.true(await eventually(() => b.connections().inbound === 2));
    // The bad frame follows a good one in the same write: the good one is delivered, nothing after the bad one.
    socket.write(Buffer.concat([rawFrame(FrameType.Message, StreamKind.Raft, 0, bytes('first')), frame, rawFrame(FrameType.Message, StreamKind.Raft, 0, bytes('never'))]));
    await socketClosed(socket);
    t.is(b.stats.framesMalformed, 1);
    t.deepEqual(got, ['raw:first']);
    await stillServes(t, a, b);
  });
}

test('a bad frame in the same packet as the handshake closes the connection and leaves no phantom', async (t) => {
  const { a, b } = await pair(t);
  for (let i = 0; i < 3; i++) {
    const s = await new Promise<net.Socket>((resolve) => {
      const c = net.connect({ host: '127.0.0.1', port: b.port }, () => resolve(c));
      c.on('error', () => undefined);
    });
    const answer = readFirstFrame(s);
    // One write: the listener reads the bad frame as bytes left over after the handshake.
    s.write(Buffer.concat([helloFrame({ ...stranger, name: `raw${i}` }), rawFrame(9, StreamKind.Raft, 0, bytes('x'))]));
    await answer.catch(() => undefined);
    await socketClosed(s);
  }
  t.is(b.stats.framesMalformed, 3);
  // Only a's connection is established: the broken ones must not stay counted against inboundMax.
  t.true(await eventually(() => b.connections().inbound === 1), `inbound ${b.connections().inbound}`);
  await stillServes(t, a, b);
});

test('a listener that sends a request or message on an outbound connection is cut off', async (t) => {
  // A fake member: it answers the handshake, then sends a one-way message to the dialer instead of an answer.
  const fake = net.createServer((s) => {
    s.on('error', () => undefined);
    readFirstFrame(s).then(
      () => {
        s.write(Buffer.concat([helloFrame({ ...stranger, name: 'fake', nodeId: 'fake-id' }), rawFrame(FrameType.Message, StreamKind.Raft, 0, bytes('unasked'))]));
      },
      () => s.destroy(),
    );
  });
  await new Promise<void>((resolve) => fake.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.teardown(() => {
    fake.close();
  });
  const a = await startNode(t, { name: 'a' });
  const calls: string[] = [];
  a.handle(StreamKind.Raft, { message: () => calls.push('message') });
  const port = (fake.address() as net.AddressInfo).port;
  await t.throwsAsync(a.request(`127.0.0.1:${port}`, StreamKind.Control, bytes('q'), { timeoutMs: 2_000 }), { instanceOf: ShoalError, code: ErrorCode.DecodeFailed });
  t.is(a.stats.framesMalformed, 1);
  t.deepEqual(calls, [], 'a frame on an outbound connection never reaches a handler');
  t.true(await eventually(() => a.connections().outbound === 0));
});
