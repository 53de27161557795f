import test from 'ava';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { UdpTcpTransport } from '../../../src/transport/net.js';
import { FrameDecoder, encodeFrameHeader } from '../../../src/transport/frame.js';
import { TransportLimits } from '../../../src/transport/transport.js';
import { isShoalError, ErrorCode } from '../../../src/util/errors.js';

/** Await a condition with a bounded poll. */
async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

async function pair(): Promise<[UdpTcpTransport, UdpTcpTransport]> {
  const a = await UdpTcpTransport.listen({ bindHost: '127.0.0.1', bindPort: 0 });
  const b = await UdpTcpTransport.listen({ bindHost: '127.0.0.1', bindPort: 0 });
  return [a, b];
}

test('frame decoder reassembles frames split at any byte and rejects oversized lengths', (t) => {
  const payloads = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)];
  const wire = Buffer.concat(payloads.flatMap((p) => [encodeFrameHeader(p.length), Buffer.from(p)]));
  const d = new FrameDecoder(1000);
  const got: Uint8Array[] = [];
  for (let i = 0; i < wire.length; i += 5) {
    const r = d.push(wire.subarray(i, i + 5));
    t.true(r.ok);
    got.push(...r.frames);
  }
  t.deepEqual(got.map((g) => Buffer.from(g).toString('hex')), payloads.map((p) => Buffer.from(p).toString('hex')));
  t.is(d.pendingBytes, 0);
  const bad = new FrameDecoder(10);
  const r = bad.push(Buffer.concat([encodeFrameHeader(2), Buffer.from([9, 9]), encodeFrameHeader(11)]));
  t.false(r.ok);
  t.is(r.frames.length, 1);
  t.false(bad.push(Buffer.from([0, 0, 0, 0])).ok, 'stays failed');
});

test('UDP and TCP share one port; packets and frames arrive with the sender address', async (t) => {
  const [a, b] = await pair();
  t.teardown(() => Promise.all([a.close(), b.close()]));
  t.regex(a.localAddr, /^127\.0\.0\.1:\d+$/);
  t.is(a.localAddr, `127.0.0.1:${a.port}`);
  const packets: [string, string][] = [];
  const frames: string[] = [];
  b.onPacket((from, d) => packets.push([from, Buffer.from(d).toString()]));
  b.onFrame((_from, d) => frames.push(Buffer.from(d).toString()));
  a.sendPacket(b.localAddr, Buffer.from('hello'));
  for (let i = 0; i < 20; i++) await a.sendFrame(b.localAddr, Buffer.from(`f${i}`));
  t.true(await waitFor(() => packets.length === 1 && frames.length === 20));
  t.deepEqual(packets[0], [a.localAddr, 'hello']);
  t.deepEqual(frames, Array.from({ length: 20 }, (_, i) => `f${i}`), 'ordered on one connection');
  t.is(a.outboundConnections, 1, 'one pooled connection per peer');
  t.is(a.stats.framesSent, 20);
  t.is(b.stats.framesReceived, 20);
});

test('packets over 1400 bytes are refused and counted', async (t) => {
  const [a, b] = await pair();
  t.teardown(() => Promise.all([a.close(), b.close()]));
  let got = 0;
  b.onPacket(() => got++);
  a.sendPacket(b.localAddr, new Uint8Array(TransportLimits.packetMaxBytes + 1));
  a.sendPacket(b.localAddr, new Uint8Array(TransportLimits.packetMaxBytes));
  t.true(await waitFor(() => got === 1));
  t.is(a.stats.packetsOversized, 1);
  t.is(a.stats.packetsSent, 1);
  // An oversized datagram from a foreign sender is dropped on receipt.
  const raw = dgram.createSocket('udp4');
  await new Promise<void>((r) => raw.send(new Uint8Array(2000), b.port, '127.0.0.1', () => r()));
  raw.close();
  t.true(await waitFor(() => b.stats.packetsOversizedReceived === 1));
  t.is(got, 1);
});

test('inbound frame over frameMaxBytes closes the connection and is counted', async (t) => {
  const b = await UdpTcpTransport.listen({ bindHost: '127.0.0.1', bindPort: 0 });
  t.teardown(() => b.close());
  let frames = 0;
  b.onFrame(() => frames++);
  const s = net.connect({ host: '127.0.0.1', port: b.port });
  s.on('error', () => {});
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(Buffer.concat([encodeFrameHeader(1), Buffer.from([1]), encodeFrameHeader(TransportLimits.frameMaxBytes + 1)]));
  await closed;
  t.is(frames, 1, 'the frame before the oversized one was delivered');
  t.is(b.stats.framesOversized, 1);
});

