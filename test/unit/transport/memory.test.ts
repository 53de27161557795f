import test from 'ava';
import { MemoryNetwork } from '../../../src/transport/memory.js';
import { isShoalError } from '../../../src/util/errors.js';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

function pair(opts: ConstructorParameters<typeof MemoryNetwork>[0] = {}) {
  const hub = new MemoryNetwork(opts);
  const a = hub.transport('10.0.0.1:7946');
  const b = hub.transport('10.0.0.2:7946');
  const packets: Array<[string, number[]]> = [];
  const frames: Array<[string, number[]]> = [];
  b.onPacket((from, d) => packets.push([from, [...d]]));
  b.onFrame((from, d) => frames.push([from, [...d]]));
  return { hub, a, b, packets, frames };
}

test('packets arrive asynchronously, with the sender address, as copies', async (t) => {
  const { hub, a, packets } = pair();
  const data = bytes(1, 2, 3);
  a.sendPacket('10.0.0.2:7946', data);
  data[0] = 99; // the sender reusing its buffer must not change what is delivered
  t.deepEqual(packets, [], 'not delivered inside the send call');
  await hub.flush();
  t.deepEqual(packets, [['10.0.0.1:7946', [1, 2, 3]]]);
  t.is(a.stats.packetsSent, 1);
  t.is(a.stats.packetBytesSent, 3);
});

test('frames are reliable and ordered; sendFrame resolves after delivery', async (t) => {
  const { a, b, frames } = pair();
  const sends = Array.from({ length: 100 }, (_, i) => a.sendFrame(b.localAddr, bytes(i)));
  await Promise.all(sends);
  t.deepEqual(frames.map(([, d]) => d[0]), [...Array(100).keys()]);
  t.is(b.stats.framesReceived, 100);
  t.is(a.stats.framesSent, 100);
});

test('sendFrame to an unknown address rejects ERR_UNREACHABLE; sendPacket never throws', async (t) => {
  const { hub, a } = pair();
  const e = await t.throwsAsync(a.sendFrame('10.9.9.9:1', bytes(1)));
  t.true(isShoalError(e, 'ERR_UNREACHABLE'));
  t.is(a.stats.frameErrors, 1);
  t.notThrows(() => a.sendPacket('10.9.9.9:1', bytes(1)));
  await hub.flush();
  t.is(hub.stats.packetsUnreachable, 1);
});

test('cut blocks both directions until recover', async (t) => {
  const { hub, a, b, packets, frames } = pair();
  const aGot: number[] = [];
  a.onPacket((_f, d) => aGot.push(d[0]));
  hub.cut(a.localAddr, b.localAddr);
  a.sendPacket(b.localAddr, bytes(1));
  b.sendPacket(a.localAddr, bytes(2));
  const e1 = await t.throwsAsync(a.sendFrame(b.localAddr, bytes(3)));
  const e2 = await t.throwsAsync(b.sendFrame(a.localAddr, bytes(4)));
  t.true(isShoalError(e1, 'ERR_UNREACHABLE') && isShoalError(e2, 'ERR_UNREACHABLE'));
  await hub.flush();
  t.deepEqual(packets, []);
  t.deepEqual(aGot, []);
  t.deepEqual(frames, []);
  hub.recover();
  await a.sendFrame(b.localAddr, bytes(5));
  t.deepEqual(frames.map(([, d]) => d[0]), [5]);
});

test('a cut made while a frame is in flight fails that frame', async (t) => {
  const { hub, a, b, frames } = pair();
  const p = a.sendFrame(b.localAddr, bytes(1));
  hub.cut(a.localAddr, b.localAddr);
  const e = await t.throwsAsync(p);
  t.true(isShoalError(e, 'ERR_UNREACHABLE'));
  t.deepEqual(frames, []);
});

test('isolate cuts one address from all others', async (t) => {
  const hub = new MemoryNetwork();
  const [a, b, c] = ['a:1', 'b:1', 'c:1'].map((x) => hub.transport(x));
  const got: string[] = [];
  for (const tr of [a, b, c]) tr.onPacket((from) => got.push(`${from}->${tr.localAddr}`));
  hub.isolate(c.localAddr);
  a.sendPacket(b.localAddr, bytes(0));
  a.sendPacket(c.localAddr, bytes(0));
  c.sendPacket(b.localAddr, bytes(0));
  await t.throwsAsync(c.sendFrame(a.localAddr, bytes(0)), { code: 'ERR_UNREACHABLE' });
  await hub.flush();
  t.deepEqual(got, ['a:1->b:1']);
});

test('drop(from, to, percent) drops about that share of packets, one way only, deterministically by seed', async (t) => {
  const run = async (seed: number): Promise<{ ab: number[]; ba: number }> => {
    const { hub, a, b, packets } = pair({ seed });
    let ba = 0;
    a.onPacket(() => ba++);
    hub.drop(a.localAddr, b.localAddr, 30);
    for (let i = 0; i < 2000; i++) {
      a.sendPacket(b.localAddr, bytes(i & 0xff, i >> 8));
      b.sendPacket(a.localAddr, bytes(0));
    }
    await hub.flush();
    t.is(hub.stats.packetsDropped, 2000 - packets.length);
    return { ab: packets.map(([, d]) => d[0] + 256 * d[1]), ba };
  };
  const r1 = await run(5);
  const r2 = await run(5);
  t.true(r1.ab.length > 1300 && r1.ab.length < 1500, `delivered ${r1.ab.length} of 2000 at 30% drop`);
  t.is(r1.ba, 2000, 'the reverse direction is untouched');
  t.deepEqual(r1.ab, r2.ab, 'same seed drops the same packets');
  // frames are not subject to drop()
  const { hub, a, b, frames } = pair();
  hub.drop(a.localAddr, b.localAddr, 100);
  await a.sendFrame(b.localAddr, bytes(7));
  t.is(frames.length, 1);
});

