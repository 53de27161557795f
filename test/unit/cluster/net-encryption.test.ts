/**
 * Gossip encryption on the cluster transport: datagrams and stream
 * handshakes sealed with the keyring, the key proved without sending it, every
 * frame after a sealed handshake sealed per direction. A member with a wrong
 * key or none gets nothing through and nothing it sends reaches a handler;
 * rotation works while rings overlap; the verify switches move a plain
 * cluster to encryption.
 */
import test from 'ava';
import * as dgram from 'node:dgram';
import { StreamKind } from '../../../src/cluster/kinds.js';
import { encodeHandshake, protocolVersion } from '../../../src/cluster/handshake-codec.js';
import { FrameCipher, deriveSessionKeys } from '../../../src/cluster/session-cipher.js';
import { Keyring, encrypt, generateKey } from '../../../src/wire/crypto.js';
import { isShoalError } from '../../../src/util/errors.js';
import { bytes, eventually, rawConnect, rawFrame, readFirstFrame, socketClosed, startNode, text } from './net-helpers.js';
import { FrameType } from '../../../src/cluster/kinds.js';

const k1 = generateKey();
const k2 = generateKey();

function echo(node: Awaited<ReturnType<typeof startNode>>, got: string[]): void {
  node.handle(StreamKind.Control, {
    message: (peer, p) => got.push(`${peer.name}:${text(p)}`),
    request: async (peer, p) => bytes(`${peer.name} said ${text(p)}`),
  });
  node.onPacket((_from, p) => got.push(`udp:${text(p)}`));
}

test('with one key: streams and datagrams flow, and the datagram on the wire is not the plaintext', async (t) => {
  const a = await startNode(t, { name: 'a', security: { keyring: new Keyring(k1) } });
  const b = await startNode(t, { name: 'b', security: { keyring: new Keyring(k1) } });
  const got: string[] = [];
  echo(b, got);
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('hello'), { timeoutMs: 2000 })), 'a said hello');
  a.sendPacket(b.localAddr, bytes('secret-datagram'));
  t.true(await eventually(() => got.includes('udp:secret-datagram')));
  // A plain listener on another port sees only ciphertext from a.
  const spy = dgram.createSocket('udp4');
  await new Promise<void>((r) => spy.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => spy.close());
  const seen: Buffer[] = [];
  spy.on('message', (m) => seen.push(m));
  a.sendPacket(`127.0.0.1:${spy.address().port}`, bytes('secret-datagram'));
  t.true(await eventually(() => seen.length === 1));
  t.false(seen[0]!.includes(Buffer.from('secret-datagram')), 'sealed on the wire');
});

test('a member with a wrong key or none gets nothing through: refused, counted, no handler called', async (t) => {
  const b = await startNode(t, { name: 'b', security: { keyring: new Keyring(k1) } });
  const got: string[] = [];
  echo(b, got);
  const wrong = await startNode(t, { name: 'w', security: { keyring: new Keyring(k2) } });
  const none = await startNode(t, { name: 'n' });
  const e1 = await t.throwsAsync(wrong.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 2000 }));
  t.regex(String(e1), /keyring/);
  t.is(b.stats.refusedInbound.key, 1);
  const e2 = await t.throwsAsync(none.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 2000 }));
  t.regex(String(e2), /requires an encrypted handshake/);
  t.is(b.stats.refusedInbound.plain, 1);
  wrong.sendPacket(b.localAddr, bytes('forged'));
  none.sendPacket(b.localAddr, bytes('forged'));
  t.true(await eventually(() => b.stats.packetsRefused.key === 1 && b.stats.packetsRefused.plain === 1));
  t.deepEqual(got, [], 'nothing reached a handler');
  // And b's own traffic to them is unreadable to them.
  const gotW: string[] = [];
  echo(wrong, gotW);
  b.sendPacket(wrong.localAddr, bytes('to-w'));
  t.true(await eventually(() => wrong.stats.packetsRefused.key === 1));
  t.deepEqual(gotW, []);
});

test('two clusters with one key but different labels stay apart', async (t) => {
  const a = await startNode(t, { name: 'a', clusterLabel: 'blue', security: { keyring: new Keyring(k1) } });
  const b = await startNode(t, { name: 'b', clusterLabel: 'green', security: { keyring: new Keyring(k1) } });
  const got: string[] = [];
  echo(b, got);
  await t.throwsAsync(a.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 2000 }));
  a.sendPacket(b.localAddr, bytes('x'));
  t.true(await eventually(() => b.stats.packetsRefused.key === 1), 'the label is authenticated data: the packet does not open');
  t.deepEqual(got, []);
});

