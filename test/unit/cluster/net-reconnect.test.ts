/**
 * Unreachable peers and reconnects: a port nobody listens on fails fast with
 * ERR_UNREACHABLE; for the backoff window after that, frames for the peer
 * are refused at once without dialing; once the peer listens, the next send
 * after the window dials again and succeeds.
 */
import test from 'ava';
import { StreamKind } from '../../../src/cluster/kinds.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { bytes, eventually, freePort, loopback, startNode, text } from './net-helpers.js';

/** First backoff: the window lasts reconnectBaseMs/2 .. reconnectBaseMs (equal jitter). */
const reconnectBaseMs = 600;

test.serial('a dead port gives ERR_UNREACHABLE quickly, refuses at once while backing off, and works once the peer listens', async (t) => {
  const a = await startNode(t, { name: 'a', limits: { reconnectBaseMs, reconnectMaxMs: 5_000 } });
  const port = await freePort();
  const addr = `${loopback}:${port}`;

  const started = performance.now();
  const e = await t.throwsAsync(a.request(addr, StreamKind.Control, bytes('x'), { timeoutMs: 5_000 }), { instanceOf: ShoalError, code: ErrorCode.Unreachable });
  t.true(performance.now() - started < 500, 'a refused connect fails at once, not at the deadline');
  t.true(e?.message.includes(addr), e?.message);
  t.is(a.stats.connectFailures, 1);
  t.is(a.stats.requestTimeouts, 0);

  // The backoff window: refused synchronously, no new dial.
  const refusedAt = performance.now();
  t.false(a.post(addr, StreamKind.Raft, bytes('p')));
  await t.throwsAsync(a.send(addr, StreamKind.Raft, bytes('s')), { instanceOf: ShoalError, code: ErrorCode.Unreachable, message: /retrying in/ });
  await t.throwsAsync(a.request(addr, StreamKind.Control, bytes('r'), { timeoutMs: 5_000 }), { instanceOf: ShoalError, code: ErrorCode.Unreachable });
  t.true(performance.now() - refusedAt < 100, 'refusals during the window are immediate');
  t.is(a.stats.connectFailures, 1, 'nothing was dialed during the window');
  t.true(a.stats.framesRefused >= 2, 'post and send refusals are counted');

  // The peer comes up on that port.
  const b = await startNode(t, { name: 'b', port });
  const got: string[] = [];
  b.handle(StreamKind.Raft, { message: (peer, payload) => got.push(`${peer.name}:${text(payload)}`) });
  b.handle(StreamKind.Control, { request: async () => bytes('back') });

  // Still refused until the window ends; then the next send dials again.
  t.true(await eventually(() => a.post(addr, StreamKind.Raft, bytes('hello')), reconnectBaseMs + 2_000), 'accepted after the window');
  t.true(performance.now() - refusedAt >= reconnectBaseMs / 2 - 50, 'not before the window could end');
  t.true(await eventually(() => got.length === 1));
  t.deepEqual(got, ['a:hello']);
  t.is(text(await a.request(addr, StreamKind.Control, bytes('r'), { timeoutMs: 2_000 })), 'back');
  t.is(a.stats.connects, 1);
});

test.serial('the backoff doubles with each failed dial up to reconnectMaxMs, each window between half and all of it', async (t) => {
  const a = await startNode(t, { name: 'a', limits: { reconnectBaseMs: 100, reconnectMaxMs: 400 } });
  const addr = `${loopback}:${await freePort()}`;
  /** Send until one is accepted (dialed) rather than refused for the backoff; it then fails to connect. */
  const dialOnce = async (): Promise<{ acceptedAtMs: number; failedAtMs: number }> => {
    const deadline = performance.now() + 3_000;
    while (performance.now() < deadline) {
      const at = performance.now();
      const e = await a.send(addr, StreamKind.Raft, bytes('x')).then(
        () => undefined,
        (err: unknown) => err as ShoalError,
      );
      if (e === undefined) throw new Error('nobody listens: a send cannot succeed');
      t.is(e.code, ErrorCode.Unreachable);
      if (!/retrying in/.test(e.message)) return { acceptedAtMs: at, failedAtMs: performance.now() };
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error('no dial within 3 s');
  };
  let last = await dialOnce();
  const windowsMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const next = await dialOnce();
    windowsMs.push(next.acceptedAtMs - last.failedAtMs);
    last = next;
  }
  t.is(a.stats.connectFailures, 6);
  // After failure k the window is capped/2 .. capped with capped = min(400, 100 * 2^(k-1)); polling and a
  // loaded machine add a little (an uncapped fifth window, 800..1600 ms, is still far outside).
  const bounds = [
    [50, 100],
    [100, 200],
    [200, 400],
    [200, 400],
    [200, 400],
  ];
  windowsMs.forEach((w, i) => {
    const [lo, hi] = bounds[i];
    t.true(w >= lo - 5 && w <= hi + 250, `window ${i + 1}: ${w.toFixed(0)} ms, expected ${lo}..${hi}`);
  });
});

test('an idle pooled connection lost to a restarted peer is redialed by the next send', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b1 = await startNode(t, { name: 'b', nodeId: 'b-first' });
  const port = b1.port;
  b1.handle(StreamKind.Control, { request: async () => bytes('first') });
  t.is(text(await a.request(b1.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 2_000 })), 'first');
  await b1.close();
  t.true(await eventually(() => a.connections().outbound === 0), 'a notices the closed connection');

  const b2 = await startNode(t, { name: 'b', nodeId: 'b-second', port });
  b2.handle(StreamKind.Control, { request: async (peer) => bytes(`second for ${peer.name}`) });
  // No failed dial happened, so there is no backoff: the next request dials at once.
  t.is(text(await a.request(b2.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 2_000 })), 'second for a');
  t.is(a.stats.connects, 2);
  t.is(a.stats.connectFailures, 0);
});
