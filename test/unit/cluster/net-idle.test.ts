/**
 * Idle connections: an established connection with no frame either way for
 * idleTimeoutMs is closed (stats.idleClosed) on whichever side has the
 * shorter timeout; the next send opens a new one. Traffic keeps it open.
 */
import test from 'ava';
import { StreamKind } from '../../../src/cluster/kinds.js';
import { bytes, eventually, startNode, text } from './net-helpers.js';

const idleTimeoutMs = 300;
const long = { idleTimeoutMs: 60_000 };

test('the dialer closes its idle connection, and the next send reopens one', async (t) => {
  const a = await startNode(t, { name: 'a', limits: { idleTimeoutMs } });
  const b = await startNode(t, { name: 'b', limits: long });
  const got: string[] = [];
  b.handle(StreamKind.Raft, { message: (_peer, payload) => got.push(text(payload)) });

  await a.send(b.localAddr, StreamKind.Raft, bytes('one'));
  const sentAt = performance.now();
  t.deepEqual(a.connections(), { inbound: 0, handshaking: 0, outbound: 1 });
  t.true(await eventually(() => a.connections().outbound === 0, 5_000));
  const closedAfterMs = performance.now() - sentAt;
  t.true(closedAfterMs >= idleTimeoutMs - 20, `not before the idle timeout (${closedAfterMs.toFixed(0)} ms)`);
  t.true(closedAfterMs < idleTimeoutMs + 1_000, `soon after it (${closedAfterMs.toFixed(0)} ms)`);
  t.is(a.stats.idleClosed, 1);
  t.true(await eventually(() => b.connections().inbound === 0), 'the listener saw it close');
  t.is(b.stats.idleClosed, 0);

  await a.send(b.localAddr, StreamKind.Raft, bytes('two'));
  t.true(await eventually(() => got.length === 2));
  t.deepEqual(got, ['one', 'two']);
  t.is(a.stats.connects, 2, 'a new connection was dialed');
  t.is(a.stats.framesLost, 0);
});

test('the listener closes an idle inbound connection, and the dialer reopens on its next request', async (t) => {
  const a = await startNode(t, { name: 'a', limits: long });
  const b = await startNode(t, { name: 'b', limits: { idleTimeoutMs } });
  b.handle(StreamKind.Control, { request: async (_peer, payload) => bytes(`re:${text(payload)}`) });
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('1'), { timeoutMs: 2_000 })), 're:1');
  t.true(await eventually(() => b.stats.idleClosed === 1 && b.connections().inbound === 0));
  t.true(await eventually(() => a.connections().outbound === 0), 'the dialer saw it close');
  t.is(a.stats.idleClosed, 0);
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('2'), { timeoutMs: 2_000 })), 're:2');
  t.is(a.stats.connects, 2);
});

test('a connection with traffic more often than idleTimeoutMs stays open', async (t) => {
  const a = await startNode(t, { name: 'a', limits: { idleTimeoutMs } });
  const b = await startNode(t, { name: 'b', limits: { idleTimeoutMs } });
  let n = 0;
  b.handle(StreamKind.Raft, { message: () => n++ });
  // Heartbeats every third of the timeout for four timeouts.
  const until = performance.now() + 4 * idleTimeoutMs;
  let sent = 0;
  while (performance.now() < until) {
    await a.send(b.localAddr, StreamKind.Raft, bytes('heartbeat'));
    sent++;
    await new Promise((r) => setTimeout(r, idleTimeoutMs / 3));
  }
  t.true(await eventually(() => n === sent));
  t.is(a.stats.idleClosed + b.stats.idleClosed, 0);
  t.is(a.stats.connects, 1);
});
