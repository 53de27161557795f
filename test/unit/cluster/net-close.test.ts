/**
 * close(): pending requests settle (ERR_TRANSPORT_CLOSED on the closing
 * side, ERR_UNREACHABLE on its peers), every later send is refused, close is
 * idempotent, and a closed transport holds no sockets: its peers see their
 * connections go and its port can be bound again.
 */
import test from 'ava';
import * as net from 'node:net';
import { StreamKind } from '../../../src/cluster/kinds.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { bytes, eventually, loopback, startNode } from './net-helpers.js';

const never = (): Promise<Uint8Array> => new Promise<Uint8Array>(() => undefined);

test('closing the requester rejects its pending requests ERR_TRANSPORT_CLOSED at once', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  let serving = 0;
  b.handle(StreamKind.Control, { request: () => (serving++, never()) });
  const pending = [1, 2, 3].map(() => a.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 30_000 }));
  t.true(await eventually(() => serving === 3));
  const started = performance.now();
  await a.close();
  for (const p of pending) await t.throwsAsync(p, { instanceOf: ShoalError, code: ErrorCode.TransportClosed });
  t.true(performance.now() - started < 1_000, 'not at the deadline');
  t.is(a.stats.requestTimeouts, 0);
  t.true(await eventually(() => b.connections().inbound === 0), "the peer sees the closed transport's connection go");
});

test('requests queued while connecting are rejected too when the transport closes', async (t) => {
  const a = await startNode(t, { name: 'a' });
  // A server that accepts and never answers the handshake: the requests wait in the connect queue.
  const silent = net.createServer((s) => {
    s.on('error', () => undefined);
    s.resume(); // read (and ignore) the hello, so that a hang-up is seen
  });
  await new Promise<void>((resolve) => silent.listen({ host: loopback, port: 0 }, resolve));
  const sockets: net.Socket[] = [];
  silent.on('connection', (s) => sockets.push(s));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const addr = `${loopback}:${(silent.address() as net.AddressInfo).port}`;
  const pending = a.request(addr, StreamKind.Control, bytes('x'), { timeoutMs: 30_000 });
  const sent = a.send(addr, StreamKind.Raft, bytes('y'));
  t.true(await eventually(() => sockets.length === 1));
  await a.close();
  await t.throwsAsync(pending, { instanceOf: ShoalError, code: ErrorCode.TransportClosed });
  await t.throwsAsync(sent, { instanceOf: ShoalError, code: ErrorCode.TransportClosed });
  t.true(await eventually(() => sockets[0].closed), 'the half-open dial was hung up, not left to its timeout');
});

test("closing the server side fails the requester's pending requests ERR_UNREACHABLE and aborts its handlers", async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  const signals: AbortSignal[] = [];
  b.handle(StreamKind.Control, { request: (_peer, _payload, signal) => (signals.push(signal), never()) });
  const pending = a.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 30_000 });
  t.true(await eventually(() => signals.length === 1));
  await b.close();
  await t.throwsAsync(pending, { instanceOf: ShoalError, code: ErrorCode.Unreachable });
  t.true(signals[0].aborted, "the closed side's handler was told to stop");
  t.true(await eventually(() => a.connections().outbound === 0));
});

test('after close every send is refused and close is idempotent', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  const got: number[] = [];
  b.handle(StreamKind.Raft, { message: () => got.push(1) });
  b.onPacket(() => got.push(2));
  await a.send(b.localAddr, StreamKind.Raft, bytes('before'));
  t.true(await eventually(() => got.length === 1));

  await Promise.all([a.close(), a.close()]);
  await a.close();

  t.false(a.post(b.localAddr, StreamKind.Raft, bytes('p')));
  await t.throwsAsync(a.send(b.localAddr, StreamKind.Raft, bytes('s')), { instanceOf: ShoalError, code: ErrorCode.TransportClosed });
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('r'), { timeoutMs: 1_000 }), { instanceOf: ShoalError, code: ErrorCode.TransportClosed });
  const errorsBefore = a.stats.packetSendErrors;
  a.sendPacket(b.localAddr, bytes('u'));
  t.is(a.stats.packetSendErrors, errorsBefore + 1, 'a packet after close is counted, not thrown');
  t.deepEqual(a.connections(), { inbound: 0, handshaking: 0, outbound: 0 });
  t.true(await eventually(() => b.connections().inbound === 0));
  t.deepEqual(got, [1]);
});

test('a closed transport refuses new connections and frees its port for UDP and TCP', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  const port = b.port;
  await b.close();
  await t.throwsAsync(a.request(`${loopback}:${port}`, StreamKind.Control, bytes('x'), { timeoutMs: 2_000 }), { instanceOf: ShoalError, code: ErrorCode.Unreachable });
  const again = await startNode(t, { name: 'b2', port });
  t.is(again.port, port);
});
