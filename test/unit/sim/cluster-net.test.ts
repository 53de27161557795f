import test from 'ava';
import type { NodeIdentity } from '../../../src/cluster/identity.js';
import { StreamKind } from '../../../src/cluster/kinds.js';
import { AsyncRunner } from '../../../src/sim/async-run.js';
import { SimClusterNet, type SimTransportOptions, type SimWire } from '../../../src/sim/cluster-net.js';
import type { LinkOptions } from '../../../src/sim/link.js';
import { SimNetwork } from '../../../src/sim/network.js';
import { Scheduler } from '../../../src/sim/scheduler.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { SeededRng } from '../../../src/util/rng.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function world(seed = 1, link: Partial<LinkOptions> = { latency: { kind: 'fixed', ms: 1 } }) {
  const scheduler = new Scheduler();
  const runner = new AsyncRunner(scheduler);
  const rng = new SeededRng(seed);
  const network = new SimNetwork<SimWire>(scheduler, rng.fork(), { defaultLink: link });
  const net = new SimClusterNet(scheduler, network, rng.fork(), runner);
  const identity = (name: string, extra: Partial<NodeIdentity> = {}): NodeIdentity => ({
    clusterLabel: '',
    clusterId: '',
    name,
    nodeId: `id-${name}`,
    addr: `${name}:7946`,
    ...extra,
  });
  const open = (name: string, extra: Partial<NodeIdentity> = {}, options: SimTransportOptions = {}) => net.open(identity(name, extra), options);
  return { scheduler, runner, network, net, open };
}

/** Settles a promise into a value or an error code, recording the virtual time it settled at. */
function outcome<T>(p: Promise<T>, scheduler: Scheduler): { value?: T; code?: string; atMs?: number } {
  const o: { value?: T; code?: string; atMs?: number } = {};
  p.then(
    (v) => {
      o.value = v;
      o.atMs = scheduler.nowMs;
    },
    (e: unknown) => {
      o.code = e instanceof ShoalError ? e.code : String(e);
      o.atMs = scheduler.nowMs;
    },
  );
  return o;
}

test('datagrams reach the packet handler; a lossy link drops them', async (t) => {
  const w = world(1, { latency: { kind: 'fixed', ms: 1 }, lossPercent: 100 });
  const a = w.open('a');
  const b = w.open('b');
  const got: string[] = [];
  b.onPacket((from, data) => got.push(`${from} ${text(data)}`));
  a.sendPacket(b.localAddr, bytes('lost'));
  await w.runner.runFor(10);
  t.deepEqual(got, []);
  w.network.setDefaultLink({ lossPercent: 0 });
  a.sendPacket(b.localAddr, bytes('hello'));
  await w.runner.runFor(10);
  t.deepEqual(got, ['a:7946 hello']);
  t.is(b.stats.packetsReceived, 1);
});

test('frames are routed by kind, with the sender identity the handshake proved; a kind without a handler is counted', async (t) => {
  const w = world();
  const a = w.open('a');
  const b = w.open('b');
  const got: string[] = [];
  b.handle(StreamKind.Raft, { message: (peer, payload) => got.push(`${peer.name}@${peer.addr}/${peer.nodeId}: ${text(payload)}`) });
  t.true(a.post(b.localAddr, StreamKind.Raft, bytes('vote')));
  t.true(a.post(b.localAddr, StreamKind.Data, bytes('nobody')));
  await a.send(b.localAddr, StreamKind.Raft, bytes('append'));
  await w.runner.runFor(10);
  t.deepEqual(got, ['a@a:7946/id-a: vote', 'a@a:7946/id-a: append']);
  t.is(b.stats.framesUnrouted, 1);
});

test('request and response on virtual time; the peer error travels with its code', async (t) => {
  const w = world();
  const a = w.open('a');
  const b = w.open('b');
  b.handle(StreamKind.Control, {
    request: async (peer, payload) => {
      if (text(payload) === 'bad') throw new ShoalError(ErrorCode.NotLeader, 'not the leader');
      return bytes(`${peer.name} asked ${text(payload)}`);
    },
  });
  const ok = outcome(a.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 1000 }), w.scheduler);
  const bad = outcome(a.request(b.localAddr, StreamKind.Control, bytes('bad'), { timeoutMs: 1000 }), w.scheduler);
  const none = outcome(a.request(b.localAddr, StreamKind.Data, bytes('?'), { timeoutMs: 1000 }), w.scheduler);
  await w.runner.runFor(100);
  t.is(text(ok.value!), 'a asked x');
  t.is(ok.atMs, 2, 'one round trip of 1 ms each way');
  t.is(bad.code, ErrorCode.NotLeader);
  t.is(none.code, ErrorCode.Unavailable, 'no handler for the kind');
  t.is(b.stats.requestsServed, 1);
});

