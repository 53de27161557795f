/**
 * Request/response over the cluster transport: the answer comes back; a
 * peer's ShoalError comes back with its code; a deadline gives ERR_TIMEOUT
 * in time; an AbortSignal gives ERR_ABORTED and its listener is removed
 * whatever the outcome.
 */
import test from 'ava';
import { getEventListeners } from 'node:events';
import { StreamKind } from '../../../src/cluster/kinds.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { bytes, eventually, startNode, text } from './net-helpers.js';

/** How far past its deadline a timeout or abort may settle on a loaded 2-core machine. */
const slackMs = 500;

test('the answer comes back to the right request, many in flight at once', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  b.handle(StreamKind.Control, {
    request: async (peer, payload) => {
      const n = Number(text(payload));
      // Answer out of order: later requests first.
      await new Promise((r) => setTimeout(r, (100 - n) % 7));
      return bytes(`${peer.name}:${n * 2}`);
    },
  });
  const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => a.request(b.localAddr, StreamKind.Control, bytes(String(i)), { timeoutMs: 5_000 })));
  t.deepEqual(answers.map(text), Array.from({ length: 100 }, (_, i) => `a:${i * 2}`));
  t.is(b.stats.requestsServed, 100);
  t.is(a.stats.requestsSent, 100);
  t.is(a.stats.requestsFailed, 0);
});

test("a handler's ShoalError comes back with the same code and message", async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  b.handle(StreamKind.Control, {
    request: async (_peer, payload) => {
      if (text(payload) === 'sync-throw') throw new ShoalError(ErrorCode.Conflict, 'thrown before any await');
      throw new ShoalError(ErrorCode.NotLeader, 'not the leader; try n3', { details: { leader: 'n3' } });
    },
  });
  const e = await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 2_000 }), { instanceOf: ShoalError });
  t.is(e?.code, ErrorCode.NotLeader);
  t.is(e?.message, 'not the leader; try n3');
  t.deepEqual(e?.details, { leader: 'n3' });
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('sync-throw'), { timeoutMs: 2_000 }), {
    instanceOf: ShoalError,
    code: ErrorCode.Conflict,
    message: 'thrown before any await',
  });
  t.is(b.stats.handlerErrors, 0, 'a ShoalError is an answer, not a bug');
  t.is(a.stats.requestsFailed, 2);
});

test('a handler that throws something else answers ERR_UNAVAILABLE and is counted', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  b.handle(StreamKind.Control, {
    request: (_peer, payload) => {
      if (text(payload) === 'sync') throw new TypeError('sync bug');
      return Promise.reject(new Error('async bug'));
    },
  });
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('sync'), { timeoutMs: 2_000 }), { instanceOf: ShoalError, code: ErrorCode.Unavailable, message: /sync bug/ });
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('async'), { timeoutMs: 2_000 }), { instanceOf: ShoalError, code: ErrorCode.Unavailable, message: /async bug/ });
  t.is(b.stats.handlerErrors, 2);
});

test('a handler that never answers gives ERR_TIMEOUT within timeoutMs, and the connection stays usable', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  let served = 0;
  b.handle(StreamKind.Control, {
    request: (_peer, payload) => {
      served++;
      return text(payload) === 'hang' ? new Promise<Uint8Array>(() => undefined) : Promise.resolve(bytes('pong'));
    },
  });
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('warm'), { timeoutMs: 2_000 })), 'pong');
  const timeoutMs = 300;
  const started = performance.now();
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('hang'), { timeoutMs }), { instanceOf: ShoalError, code: ErrorCode.Timeout });
  const elapsedMs = performance.now() - started;
  t.true(elapsedMs >= timeoutMs - 5, `not before the deadline (${elapsedMs.toFixed(0)} ms)`);
  t.true(elapsedMs < timeoutMs + slackMs, `soon after the deadline (${elapsedMs.toFixed(0)} ms)`);
  t.is(served, 2, 'the request reached the handler');
  t.is(a.stats.requestTimeouts, 1);
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('again'), { timeoutMs: 2_000 })), 'pong');
  t.is(a.stats.connects, 1);
});

test('a request to a peer that accepts but never finishes the handshake times out too', async (t) => {
  const a = await startNode(t, { name: 'a', limits: { connectTimeoutMs: 5_000, handshakeTimeoutMs: 5_000 } });
  // A plain TCP server: it accepts and says nothing.
  const net = await import('node:net');
  const silent = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => silent.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.teardown(() => {
    silent.close();
  });
  const port = (silent.address() as import('node:net').AddressInfo).port;
  const started = performance.now();
  await t.throwsAsync(a.request(`127.0.0.1:${port}`, StreamKind.Control, bytes('x'), { timeoutMs: 200 }), { instanceOf: ShoalError, code: ErrorCode.Timeout });
  t.true(performance.now() - started < 200 + slackMs);
});

