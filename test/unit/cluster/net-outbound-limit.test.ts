/** Outbound peers are bounded: past outboundMax, with every entry busy, a new peer is refused at once, never an unbounded table. */
import test from 'ava';
import { StreamKind } from '../../../src/cluster/kinds.js';
import { ErrorCode, isShoalError } from '../../../src/util/errors.js';
import { bytes, startNode, text } from './net-helpers.js';

test('past outboundMax, with every peer busy, a new peer is refused at once; once one is idle it is evicted for the new one', async (t) => {
  const a = await startNode(t, { name: 'a', limits: { outboundMax: 2 } });
  const release: (() => void)[] = [];
  const peers = await Promise.all(['b', 'c', 'd'].map((name) => startNode(t, { name })));
  for (const p of peers) {
    p.handle(StreamKind.Control, {
      request: (peer, payload) => new Promise((resolve) => release.push(() => resolve(bytes(`${peer.name}:${text(payload)}`)))),
    });
  }
  const [b, c, d] = peers as [typeof peers[0], typeof peers[0], typeof peers[0]];
  const slowB = a.request(b.localAddr, StreamKind.Control, bytes('1'), { timeoutMs: 5000 });
  const slowC = a.request(c.localAddr, StreamKind.Control, bytes('2'), { timeoutMs: 5000 });
  const started = performance.now();
  const e = await t.throwsAsync(a.request(d.localAddr, StreamKind.Control, bytes('3'), { timeoutMs: 5000 }));
  t.true(isShoalError(e, ErrorCode.Unavailable), String(e));
  t.regex((e as Error).message, /outboundMax/);
  t.true(performance.now() - started < 1000, 'refused at once, not at the deadline');
  // Answer b and c: their entries are idle now, so d gets one.
  while (release.length < 2) await new Promise((r) => setImmediate(r));
  for (const r of release.splice(0)) r();
  t.is(text(await slowB), 'a:1');
  t.is(text(await slowC), 'a:2');
  const toD = a.request(d.localAddr, StreamKind.Control, bytes('4'), { timeoutMs: 5000 });
  while (release.length < 1) await new Promise((r) => setImmediate(r));
  release.shift()!();
  t.is(text(await toD), 'a:4');
});
