import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { MessageType, type GossipMessage } from '../../../src/gossip/messages.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import {
  Keyring,
  decrypt,
  encrypt,
  encryptionOverheadBytes,
  formatKey,
  generateKey,
  keyringKeysMax,
  labelMaxBytes,
  parseKey,
  type DecryptResult,
} from '../../../src/wire/crypto.js';
import { PACKET_MAX_BYTES, compoundOverheadBytes, decodePacket, encodePacket, packMessages } from '../../../src/wire/gossip-codec.js';
import { WireKind } from '../../../src/wire/kind.js';

const key = (b: number) => new Uint8Array(32).fill(b);
const plain = Uint8Array.of(WireKind.GossipPacket, 1, 2, 3, 4, 5);

function expectFail(t: ExecutionContext, r: DecryptResult, reason?: string): void {
  t.false(r.ok);
  if (r.ok) return;
  t.true(r.error instanceof ShoalError);
  t.is(r.error.code, ErrorCode.DecryptFailed);
  if (reason !== undefined) t.is(r.error.details?.reason, reason);
}

test('encrypt/decrypt round-trip with exactly encryptionOverheadBytes added', (t) => {
  const ring = new Keyring(key(1));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.string({ maxLength: 20 }), (p, label) => {
      const c = encrypt(ring, label, p);
      t.is(c.length, p.length + encryptionOverheadBytes);
      t.is(c[0], WireKind.Encrypted);
      t.deepEqual(decrypt(ring, label, c), { ok: true, plain: p, keyIndex: 0 });
    }),
    { numRuns: 300 },
  );
});

test('nonces differ: the same plaintext never encrypts to the same bytes', (t) => {
  const ring = new Keyring(key(1));
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(Buffer.from(encrypt(ring, 'c', plain)).toString('hex'));
  t.is(seen.size, 200);
});

test('a wrong key fails authentication', (t) => {
  const c = encrypt(new Keyring(key(1)), 'prod', plain);
  expectFail(t, decrypt(new Keyring(key(2)), 'prod', c), 'no-key');
});

test('a wrong or missing cluster label fails authentication, even with the right key', (t) => {
  const ring = new Keyring(key(1));
  const c = encrypt(ring, 'prod', plain);
  expectFail(t, decrypt(ring, 'staging', c), 'no-key');
  expectFail(t, decrypt(ring, '', c), 'no-key');
  expectFail(t, decrypt(ring, 'prod', encrypt(ring, '', plain)), 'no-key');
  t.true(decrypt(ring, 'prod', c).ok);
});

test('every single-byte tamper and every truncation fails', (t) => {
  const ring = new Keyring(key(1));
  const c = encrypt(ring, 'prod', plain);
  for (let i = 0; i < c.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = Uint8Array.from(c);
      bad[i] ^= bit;
      expectFail(t, decrypt(ring, 'prod', bad));
    }
  }
  for (let len = 0; len < c.length; len++) expectFail(t, decrypt(ring, 'prod', c.subarray(0, len)));
  expectFail(t, decrypt(ring, 'prod', Uint8Array.from([...c, 0])));
});

test('rotation without downtime: install, use, remove', (t) => {
  const k1 = key(1);
  const k2 = key(2);
  const a = new Keyring(k1);
  const b = new Keyring(k1);
  const old = encrypt(a, 'c', plain);
  // 1. install k2 everywhere: nothing changes on the wire yet.
  a.install(k2);
  b.install(k2);
  t.deepEqual(decrypt(b, 'c', encrypt(a, 'c', plain)), { ok: true, plain, keyIndex: 0 });
  // 2. a switches first: b still reads it (with its secondary key), a still reads b.
  a.use(k2);
  t.deepEqual(a.primaryKey, k2);
  t.deepEqual(decrypt(b, 'c', encrypt(a, 'c', plain)), { ok: true, plain, keyIndex: 1 });
  t.deepEqual(decrypt(a, 'c', encrypt(b, 'c', plain)), { ok: true, plain, keyIndex: 1 });
  // 3. b switches, then k1 is removed everywhere.
  b.use(k2);
  a.remove(k1);
  b.remove(k1);
  t.deepEqual(a.keys, [k2]);
  t.deepEqual(decrypt(b, 'c', encrypt(a, 'c', plain)), { ok: true, plain, keyIndex: 0 });
  expectFail(t, decrypt(b, 'c', old), 'no-key');
});

test('keyring refuses bad keys and bad operations with typed errors', (t) => {
  const code = (fn: () => void) => {
    const e = t.throws(fn);
    return e instanceof ShoalError ? e.code : undefined;
  };
  t.is(code(() => new Keyring(new Uint8Array(16))), ErrorCode.InvalidConfig);
  const ring = new Keyring(key(1));
  t.is(code(() => ring.remove(key(1))), ErrorCode.InvalidArgument);
  t.is(code(() => ring.use(key(9))), ErrorCode.InvalidArgument);
  ring.install(key(1)); // already there: no-op
  t.is(ring.keys.length, 1);
  for (let i = 2; i <= keyringKeysMax; i++) ring.install(key(i));
  t.is(code(() => ring.install(key(200))), ErrorCode.InvalidArgument);
  // The keyring keeps its own copies.
  const k = key(7);
  const r2 = new Keyring(k);
  k.fill(0);
  t.deepEqual(r2.primaryKey, key(7));
  t.is(code(() => encrypt(r2, 'x'.repeat(labelMaxBytes + 1), plain)), ErrorCode.InvalidConfig);
});

test('keys round-trip through base64; malformed keys are refused', (t) => {
  const k = generateKey();
  t.is(k.length, 32);
  t.deepEqual(parseKey(formatKey(k)), k);
  t.notDeepEqual(generateKey(), k);
  t.throws(() => parseKey('c2hvcnQ='), { instanceOf: ShoalError });
  t.throws(() => parseKey('not base64 at all!!'), { instanceOf: ShoalError });
});

test('decrypt never throws on random input', (t) => {
  const ring = new Keyring(key(1), [key(2)]);
  fc.assert(
    fc.property(fc.constantFrom(WireKind.Encrypted, 0), fc.constantFrom(1, 2), fc.uint8Array({ maxLength: 100 }), (k, v, rest) => {
      expectFail(t, decrypt(ring, 'c', Uint8Array.from([k, v, ...rest])));
    }),
    { numRuns: 500 },
  );
});

test('an encrypted gossip packet packed to PACKET_MAX_BYTES - overhead fits a datagram', (t) => {
  const ring = new Keyring(key(1));
  const msgs: GossipMessage[] = Array.from({ length: 80 }, (_, i) => ({ type: MessageType.Suspect, incarnation: i, name: `node-${i}`, from: 'node-0' }));
  const packets = packMessages(msgs, PACKET_MAX_BYTES - encryptionOverheadBytes);
  t.true(packets.length > 1);
  for (const p of packets) {
    const c = encrypt(ring, 'prod', encodePacket(p));
    t.true(c.length <= PACKET_MAX_BYTES);
    const d = decrypt(ring, 'prod', c);
    if (!d.ok) return t.fail(d.error.message);
    t.deepEqual(decodePacket(d.plain), { ok: true, msgs: p });
  }
  t.true(compoundOverheadBytes + encryptionOverheadBytes < 64);
});