test('a request lost to a partition fails ERR_TIMEOUT exactly at its deadline', async (t) => {
  const w = world();
  const a = w.open('a');
  const b = w.open('b');
  let served = 0;
  b.handle(StreamKind.Control, {
    request: async () => {
      served++;
      return bytes('late');
    },
  });
  // Cut after the connection is up: the request goes out and is lost on the way.
  const p = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 500 }), w.scheduler);
  w.network.partition([a.localAddr], [b.localAddr]);
  await w.runner.runFor(1000);
  t.is(p.code, ErrorCode.Timeout);
  t.is(p.atMs, 500);
  t.is(served, 0);
  t.is(a.stats.requestTimeouts, 1);
  // Across the cut, a new connection is not even made: ERR_UNREACHABLE after the connect timeout.
  const q = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 60_000 }), w.scheduler);
  await w.runner.runFor(5000);
  t.is(q.code, ErrorCode.Unreachable);
  t.is(q.atMs, 1000 + a.limits.connectTimeoutMs);
});

test('a crashed peer: waiting requests time out, new ones are refused (ERR_UNREACHABLE) after a round trip', async (t) => {
  const w = world();
  const a = w.open('a');
  const b = w.open('b');
  b.handle(StreamKind.Control, { request: () => new Promise<Uint8Array>(() => undefined) });
  const waiting = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 300 }), w.scheduler);
  await w.runner.runFor(10);
  b.crash();
  const fresh = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 300 }), w.scheduler);
  const sent = outcome(a.send(b.localAddr, StreamKind.Raft, bytes('m')), w.scheduler);
  t.false(a.post(b.localAddr, StreamKind.Raft, bytes('m')), 'a post to nobody is refused at once');
  await w.runner.runFor(1000);
  t.is(waiting.code, ErrorCode.Timeout);
  t.is(waiting.atMs, 300);
  t.is(fresh.code, ErrorCode.Unreachable);
  t.is(fresh.atMs, 12);
  t.is(sent.code, ErrorCode.Unreachable);
  // Restarted at the same address: reachable again.
  const b2 = w.open('b');
  b2.handle(StreamKind.Control, { request: async () => bytes('back') });
  const again = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 300 }), w.scheduler);
  await w.runner.runFor(10);
  t.is(text(again.value!), 'back');
});

test('a peer that closes breaks its connections: requests waiting on it fail ERR_UNREACHABLE, what it asked is aborted', async (t) => {
  const w = world();
  const a = w.open('a');
  const b = w.open('b');
  let abortedOnA = false;
  a.handle(StreamKind.Control, {
    request: (_peer, _payload, signal) =>
      new Promise<Uint8Array>(() => {
        signal.addEventListener('abort', () => {
          abortedOnA = true;
        });
      }),
  });
  b.handle(StreamKind.Control, { request: () => new Promise<Uint8Array>(() => undefined) });
  const waiting = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 5000 }), w.scheduler);
  const bAsks = outcome(b.request(a.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 5000 }), w.scheduler);
  await w.runner.runFor(10);
  await b.close();
  await w.runner.runFor(10);
  t.is(waiting.code, ErrorCode.Unreachable);
  t.is(waiting.atMs, 11);
  t.is(bAsks.code, ErrorCode.TransportClosed);
  t.true(abortedOnA, 'the request b was being served by a saw its signal abort');
});

test('an abort signal fails the request with ERR_ABORTED at once and removes its listener', async (t) => {
  const w = world();
  const a = w.open('a');
  const b = w.open('b');
  b.handle(StreamKind.Control, { request: () => new Promise<Uint8Array>(() => undefined) });
  const ac = new AbortController();
  const p = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 5000, signal: ac.signal }), w.scheduler);
  await w.runner.runFor(3);
  ac.abort();
  await w.runner.runFor(0);
  t.is(p.code, ErrorCode.Aborted);
  t.is(p.atMs, 3);
  const already = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 5000, signal: ac.signal }), w.scheduler);
  await w.runner.runFor(0);
  t.is(already.code, ErrorCode.Aborted);
  await w.runner.runFor(10_000);
  t.is(a.stats.requestTimeouts, 0, 'the deadline was cancelled');
});

