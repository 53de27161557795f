/**
 * One port per member: UDP datagrams and TCP streams of a ClusterNetTransport
 * use the same port, the one in its advertised address.
 */
import test from 'ava';
import { StreamKind } from '../../../src/cluster/kinds.js';
import { parseHostPort, type Address } from '../../../src/util/address.js';
import { bytes, eventually, loopback, startNode, text } from './net-helpers.js';

test('UDP packets and TCP streams share the advertised port, both ways', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  t.not(a.port, 0);
  t.is(a.localAddr, `${loopback}:${a.port}`);
  t.is(b.localAddr, `${loopback}:${b.port}`);

  const packetsAtB: { from: Address; data: string }[] = [];
  b.onPacket((from, data) => packetsAtB.push({ from, data: text(data) }));
  const packetsAtA: { from: Address; data: string }[] = [];
  a.onPacket((from, data) => packetsAtA.push({ from, data: text(data) }));
  b.handle(StreamKind.Gossip, { request: async (peer, payload) => bytes(`${peer.name}:${text(payload)}`) });

  // UDP to the advertised address; the datagram leaves from the sender's one port.
  a.sendPacket(b.localAddr, bytes('ping'));
  t.true(await eventually(() => packetsAtB.length === 1));
  t.deepEqual(packetsAtB[0], { from: a.localAddr, data: 'ping' });
  b.sendPacket(packetsAtB[0].from, bytes('ack'));
  t.true(await eventually(() => packetsAtA.length === 1));
  t.deepEqual(packetsAtA[0], { from: b.localAddr, data: 'ack' });

  // TCP to the very same address.
  t.is(text(await a.request(b.localAddr, StreamKind.Gossip, bytes('sync'), { timeoutMs: 2_000 })), 'a:sync');
  t.is(parseHostPort(b.localAddr).port, b.port);
  t.is(b.stats.packetsReceived, 1);
  t.is(b.stats.framesReceived, 1);
});

test('a datagram over packetMaxBytes is refused on send and dropped on receipt', async (t) => {
  const a = await startNode(t, { name: 'a', limits: { packetMaxBytes: 100 } });
  const b = await startNode(t, { name: 'b', limits: { packetMaxBytes: 50 } });
  const got: number[] = [];
  b.onPacket((_from, data) => got.push(data.length));
  a.sendPacket(b.localAddr, new Uint8Array(101));
  t.is(a.stats.packetsOversized, 1);
  a.sendPacket(b.localAddr, new Uint8Array(80)); // fits a's limit, not b's
  a.sendPacket(b.localAddr, new Uint8Array(50));
  t.true(await eventually(() => got.length === 1 && b.stats.packetsOversizedReceived === 1));
  t.deepEqual(got, [50]);
});

test('a packet handler that throws is counted and the next packet still arrives', async (t) => {
  const a = await startNode(t, { name: 'a' });
  const b = await startNode(t, { name: 'b' });
  const got: string[] = [];
  b.onPacket((_from, data) => {
    got.push(text(data));
    if (text(data) === 'boom') throw new Error('handler bug');
  });
  a.sendPacket(b.localAddr, bytes('boom'));
  t.true(await eventually(() => b.stats.handlerErrors === 1));
  a.sendPacket(b.localAddr, bytes('after'));
  t.true(await eventually(() => got.length === 2));
  t.deepEqual(got, ['boom', 'after']);
});