test('rotation: rings that overlap interoperate; a member that lacks the new primary is refused until it installs it', async (t) => {
  const a = await startNode(t, { name: 'a', security: { keyring: new Keyring(k1) } });
  const b = await startNode(t, { name: 'b', security: { keyring: new Keyring(k2, [k1]) } });
  const gotA: string[] = [];
  const gotB: string[] = [];
  echo(a, gotA);
  echo(b, gotB);
  // a seals with k1, which b still accepts; b answers with the key a used.
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('1'), { timeoutMs: 2000 })), 'a said 1');
  // b seals with its primary k2, which a does not have.
  await t.throwsAsync(b.request(a.localAddr, StreamKind.Control, bytes('2'), { timeoutMs: 2000 }));
  a.security.keyring!.install(k2);
  // b's dialer backs off after the refusal; it gets through once it dials again.
  let answer = '';
  const deadline = Date.now() + 5_000;
  while (answer === '' && Date.now() < deadline) {
    answer = await b.request(a.localAddr, StreamKind.Control, bytes('3'), { timeoutMs: 2000 }).then(text, () => '');
    if (answer === '') await new Promise((r) => setTimeout(r, 50));
  }
  t.is(answer, 'b said 3');
});

test('migration: keys installed with both switches off, then outgoing, then incoming, with traffic flowing at every step', async (t) => {
  const a = await startNode(t, { name: 'a', security: { keyring: new Keyring(k1), verifyIncoming: false, verifyOutgoing: false } });
  const b = await startNode(t, { name: 'b' });
  const got: string[] = [];
  echo(a, got);
  echo(b, got);
  // Step 0: a holds the key but speaks and accepts plain: it talks with plain b.
  t.is(text(await b.request(a.localAddr, StreamKind.Control, bytes('p'), { timeoutMs: 2000 })), 'b said p');
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('q'), { timeoutMs: 2000 })), 'a said q');
  // Step 1: b gets the key too, switches off. Step 2: outgoing on for both.
  const b2 = await startNode(t, { name: 'b2', security: { keyring: new Keyring(k1), verifyIncoming: false, verifyOutgoing: true } });
  echo(b2, got);
  a.security.verifyOutgoing = true;
  const plainOnly = await startNode(t, { name: 'plain' });
  t.is(text(await b2.request(a.localAddr, StreamKind.Control, bytes('s'), { timeoutMs: 2000 })), 'b2 said s', 'sealed in, accepted');
  t.is(text(await plainOnly.request(a.localAddr, StreamKind.Control, bytes('t'), { timeoutMs: 2000 })), 'plain said t', 'plain still accepted while incoming is off');
  // Step 3: incoming on: plain is refused from now on.
  a.security.verifyIncoming = true;
  const late = await startNode(t, { name: 'late' });
  const e = await t.throwsAsync(late.request(a.localAddr, StreamKind.Control, bytes('u'), { timeoutMs: 2000 }));
  t.true(isShoalError(e), String(e));
  t.is(a.stats.refusedInbound.plain, 1);
  late.sendPacket(a.localAddr, bytes('plain-datagram'));
  t.true(await eventually(() => a.stats.packetsRefused.plain === 1));
});

test('frame ciphers: a tampered, replayed or reordered frame fails; both directions use different keys', (t) => {
  const keys = deriveSessionKeys(k1, 'lbl', new Uint8Array(16).fill(1), new Uint8Array(16).fill(2));
  t.notDeepEqual(keys.dialerToListener, keys.listenerToDialer);
  const tx = new FrameCipher(keys.dialerToListener);
  const rx = new FrameCipher(keys.dialerToListener);
  const f1 = tx.seal(bytes('one'));
  const f2 = tx.seal(bytes('two'));
  t.is(text(rx.open(f1) as Uint8Array), 'one');
  t.true(isShoalError(new FrameCipher(keys.dialerToListener).open(f2)), 'out of order: wrong nonce');
  const tampered = Buffer.from(f2);
  tampered[0] ^= 1;
  t.true(isShoalError(rx.open(tampered)), 'tampered');
  const rx2 = new FrameCipher(keys.dialerToListener);
  rx2.open(f1);
  t.true(isShoalError(rx2.open(f1)), 'replayed');
  t.true(isShoalError(new FrameCipher(keys.listenerToDialer).open(f1)), 'the other direction');
});

test('a replayed sealed hello opens nothing: the replayer cannot seal a frame the listener accepts', async (t) => {
  const b = await startNode(t, { name: 'b', security: { keyring: new Keyring(k1) } });
  const got: string[] = [];
  echo(b, got);
  // A hello as a member holding k1 would send it (captured off the wire).
  const hello = encodeHandshake({ version: protocolVersion, identity: { clusterLabel: '', clusterId: '', name: 'a', nodeId: 'a-id', addr: '127.0.0.1:1' }, refuseReason: '', refuseMessage: '', nonce: new Uint8Array(16).fill(7) });
  const sealed = Buffer.from(encrypt(new Keyring(k1), '', hello));
  const socket = await rawConnect(b.localAddr);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(sealed.length, 0);
  socket.write(Buffer.concat([prefix, sealed]));
  const answer = await readFirstFrame(socket).catch((e: unknown) => e);
  t.truthy(answer, 'the listener answered (sealed: unreadable without the key)');
  // Without the session key, any frame is garbage to b: the connection closes, nothing is delivered.
  socket.write(rawFrame(FrameType.Message, StreamKind.Control, 0, bytes('injected')));
  await socketClosed(socket);
  t.is(b.stats.framesUnauthenticated, 1);
  t.deepEqual(got, []);
});
