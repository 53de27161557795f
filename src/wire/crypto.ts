import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { WireKind } from './kind.js';

/**
 * Gossip encryption: AES-256-GCM with a keyring, as memberlist's keyring.
 *  - The primary key encrypts; every key in the ring is tried for decryption,
 *    so a key can be rotated without downtime: install the new key on every
 *    member, then use() it as primary everywhere, then remove() the old one.
 *  - The cluster label is additional authenticated data: a packet from a
 *    cluster with another label (or none) fails authentication, so clusters
 *    sharing a key still stay apart. The label is not sent.
 *
 * Layout: WireKind.Encrypted (1) | version (1) | nonce (12) | ciphertext | GCM tag (16).
 * AAD: the first two bytes, then the label's UTF-8 bytes.
 * Nonces are random (96 bits, as memberlist): rotate keys well before 2^32
 * packets under one key across the whole cluster.
 */

/** ONLY APPEND. The format version after the WireKind byte. */
export const EncryptionVersion = { AesGcmV1: 1 } as const;

export const keyBytes = 32;
const nonceBytes = 12;
const tagBytes = 16;
const headerBytes = 2;

/** Bytes encryption adds to a packet: packers must fill to PACKET_MAX_BYTES minus this. */
export const encryptionOverheadBytes = headerBytes + nonceBytes + tagBytes;

/** A cluster label's longest UTF-8 encoding (memberlist's limit). */
export const labelMaxBytes = 255;
/** Keys one keyring holds: the primary and the ones being rotated in or out. */
export const keyringKeysMax = 16;

function checkKey(key: Uint8Array): Buffer {
  if (key.length !== keyBytes) {
    throw new ShoalError(ErrorCode.InvalidConfig, `encryption key must be ${keyBytes} bytes (AES-256), got ${key.length}`);
  }
  return Buffer.from(key); // a private copy: the caller may reuse its array
}

/** The primary key (encrypts) and the other keys accepted for decryption. */
export class Keyring {
  /** keys[0] is the primary. */
  private ring: Buffer[];

  constructor(primary: Uint8Array, others: readonly Uint8Array[] = []) {
    this.ring = [checkKey(primary)];
    for (const k of others) this.install(k);
  }

  get primaryKey(): Uint8Array {
    return Uint8Array.from(this.ring[0]);
  }

  /** Copies of all keys, primary first. */
  get keys(): Uint8Array[] {
    return this.ring.map((k) => Uint8Array.from(k));
  }

  /** @internal Keys in decryption order (primary first). */
  decryptKeys(): readonly Buffer[] {
    return this.ring;
  }

  private indexOf(key: Uint8Array): number {
    return this.ring.findIndex((k) => k.length === key.length && timingSafeEqual(k, key));
  }

  /** Accept `key` for decryption (no-op if present). */
  install(key: Uint8Array): void {
    const k = checkKey(key);
    if (this.indexOf(k) >= 0) return;
    if (this.ring.length >= keyringKeysMax) {
      throw new ShoalError(ErrorCode.InvalidArgument, `keyring holds at most ${keyringKeysMax} keys; remove one first`);
    }
    this.ring.push(k);
  }

  /** Encrypt with `key` from now on; it must be installed. The old primary stays for decryption. */
  use(key: Uint8Array): void {
    const i = this.indexOf(checkKey(key));
    if (i < 0) throw new ShoalError(ErrorCode.InvalidArgument, 'key is not installed in the keyring');
    const [k] = this.ring.splice(i, 1);
    this.ring.unshift(k);
  }

  /** Stop accepting `key`. The primary key cannot be removed (use() another first). */
  remove(key: Uint8Array): void {
    const i = this.indexOf(checkKey(key));
    if (i === 0) throw new ShoalError(ErrorCode.InvalidArgument, 'cannot remove the primary key');
    if (i > 0) this.ring.splice(i, 1);
  }
}

/** A new random key. */
export function generateKey(): Uint8Array {
  return new Uint8Array(randomBytes(keyBytes));
}