test('garbage on the TCP port does not hurt the transport', async (t) => {
  const [a, b] = await pair();
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const frames: string[] = [];
  b.onFrame((_f, d) => frames.push(Buffer.from(d).toString()));
  const s = net.connect({ host: '127.0.0.1', port: b.port });
  s.on('error', () => {});
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await new Promise<void>((r) => s.on('close', () => r()));
  t.is(b.stats.framesOversized, 1, '"GET " read as a huge length');
  // A throwing handler is contained too.
  b.onFrame((_f, d) => {
    frames.push(Buffer.from(d).toString());
    throw new Error('bug above');
  });
  await a.sendFrame(b.localAddr, Buffer.from('still works'));
  await a.sendFrame(b.localAddr, Buffer.from('and again'));
  t.true(await waitFor(() => frames.length === 2));
  t.deepEqual(frames, ['still works', 'and again']);
  t.is(b.stats.handlerErrors, 2);
});

test('frames to a peer that is gone reject with ERR_UNREACHABLE; the pool reconnects after it returns', async (t) => {
  const [a, b] = await pair();
  t.teardown(() => a.close());
  const port = b.port;
  const addr = b.localAddr;
  await a.sendFrame(addr, Buffer.from('one'));
  await b.close();
  // The pooled connection notices the close; the next send fails or reconnects and fails.
  const err = await t.throwsAsync(async () => {
    for (let i = 0; i < 50; i++) {
      await a.sendFrame(addr, Buffer.from('x'));
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  t.true(isShoalError(err, ErrorCode.Unreachable), String(err));
  t.true(a.stats.frameErrors >= 1);
  // The peer comes back on the same port: the next send opens a fresh connection.
  const b2 = await UdpTcpTransport.listen({ bindHost: '127.0.0.1', bindPort: port });
  t.teardown(() => b2.close());
  const got: string[] = [];
  b2.onFrame((_f, d) => got.push(Buffer.from(d).toString()));
  await a.sendFrame(addr, Buffer.from('back'));
  t.true(await waitFor(() => got.length === 1));
  t.deepEqual(got, ['back']);
});

test('abort and a full write queue reject before the connection opens', async (t) => {
  const [a, b] = await pair();
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const got: string[] = [];
  b.onFrame((_f, d) => got.push(Buffer.from(d).toString()));
  const small = await UdpTcpTransport.listen({ bindHost: '127.0.0.1', bindPort: 0, limits: { writeQueueMaxFrames: 2 } });
  t.teardown(() => small.close());
  // All three are queued synchronously, before 'connect' can fire.
  const p1 = small.sendFrame(b.localAddr, Buffer.from('1'));
  const ac = new AbortController();
  const p2 = small.sendFrame(b.localAddr, Buffer.from('2'), { signal: ac.signal });
  const p3 = small.sendFrame(b.localAddr, Buffer.from('3'));
  ac.abort();
  const e2 = await t.throwsAsync(p2);
  t.true(isShoalError(e2, ErrorCode.Aborted));
  const e3 = await t.throwsAsync(p3);
  t.true(isShoalError(e3, ErrorCode.Unavailable), 'third frame exceeds the queue of 2');
  await p1;
  t.true(await waitFor(() => got.length === 1));
  t.deepEqual(got, ['1'], 'the aborted frame never went out');
});

test('binding a taken port fails with ERR_BIND_FAILED; close is idempotent and later sends fail cleanly', async (t) => {
  const a = await UdpTcpTransport.listen({ bindHost: '127.0.0.1', bindPort: 0 });
  const err = await t.throwsAsync(UdpTcpTransport.listen({ bindHost: '127.0.0.1', bindPort: a.port }));
  t.true(isShoalError(err, ErrorCode.BindFailed));
  await a.close();
  await a.close();
  a.sendPacket('127.0.0.1:1', Buffer.from('x'));
  const e = await t.throwsAsync(a.sendFrame('127.0.0.1:1', Buffer.from('x')));
  t.true(isShoalError(e, ErrorCode.TransportClosed));
});
