/**
 * Handshake refusals on real sockets: another cluster label, another cluster
 * id, a known live name under a new node id, this member's own name, a bad
 * hello. Each is counted by reason on both sides (refusedInbound at the
 * listener, refusedOutbound at the dialer), the refused sender's send or
 * request fails with a message that says why, and no frame of a refused
 * connection reaches a handler on either side.
 */
import test, { type ExecutionContext } from 'ava';
import { RefuseReason, StreamKind } from '../../../src/cluster/kinds.js';
import type { ClusterNetTransport } from '../../../src/cluster/net-transport.js';
import type { RefuseCounts } from '../../../src/cluster/stats.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { bytes, eventually, helloFrame, rawConnect, readFirstFrame, socketClosed, startNode, type NodeSpec } from './net-helpers.js';

/** Register handlers of every kind that record any call: a refused connection must reach none. */
function recordCalls(node: ClusterNetTransport): string[] {
  const calls: string[] = [];
  for (const kind of Object.values(StreamKind)) {
    node.handle(kind, {
      message: (peer) => calls.push(`message ${kind} from ${peer.name}`),
      request: async (peer) => {
        calls.push(`request ${kind} from ${peer.name}`);
        return bytes('served');
      },
    });
  }
  return calls;
}

function only(reason: RefuseReason, n = 1): Partial<RefuseCounts> {
  return { [reason]: n };
}

function nonZero(counts: RefuseCounts): Partial<RefuseCounts> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

/** Dialer `a` is refused by listener `b` for `reason`; everything a tried fails and says why. */
async function refusedByListener(t: ExecutionContext, aSpec: NodeSpec, bSpec: NodeSpec, reason: RefuseReason, why: RegExp): Promise<void> {
  const a = await startNode(t, aSpec);
  const b = await startNode(t, bSpec);
  const callsA = recordCalls(a);
  const callsB = recordCalls(b);

  const sent = a.send(b.localAddr, StreamKind.Raft, bytes('m'));
  const requested = a.request(b.localAddr, StreamKind.Control, bytes('r'), { timeoutMs: 2_000 });
  t.true(a.post(b.localAddr, StreamKind.Data, bytes('p')), 'queued while the connection opens');
  for (const p of [sent, requested]) {
    const e = await t.throwsAsync(p, { instanceOf: ShoalError, code: ErrorCode.Unreachable });
    t.regex(e?.message ?? '', /refused the connection/);
    t.regex(e?.message ?? '', why);
    t.is(e?.details?.reason, reason);
  }
  t.deepEqual(nonZero(b.stats.refusedInbound), only(reason));
  t.deepEqual(nonZero(a.stats.refusedOutbound), only(reason));
  t.deepEqual(nonZero(a.stats.refusedInbound), {});
  t.deepEqual(nonZero(b.stats.refusedOutbound), {});
  t.is(a.stats.connects, 0);
  t.is(a.stats.framesLost, 3, 'the three queued frames were lost with the connection');

  // During the backoff the reason stays visible to later sends.
  await t.throwsAsync(a.send(b.localAddr, StreamKind.Raft, bytes('again')), { code: ErrorCode.Unreachable, message: why });
  t.true(await eventually(() => b.connections().inbound === 0 && b.connections().handshaking === 0));
  t.deepEqual(callsB, [], 'nothing of the refused peer reached a plane');
  t.deepEqual(callsA, []);
  t.is(b.stats.framesReceived, 0);
}

test('another cluster label is refused', async (t) => {
  await refusedByListener(t, { name: 'a', clusterLabel: 'staging' }, { name: 'b', clusterLabel: 'prod' }, RefuseReason.ClusterLabel, /cluster label "staging" is not "prod"/);
});

test('a label against no label is refused', async (t) => {
  await refusedByListener(t, { name: 'a', clusterLabel: '' }, { name: 'b', clusterLabel: 'prod' }, RefuseReason.ClusterLabel, /cluster label "" is not "prod"/);
});

test('another cluster id is refused when both are set', async (t) => {
  await refusedByListener(t, { name: 'a', clusterId: 'cluster-1' }, { name: 'b', clusterId: 'cluster-2' }, RefuseReason.ClusterId, /cluster id cluster-1 is not cluster-2/);
});

test('a known live name with a new node id is refused', async (t) => {
  const known = (name: string) => (name === 'a' ? { nodeId: 'a-before-wipe', live: true } : undefined);
  await refusedByListener(t, { name: 'a', nodeId: 'a-after-wipe' }, { name: 'b', known }, RefuseReason.NodeId, /member a is alive with node id a-before-wipe, not a-after-wipe/);
});

test('a member dialing its own address is refused as itself', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const calls = recordCalls(a);
  await t.throwsAsync(a.send(a.localAddr, StreamKind.Raft, bytes('me')), { instanceOf: ShoalError, code: ErrorCode.Unreachable, message: /connected to itself/ });
  t.deepEqual(nonZero(a.stats.refusedInbound), only(RefuseReason.SelfName));
  t.deepEqual(nonZero(a.stats.refusedOutbound), only(RefuseReason.SelfName));
  t.deepEqual(calls, []);
});