/** A key from its base64 text (config files, `shoal keygen` output). */
export function parseKey(base64: string): Uint8Array {
  const k = Buffer.from(base64, 'base64');
  if (k.length !== keyBytes || k.toString('base64') !== base64.trim()) {
    throw new ShoalError(ErrorCode.InvalidConfig, `encryption key must be ${keyBytes} bytes in base64`);
  }
  return new Uint8Array(k);
}

export function formatKey(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}

/** Check a cluster label (config validation). */
export function validateLabel(label: string): void {
  if (Buffer.byteLength(label, 'utf8') > labelMaxBytes) {
    throw new ShoalError(ErrorCode.InvalidConfig, `cluster label must be at most ${labelMaxBytes} bytes`);
  }
}

function aad(header: Uint8Array, label: string): Buffer {
  return Buffer.concat([header, Buffer.from(label, 'utf8')]);
}

/**
 * Encrypt a packet or frame (which starts with its own WireKind byte) with the
 * primary key, or with the key at `keyIndex` (a handshake answers with the
 * key its peer used).
 */
export function encrypt(keyring: Keyring, label: string, plain: Uint8Array, keyIndex = 0): Uint8Array {
  validateLabel(label);
  const out = Buffer.allocUnsafe(encryptionOverheadBytes + plain.length);
  out[0] = WireKind.Encrypted;
  out[1] = EncryptionVersion.AesGcmV1;
  const nonce = randomBytes(nonceBytes);
  nonce.copy(out, headerBytes);
  const key = keyring.decryptKeys()[keyIndex];
  if (key === undefined) throw new ShoalError(ErrorCode.InvalidArgument, `no key at index ${keyIndex} in the keyring`);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: tagBytes });
  cipher.setAAD(aad(out.subarray(0, headerBytes), label));
  const body = cipher.update(plain);
  const final = cipher.final();
  body.copy(out, headerBytes + nonceBytes);
  final.copy(out, headerBytes + nonceBytes + body.length);
  cipher.getAuthTag().copy(out, out.length - tagBytes);
  return out;
}

export type DecryptResult = { ok: true; plain: Uint8Array; keyIndex: number } | { ok: false; error: ShoalError };

function fail(reason: string, message: string): DecryptResult {
  return { ok: false, error: new ShoalError(ErrorCode.DecryptFailed, message, { details: { reason } }) };
}

/**
 * Decrypt with each key of the ring, primary first. Never throws: a packet
 * that is not encrypted, too short, of an unknown version, or that no key
 * authenticates under `label` is { ok: false }. `keyIndex` tells which key
 * worked (0 = primary; others mean a peer has not rotated yet).
 */
export function decrypt(keyring: Keyring, label: string, packet: Uint8Array): DecryptResult {
  try {
    if (packet.length < encryptionOverheadBytes) return fail('too-short', `encrypted packet of ${packet.length} bytes is too short`);
    if (packet[0] !== WireKind.Encrypted) return fail('bad-kind', 'not an encrypted packet');
    if (packet[1] !== EncryptionVersion.AesGcmV1) return fail('bad-version', `unknown encryption version ${packet[1]}`);
    const header = packet.subarray(0, headerBytes);
    const nonce = packet.subarray(headerBytes, headerBytes + nonceBytes);
    const body = packet.subarray(headerBytes + nonceBytes, packet.length - tagBytes);
    const tag = packet.subarray(packet.length - tagBytes);
    const additional = aad(header, label);
    const keys = keyring.decryptKeys();
    for (let i = 0; i < keys.length; i++) {
      const decipher = createDecipheriv('aes-256-gcm', keys[i], nonce, { authTagLength: tagBytes });
      decipher.setAAD(additional);
      decipher.setAuthTag(tag);
      const plain = decipher.update(body);
      try {
        const final = decipher.final();
        return { ok: true, plain: new Uint8Array(final.length === 0 ? plain : Buffer.concat([plain, final])), keyIndex: i };
      } catch {
        // Authentication failed with this key: try the next.
      }
    }
    return fail('no-key', 'no key in the keyring authenticates the packet (wrong key or label, or tampered)');
  } catch (e) {
    return { ok: false, error: new ShoalError(ErrorCode.DecryptFailed, 'decryption failed', { cause: e, details: { reason: 'malformed' } }) };
  }
}