test('handshake: members of different clusters refuse each other; nothing reaches a handler', async (t) => {
  const w = world();
  const a = w.open('a', { clusterId: 'c1' });
  const b = w.open('b', { clusterId: 'c2' });
  let reached = 0;
  b.handle(StreamKind.Raft, { message: () => reached++ });
  b.handle(StreamKind.Control, {
    request: async () => {
      reached++;
      return bytes('x');
    },
  });
  t.false(a.post(b.localAddr, StreamKind.Raft, bytes('vote')), 'the dialer refuses the listener it reads');
  const p = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 5000 }), w.scheduler);
  await w.runner.runFor(100);
  t.is(reached, 0);
  t.is(p.code, ErrorCode.Unreachable);
  t.is(p.atMs, 2, 'after the handshake round trip');
  t.is(a.stats.refusedOutbound['cluster-id'], 2);
  // Before it knows its cluster id a member talks to anyone of its label (it may be joining).
  const fresh = w.open('c');
  const got: string[] = [];
  fresh.handle(StreamKind.Raft, { message: (peer) => got.push(peer.name) });
  t.true(b.post(fresh.localAddr, StreamKind.Raft, bytes('hello')));
  await w.runner.runFor(10);
  t.deepEqual(got, ['b']);
});

test('handshake: a live member name with another node id is refused (a wiped or impostor member)', async (t) => {
  const w = world();
  const known = (name: string) => (name === 'b' ? { nodeId: 'id-b', live: true } : undefined);
  const refusals: string[] = [];
  const a = w.open('a', {}, { known, onRefused: (peer, reason) => refusals.push(`${peer.name}/${peer.nodeId}: ${reason}`) });
  const impostor = w.open('b', { nodeId: 'id-other' });
  let reached = 0;
  a.handle(StreamKind.Raft, { message: () => reached++ });
  impostor.handle(StreamKind.Raft, { message: () => reached++ });
  t.true(impostor.post(a.localAddr, StreamKind.Raft, bytes('vote')));
  t.false(a.post(impostor.localAddr, StreamKind.Raft, bytes('vote')), 'a refuses to dial it');
  await w.runner.runFor(100);
  t.is(reached, 0);
  t.is(a.stats.refusedInbound['node-id'], 1);
  t.is(a.stats.refusedOutbound['node-id'], 1);
  t.is(impostor.stats.refusedOutbound['node-id'], 1, 'the impostor hears why');
  t.deepEqual(refusals, ['b/id-other: node-id', 'b/id-other: node-id'], 'the refusing member is told (dialing and listening)');
});

test('a paused requester sees its deadline late, at resume; a crash cancels it for good', async (t) => {
  const w = world();
  const a = w.open('a');
  const b = w.open('b');
  b.handle(StreamKind.Control, { request: () => new Promise<Uint8Array>(() => undefined) });
  const p = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 100 }), w.scheduler);
  w.network.pause(a.localAddr);
  await w.runner.runFor(500);
  t.is(p.code, undefined, 'held while paused');
  w.network.resume(a.localAddr);
  await w.runner.runFor(0);
  t.is(p.code, ErrorCode.Timeout);
  t.is(p.atMs, 500);
  const q = outcome(a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 100 }), w.scheduler);
  a.crash();
  await w.runner.runFor(1000);
  t.deepEqual(q, {}, 'a dead process hears nothing more');
});

test('a seed replays the same deliveries at the same virtual times', async (t) => {
  const run = async (seed: number): Promise<string[]> => {
    const w = world(seed, { latency: { kind: 'uniform', minMs: 0.5, maxMs: 5 }, lossPercent: 20, duplicatePercent: 10, reorderPercent: 20, reorderDelayMs: 3 });
    const a = w.open('a');
    const b = w.open('b');
    const log: string[] = [];
    b.onPacket((_from, data) => log.push(`p ${text(data)} @${w.scheduler.nowMs.toFixed(3)}`));
    b.handle(StreamKind.Raft, { message: (_peer, data) => log.push(`f ${text(data)} @${w.scheduler.nowMs.toFixed(3)}`) });
    for (let i = 0; i < 50; i++) {
      a.sendPacket(b.localAddr, bytes(`${i}`));
      a.post(b.localAddr, StreamKind.Raft, bytes(`${i}`));
    }
    await w.runner.runFor(100);
    return log;
  };
  const first = await run(7);
  t.deepEqual(await run(7), first);
  t.notDeepEqual(await run(8), first);
  const frames = first.filter((l) => l.startsWith('f ')).map((l) => Number(l.split(' ')[1]));
  t.deepEqual(frames, Array.from({ length: 50 }, (_, i) => i), 'frames are reliable and ordered');
});
