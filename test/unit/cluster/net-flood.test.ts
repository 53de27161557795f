/**
 * Strangers cannot lock members out. 1,000 idle TCP connections from
 * 127.0.0.2 and 100 half-open ones (the first 2 bytes of a handshake, then
 * nothing) arrive while two members on 127.0.0.1 exchange requests and two
 * more join. The members are served the whole time; connections before
 * their handshake stay within handshakingPerAddrMax and handshakingMax (the
 * oldest evicted); after handshakeTimeoutMs every stranger is closed.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import { StreamKind } from '../../../src/cluster/kinds.js';
import type { ClusterNetTransport } from '../../../src/cluster/net-transport.js';
import { bytes, eventually, helloFrame, startNode, text } from './net-helpers.js';

const idleCount = 1_000;
const halfOpenCount = 100;
/** Half-open strangers come from 4 addresses, 25 each: under handshakingPerAddrMax, so only the timeout closes them. */
const halfOpenHosts = ['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
/**
 * Strangers and members share this test's one event loop, on a 2-core machine that other tests load:
 * the deadlines leave room for a starved loop. A locked-out member fails at once (refused or evicted),
 * not by a slow answer, so generous deadlines do not hide it.
 */
const handshakeTimeoutMs = 2_500;
const requestTimeoutMs = 5_000;
const handshakingPerAddrMax = 32;
const handshakingMax = 256;

/** Opens `count` connections from `localAddress`, `batch` at a time; each is read (so a hang-up is seen) and sends nothing but `first`. */
async function openStrangers(t: ExecutionContext, port: number, localAddress: string, count: number, first?: Buffer): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  const batch = 50;
  for (let i = 0; i < count; i += batch) {
    const opened = Array.from({ length: Math.min(batch, count - i) }, () => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress });
      s.on('error', () => undefined);
      s.resume();
      sockets.push(s);
      return new Promise<void>((resolve) => {
        s.once('connect', () => {
          if (first !== undefined) s.write(first);
          resolve();
        });
        s.once('close', () => resolve());
      });
    });
    await Promise.all(opened);
  }
  return sockets;
}

/** Requests from `from` to `to` back to back until stopped; every one must succeed. */
function keepRequesting(t: ExecutionContext, from: ClusterNetTransport, to: ClusterNetTransport, onEach: () => void): { stop(): Promise<{ ok: number; failed: string[]; slowestMs: number }> } {
  let running = true;
  // A failed assertion ends the test early: the loop must not outlive it.
  t.teardown(() => {
    running = false;
  });
  const failed: string[] = [];
  let ok = 0;
  let slowestMs = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      try {
        const sentAt = performance.now();
        const answer = await from.request(to.localAddr, StreamKind.Control, bytes(String(i)), { timeoutMs: requestTimeoutMs });
        slowestMs = Math.max(slowestMs, performance.now() - sentAt);
        if (text(answer) !== `${from.identity.name}:${i}`) failed.push(`wrong answer ${text(answer)}`);
        else ok++;
      } catch (e) {
        failed.push((e as Error).message);
      }
      onEach();
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ok, failed, slowestMs };
    },
  };
}

test.serial('1,000 idle and 100 half-open strangers neither lock members out nor outlive handshakeTimeoutMs', async (t) => {
  // Each stranger holds two descriptors here (client and accepted socket).
  const fdNeeded = 2 * (idleCount + halfOpenCount) + 200;
  const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  if (Number.isFinite(fdLimit) && fdLimit < fdNeeded) {
    t.fail(`this test needs ${fdNeeded} file descriptors; ulimit -n is ${fdLimit}`);
    return;
  }
  t.timeout(60_000);
  const limits = { handshakeTimeoutMs, handshakingPerAddrMax, handshakingMax, idleTimeoutMs: 60_000 };
  const a = await startNode(t, { name: 'a', limits });
  const b = await startNode(t, { name: 'b', limits });
  for (const n of [a, b]) n.handle(StreamKind.Control, { request: async (peer, payload) => bytes(`${peer.name}:${text(payload)}`) });

  let handshakingPeak = 0;
  const sample = (): void => {
    handshakingPeak = Math.max(handshakingPeak, b.connections().handshaking);
  };
  const aToB = keepRequesting(t, a, b, sample);
  const bToA = keepRequesting(t, b, a, sample);

  const halfOpenFirstBytes = helloFrame({ clusterLabel: '', clusterId: '', name: 'half', nodeId: 'half-id', addr: '127.0.0.1:1' }).subarray(0, 2);
  const halfOpenP = Promise.all(halfOpenHosts.map((host) => openStrangers(t, b.port, host, halfOpenCount / halfOpenHosts.length, halfOpenFirstBytes)));
  const idleP = openStrangers(t, b.port, '127.0.0.2', idleCount / 2);
  // A member that joins in the middle of the flood: its handshake goes through.
  const c = await startNode(t, { name: 'c', limits });
  const joinedAt = performance.now();
  t.is(text(await c.request(b.localAddr, StreamKind.Control, bytes('0'), { timeoutMs: requestTimeoutMs })), 'c:0');
  t.log(`c joined in ${(performance.now() - joinedAt).toFixed(0)} ms`);
  const idle = [...(await idleP), ...(await openStrangers(t, b.port, '127.0.0.2', idleCount / 2))];
  const halfOpen = (await halfOpenP).flat();
  sample();
  t.is(idle.length, idleCount);
  t.is(halfOpen.length, halfOpenCount);
  // And one more after it, while the half-open ones still wait for their timeout.
  const d = await startNode(t, { name: 'd', limits });
  t.is(text(await d.request(b.localAddr, StreamKind.Control, bytes('0'), { timeoutMs: requestTimeoutMs })), 'd:0');

  // Everything before its handshake is bounded at every moment we looked.
  t.true(handshakingPeak <= handshakingPerAddrMax + halfOpenCount + 4, `peak ${handshakingPeak}`);
  t.true(b.stats.handshakingEvicted >= idleCount - handshakingPerAddrMax, `evicted ${b.stats.handshakingEvicted}`);

  // After handshakeTimeoutMs, no stranger is left, on either end.
  t.true(await eventually(() => b.connections().handshaking === 0, handshakeTimeoutMs + 5_000), `handshaking ${b.connections().handshaking}`);
  t.true(await eventually(() => [...idle, ...halfOpen].every((s) => s.closed), 5_000), 'every stranger socket was closed by the listener');
  t.true(b.stats.handshakeTimeouts >= halfOpenCount, `timeouts ${b.stats.handshakeTimeouts}`);
  t.is(b.stats.handshakeTimeouts + b.stats.handshakingEvicted, idleCount + halfOpenCount, 'each stranger closed once, by timeout or eviction');

  const ab = await aToB.stop();
  const ba = await bToA.stop();
  t.deepEqual(ab.failed, [], 'a was served by b the whole time');
  t.deepEqual(ba.failed, [], 'b was served by a the whole time');
  t.true(ab.ok >= 10 && ba.ok >= 10, `${ab.ok} and ${ba.ok} requests answered`);
  t.log(`${ab.ok + ba.ok} member requests answered during the flood, the slowest in ${Math.max(ab.slowestMs, ba.slowestMs).toFixed(0)} ms`);
  t.is(b.connections().inbound, 3, 'a, c and d');
  t.is(b.stats.refusedInbound.capacity, 0);
});