test('an AbortSignal aborts a request with ERR_ABORTED and removes its listener', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  const handlerSignals: AbortSignal[] = [];
  b.handle(StreamKind.Control, {
    request: (_peer, payload, signal) => {
      handlerSignals.push(signal);
      return text(payload) === 'hang' ? new Promise<Uint8Array>(() => undefined) : Promise.resolve(bytes('ok'));
    },
  });

  const ac = new AbortController();
  const pending = a.request(b.localAddr, StreamKind.Control, bytes('hang'), { timeoutMs: 10_000, signal: ac.signal });
  t.is(getEventListeners(ac.signal, 'abort').length, 1, 'the request listens while it waits');
  t.true(await eventually(() => handlerSignals.length === 1), 'the request reached the peer');
  const started = performance.now();
  ac.abort();
  await t.throwsAsync(pending, { instanceOf: ShoalError, code: ErrorCode.Aborted });
  t.true(performance.now() - started < slackMs, 'abort settles at once, not at the deadline');
  t.is(getEventListeners(ac.signal, 'abort').length, 0, 'listener removed after abort');

  // An already aborted signal refuses before sending anything.
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 1_000, signal: ac.signal }), { instanceOf: ShoalError, code: ErrorCode.Aborted });
  t.is(handlerSignals.length, 1);

  // Success, a peer error and a timeout each remove the listener too: a long-lived signal does not collect them.
  const shared = new AbortController();
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('ok'), { timeoutMs: 2_000, signal: shared.signal })), 'ok');
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('hang'), { timeoutMs: 50, signal: shared.signal }), { code: ErrorCode.Timeout });
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Raft, bytes('no handler'), { timeoutMs: 2_000, signal: shared.signal }), { code: ErrorCode.Unavailable });
  t.is(getEventListeners(shared.signal, 'abort').length, 0);
  // Aborting afterwards changes nothing.
  shared.abort();
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('ok'), { timeoutMs: 2_000 })), 'ok');
});

test('an aborted send rejects ERR_ABORTED before anything is sent', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  const got: string[] = [];
  b.handle(StreamKind.Raft, { message: (_peer, payload) => got.push(text(payload)) });
  await t.throwsAsync(a.send(b.localAddr, StreamKind.Raft, bytes('x'), { signal: AbortSignal.abort() }), { instanceOf: ShoalError, code: ErrorCode.Aborted });
  await a.send(b.localAddr, StreamKind.Raft, bytes('y'));
  t.true(await eventually(() => got.length === 1));
  t.deepEqual(got, ['y']);
});

test('an AbortSignal aborts a send still waiting for its connection, and every send removes its listener', async (t) => {
  const a = await startNode(t, { name: 'a', limits: { connectTimeoutMs: 10_000, handshakeTimeoutMs: 10_000 } });
  const b = await startNode(t, { name: 'b' });
  b.handle(StreamKind.Raft, { message: () => undefined });
  // A server that accepts and never answers the handshake: the send waits in the connect queue.
  const net = await import('node:net');
  let accepted = 0;
  const silent = net.createServer((s) => {
    accepted++;
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.teardown(() => {
    silent.close();
  });
  const addr = `127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}`;

  const ac = new AbortController();
  const pending = a.send(addr, StreamKind.Raft, bytes('stuck'), { signal: ac.signal });
  t.true(await eventually(() => accepted === 1));
  const started = performance.now();
  ac.abort();
  await t.throwsAsync(pending, { instanceOf: ShoalError, code: ErrorCode.Aborted });
  t.true(performance.now() - started < slackMs, 'abort settles at once, not at the connect deadline');
  t.is(getEventListeners(ac.signal, 'abort').length, 0);

  const shared = new AbortController();
  await a.send(b.localAddr, StreamKind.Raft, bytes('ok'), { signal: shared.signal });
  await t.throwsAsync(a.send(b.localAddr, StreamKind.Raft, new Uint8Array(a.limits.frameMaxBytes), { signal: shared.signal }), { code: ErrorCode.FrameTooLarge });
  t.is(getEventListeners(shared.signal, 'abort').length, 0, 'neither a written nor a refused send keeps a listener');
});

test("the handler's signal aborts when the requesting peer's connection closes", async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  let signal: AbortSignal | undefined;
  b.handle(StreamKind.Control, {
    request: (_peer, _payload, s) => {
      signal = s;
      return new Promise<Uint8Array>(() => undefined);
    },
  });
  const pending = a.request(b.localAddr, StreamKind.Control, bytes('hang'), { timeoutMs: 10_000 });
  pending.catch(() => undefined);
  t.true(await eventually(() => signal !== undefined));
  t.false(signal!.aborted);
  await a.close();
  await t.throwsAsync(pending, { instanceOf: ShoalError });
  t.true(await eventually(() => signal!.aborted), 'the server side stops working for a requester that is gone');
});