test('oversized packets and frames are refused and counted', async (t) => {
  const { hub, a, b, packets, frames } = pair({ frameMaxBytes: 4096 });
  a.sendPacket(b.localAddr, new Uint8Array(1401));
  a.sendPacket(b.localAddr, new Uint8Array(1400));
  const e = await t.throwsAsync(a.sendFrame(b.localAddr, new Uint8Array(4097)));
  t.true(isShoalError(e, 'ERR_FRAME_TOO_LARGE'));
  await a.sendFrame(b.localAddr, new Uint8Array(4096));
  await hub.flush();
  t.is(packets.length, 1);
  t.is(frames.length, 1);
  t.is(a.stats.packetsOversized, 1);
  t.is(a.stats.packetSendErrors, 1);
  t.is(a.stats.framesOversized, 1);
});

test('close: the closed side refuses to send, and others find it unreachable; the address can be reused', async (t) => {
  const { hub, a, b, packets } = pair();
  const inFlight = a.sendFrame(b.localAddr, bytes(1));
  await b.close();
  await t.throwsAsync(inFlight, { code: 'ERR_UNREACHABLE' });
  await t.throwsAsync(b.sendFrame(a.localAddr, bytes(1)), { code: 'ERR_TRANSPORT_CLOSED' });
  b.sendPacket(a.localAddr, bytes(1));
  t.is(b.stats.packetSendErrors, 1);
  await t.throwsAsync(a.sendFrame(b.localAddr, bytes(2)), { code: 'ERR_UNREACHABLE' });
  t.throws(() => hub.transport(a.localAddr), { code: 'ERR_BIND_FAILED' });
  const b2 = hub.transport(b.localAddr);
  const got: number[] = [];
  b2.onFrame((_f, d) => got.push(d[0]));
  await a.sendFrame(b2.localAddr, bytes(3));
  t.deepEqual(got, [3]);
  t.deepEqual(packets, []);
});

test('abort: an aborted signal rejects ERR_ABORTED and the frame is not delivered', async (t) => {
  const { a, b, frames } = pair();
  const already = new AbortController();
  already.abort();
  await t.throwsAsync(a.sendFrame(b.localAddr, bytes(1), { signal: already.signal }), { code: 'ERR_ABORTED' });
  const ctl = new AbortController();
  const p = a.sendFrame(b.localAddr, bytes(2), { signal: ctl.signal });
  ctl.abort();
  await t.throwsAsync(p, { code: 'ERR_ABORTED' });
  await a.sendFrame(b.localAddr, bytes(3));
  t.deepEqual(frames.map(([, d]) => d[0]), [3]);
});

test('a throwing handler is counted and does not break delivery', async (t) => {
  const { a, b, frames } = pair();
  let calls = 0;
  b.onFrame(() => {
    calls++;
    if (calls === 1) throw new Error('bug above');
    frames.push(['', []]);
  });
  await a.sendFrame(b.localAddr, bytes(1));
  await a.sendFrame(b.localAddr, bytes(2));
  t.is(b.stats.handlerErrors, 1);
  t.is(frames.length, 1);
});

test('in-flight messages per destination are bounded', async (t) => {
  const { hub, a, b, packets } = pair({ inFlightMaxPerAddr: 10 });
  for (let i = 0; i < 15; i++) a.sendPacket(b.localAddr, bytes(i));
  await t.throwsAsync(a.sendFrame(b.localAddr, bytes(0)), { code: 'ERR_UNREACHABLE' });
  await hub.flush();
  t.is(packets.length, 10);
  t.is(hub.stats.inFlightFull, 6);
});

test('delay(from, to, ms) holds messages for that long, one way, and keeps frame order when removed mid-flight', async (t) => {
  const { hub, a, b, frames, packets } = pair();
  const aGot: number[] = [];
  a.onPacket((_f, d) => aGot.push(d[0]));
  hub.delay(a.localAddr, b.localAddr, 40);
  const startMs = performance.now();
  const first = a.sendFrame(b.localAddr, bytes(0));
  const early = Array.from({ length: 4 }, (_, i) => a.sendFrame(b.localAddr, bytes(i + 1)));
  a.sendPacket(b.localAddr, bytes(50));
  b.sendPacket(a.localAddr, bytes(60));
  await new Promise<void>((resolve) => a.onPacket((_f, d) => (aGot.push(d[0]), resolve())));
  t.deepEqual(frames, [], 'the reverse direction is not delayed, the forward one is');
  hub.delay(a.localAddr, b.localAddr, 0);
  const late = Array.from({ length: 5 }, (_, i) => a.sendFrame(b.localAddr, bytes(i + 5)));
  await first;
  t.true(performance.now() - startMs >= 39, `held for ${performance.now() - startMs} ms`);
  await Promise.all([...early, ...late]);
  t.deepEqual(frames.map(([, d]) => d[0]), [...Array(10).keys()], 'no overtaking after the delay is removed');
  await hub.flush();
  t.deepEqual(packets.map(([, d]) => d[0]), [50]);
  t.deepEqual(aGot, [60]);
});

test('flush waits for delayed messages; recover clears delays', async (t) => {
  const { hub, a, b, packets } = pair();
  hub.delay(a.localAddr, b.localAddr, 20);
  a.sendPacket(b.localAddr, bytes(1));
  await hub.flush();
  t.is(packets.length, 1);
  hub.recover();
  a.sendPacket(b.localAddr, bytes(2));
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(packets.map(([, d]) => d[0]), [1, 2], 'no delay after recover: next turn');
});
