import test from 'ava';
import * as net from 'node:net';
import { peerLinkDefaults, reconnectDelayMs, resolvePeerLinkLimits, type PeerLinkLimits } from '../../../src/transport/peer-link-config.js';
import { PeerLinks } from '../../../src/transport/peer-links.js';
import { SeededRng } from '../../../src/util/rng.js';

const host = '127.0.0.1';
const utf8 = new TextEncoder();
const text = new TextDecoder('utf-8', { fatal: true });

/** Frames are "ok:<payload>"; anything else is garbage. */
function decode(frame: Uint8Array): string | undefined {
  let s: string;
  try {
    s = text.decode(frame);
  } catch {
    return undefined;
  }
  return s.startsWith('ok:') ? s.slice(3) : undefined;
}

const frame = (s: string): Uint8Array => utf8.encode(`ok:${s}`);

async function until(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

async function node(received: string[], port = 0, limits?: Partial<PeerLinkLimits>, peers: [string, { host: string; port: number }][] = []) {
  return PeerLinks.start<string>({
    listen: { host, port },
    peers,
    decode,
    onMessage: (m) => received.push(m),
    limits,
    rng: new SeededRng(7),
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A raw client that writes the given bytes to a listener and reports when the listener closes it. */
async function rawSend(port: number, bytes: Buffer): Promise<{ closedByPeer: Promise<void> }> {
  const s = net.connect({ host, port });
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.on('error', () => undefined);
  const closedByPeer = new Promise<void>((r) => s.once('close', () => r()));
  s.write(bytes);
  return { closedByPeer };
}

function header(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

test('frames are delivered in order to the peer', async (t) => {
  const gotB: string[] = [];
  const b = await node(gotB);
  const a = await node([], 0, undefined, [['b', b.localAddress]]);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  for (let i = 0; i < 500; i++) t.true(a.send('b', frame(String(i))));
  t.true(await until(() => gotB.length === 500));
  t.deepEqual(gotB, Array.from({ length: 500 }, (_, i) => String(i)));
  t.is(a.stats.framesSent, 500);
  t.is(b.stats.framesReceived, 500);
  t.false(a.send('nobody', frame('x')), 'unknown peer refused');
  t.is(a.stats.framesRefusedUnknownPeer, 1);
});

test('reconnects after the peer restarts; frames queued meanwhile arrive', async (t) => {
  const got1: string[] = [];
  let b = await node(got1);
  const port = b.localAddress.port;
  const a = await node([], 0, { reconnectBaseMs: 5, reconnectMaxMs: 50 }, [['b', { host, port }]]);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  a.send('b', frame('before'));
  t.true(await until(() => got1.length === 1));
  await b.close();
  t.true(await until(() => a.peerState('b') !== 'connected'), 'link notices the peer went away');
  a.send('b', frame('while-down-1'));
  a.send('b', frame('while-down-2'));
  const got2: string[] = [];
  b = await node(got2, port);
  t.true(await until(() => got2.length === 2));
  t.deepEqual(got2, ['while-down-1', 'while-down-2']);
  t.true(a.stats.connects >= 2);
  t.true(a.stats.disconnects >= 1);
});

test('a full send queue drops its oldest frames and counts them', async (t) => {
  const port = await freePort();
  const a = await node([], 0, { sendQueueMaxFrames: 4, reconnectBaseMs: 5, reconnectMaxMs: 20 }, [['b', { host, port }]]);
  t.teardown(() => a.close());
  for (let i = 0; i < 10; i++) a.send('b', frame(String(i)));
  t.is(a.stats.framesDroppedQueueFull, 6);
  t.is(a.queuedFrames('b'), 4);
  const got: string[] = [];
  const b = await node(got, port);
  t.teardown(() => b.close());
  t.true(await until(() => got.length === 4));
  t.deepEqual(got, ['6', '7', '8', '9']);
});

test('a limit given as undefined keeps its default instead of switching its bound off', (t) => {
  const l = resolvePeerLinkLimits({ sendQueueMaxFrames: undefined, sendQueueMaxBytes: undefined, connectTimeoutMs: 5 });
  t.is(l.sendQueueMaxFrames, peerLinkDefaults.sendQueueMaxFrames);
  t.is(l.sendQueueMaxBytes, peerLinkDefaults.sendQueueMaxBytes);
  t.is(l.connectTimeoutMs, 5);
});

test('reconnect backoff grows, is jittered, and stays under its cap', async (t) => {
  const limits = { reconnectBaseMs: 10, reconnectMaxMs: 80 };
  const rng = new SeededRng(1);
  for (let attempt = 0; attempt < 50; attempt++) {
    const d = reconnectDelayMs(attempt, limits, rng);
    const capped = Math.min(80, 10 * 2 ** attempt);
    t.true(d >= capped / 2 && d <= capped, `attempt ${attempt}: ${d} not in [${capped / 2}, ${capped}]`);
  }
  t.true(reconnectDelayMs(1000, limits, rng) <= 80, 'huge attempt counts do not overflow the cap');
  // And a live link to a dead port really waits that way.
  const port = await freePort();
  const a = await node([], 0, { reconnectBaseMs: 4, reconnectMaxMs: 32 }, [['b', { host, port }]]);
  t.teardown(() => a.close());
  t.true(await until(() => a.recentBackoffMs('b').length >= 8));
  const delays = a.recentBackoffMs('b');
  t.true(delays.every((d) => d <= 32), `delays ${delays.join(',')}`);
  t.true(delays.slice(5).every((d) => d >= 16), 'later attempts reach the cap range');
  t.true(a.stats.connectFailures >= 8);
});

test('an oversized frame is refused outbound and closes an inbound connection', async (t) => {
  const got: string[] = [];
  const b = await node(got, 0, { frameMaxBytes: 1024 });
  const a = await node([], 0, { frameMaxBytes: 1024 }, [['b', b.localAddress]]);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  t.false(a.send('b', new Uint8Array(2000)));
  t.is(a.stats.framesRefusedOversized, 1);
  // A raw peer declares 1 MiB: the listener closes it without buffering it.
  const ok = frame('first');
  const raw = await rawSend(b.localAddress.port, Buffer.concat([header(ok.length), ok, header(1 << 20), Buffer.alloc(64)]));
  await raw.closedByPeer;
  t.is(b.stats.inboundOversized, 1);
  t.deepEqual(got, ['first']);
  // The listener still serves well-behaved peers.
  a.send('b', frame('after'));
  t.true(await until(() => got.length === 2));
  t.is(got[1], 'after');
});

test('a garbled frame closes its connection, is counted, and nothing is thrown', async (t) => {
  const got: string[] = [];
  let handlerCalls = 0;
  const b = await PeerLinks.start<string>({
    listen: { host, port: 0 },
    peers: [],
    decode,
    onMessage: (m) => {
      handlerCalls++;
      if (m === 'boom') throw new Error('handler bug');
      got.push(m);
    },
  });
  t.teardown(() => b.close());
  const good = frame('good');
  const boom = frame('boom');
  const junk = Buffer.from([0xff, 0xfe, 0x00, 0x01]);
  const raw = await rawSend(
    b.localAddress.port,
    Buffer.concat([header(good.length), good, header(boom.length), boom, header(junk.length), junk, header(good.length), good]),
  );
  await raw.closedByPeer;
  t.deepEqual(got, ['good'], 'frames after the garbage on that connection are not delivered');
  t.is(handlerCalls, 2);
  t.is(b.stats.handlerErrors, 1);
  t.is(b.stats.inboundGarbled, 1);
});

test('inbound connections past the limit are refused', async (t) => {
  const b = await node([], 0, { inboundConnectionsMax: 2 });
  t.teardown(() => b.close());
  const sockets = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<net.Socket>((r) => {
          const s = net.connect({ host, port: b.localAddress.port }, () => r(s));
          s.on('error', () => undefined);
        }),
    ),
  );
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  t.true(await until(() => b.stats.inboundRefused === 1 && b.stats.inboundAccepted === 2));
  t.is(b.inboundConnections, 2);
});