test('an empty cluster id on either side is accepted, and setClusterId applies to later handshakes', async (t) => {
  const a = await startNode(t, { name: 'a', clusterId: '' });
  const b = await startNode(t, { name: 'b', clusterId: 'cluster-2' });
  const c = await startNode(t, { name: 'c', clusterId: '' });
  recordCalls(b);
  recordCalls(c);
  await a.request(b.localAddr, StreamKind.Control, bytes('r'), { timeoutMs: 2_000 });
  await b.request(c.localAddr, StreamKind.Control, bytes('r'), { timeoutMs: 2_000 });
  t.is(a.identity.clusterId, '');
  a.setClusterId('cluster-1');
  t.is(a.identity.clusterId, 'cluster-1');
  // c has no id yet: still fine. b has another one: refused on the next handshake.
  await a.request(c.localAddr, StreamKind.Control, bytes('r'), { timeoutMs: 2_000 });
  const d = await startNode(t, { name: 'd', clusterId: 'cluster-2' });
  recordCalls(d);
  await t.throwsAsync(a.request(d.localAddr, StreamKind.Control, bytes('r'), { timeoutMs: 2_000 }), { code: ErrorCode.Unreachable, message: /cluster id cluster-1 is not cluster-2/ });
  t.deepEqual(nonZero(d.stats.refusedInbound), only(RefuseReason.ClusterId));
});

test('a dead or left member may come back with a new node id', async (t) => {
  const known = (name: string) => (name === 'a' ? { nodeId: 'a-before-wipe', live: false } : undefined);
  const a = await startNode(t, { name: 'a', nodeId: 'a-after-wipe' });
  const b = await startNode(t, { name: 'b', known });
  const seen: string[] = [];
  b.handle(StreamKind.Control, { request: async (peer) => (seen.push(peer.nodeId), bytes('welcome back')) });
  await a.request(b.localAddr, StreamKind.Control, bytes('r'), { timeoutMs: 2_000 });
  t.deepEqual(seen, ['a-after-wipe']);
  t.deepEqual(nonZero(b.stats.refusedInbound), {});
});

test('the dialer refuses a listener that is a known live member under another node id', async (t) => {
  const known = (name: string) => (name === 'b' ? { nodeId: 'b-old', live: true } : undefined);
  const a = await startNode(t, { name: 'a', known });
  const b = await startNode(t, { name: 'b', nodeId: 'b-impostor' });
  const callsA = recordCalls(a);
  const callsB = recordCalls(b);
  const e = await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('secret'), { timeoutMs: 2_000 }), { instanceOf: ShoalError, code: ErrorCode.Unreachable });
  t.regex(e?.message ?? '', /refused .*member b is alive with node id b-old, not b-impostor/);
  t.is(e?.details?.reason, RefuseReason.NodeId);
  t.deepEqual(nonZero(a.stats.refusedOutbound), only(RefuseReason.NodeId));
  t.deepEqual(nonZero(b.stats.refusedInbound), {}, 'the listener had no reason to refuse');
  // The listener accepted; the dialer hung up before sending anything.
  t.true(await eventually(() => b.connections().inbound === 0));
  t.deepEqual(callsB, [], 'the request never reached the impostor');
  t.deepEqual(callsA, []);
  t.is(b.stats.framesReceived, 0);
});

test('a hello that is not a handshake, or of another version, is refused with the reason', async (t) => {
  const b = await startNode(t, { name: 'b' });
  const calls = recordCalls(b);

  const garbage = await rawConnect(b.localAddr);
  const answer1 = readFirstFrame(garbage);
  garbage.write(Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 5]));
  const r1 = await answer1;
  t.is(r1.refuseReason, RefuseReason.BadHello);
  t.is(r1.identity.name, 'b', 'a refusal names the refuser');
  await socketClosed(garbage);

  const future = await rawConnect(b.localAddr);
  const answer2 = readFirstFrame(future);
  future.write(helloFrame({ clusterLabel: '', clusterId: '', name: 'x', nodeId: 'x-id', addr: '127.0.0.1:1' }, 2));
  const r2 = await answer2;
  t.is(r2.refuseReason, RefuseReason.Version);
  t.regex(r2.refuseMessage, /protocol version 2/);
  await socketClosed(future);

  t.deepEqual(nonZero(b.stats.refusedInbound), { [RefuseReason.BadHello]: 1, [RefuseReason.Version]: 1 });
  t.deepEqual(calls, []);
});

test('a hello over handshakeBytesMax is dropped without reading it', async (t) => {
  const b = await startNode(t, { name: 'b' });
  const s = await rawConnect(b.localAddr);
  s.write(Buffer.from([0, 0, 0x10, 0x01])); // declares 4097 bytes
  await socketClosed(s);
  t.true(await eventually(() => b.stats.refusedInbound[RefuseReason.BadHello] === 1));
  t.is(b.connections().handshaking, 0);
});
