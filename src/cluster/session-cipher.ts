/**
 * Sealing one established stream: AES-256-GCM with a key per
 * direction, derived (HKDF-SHA256) from the cluster key that opened the
 * handshake and both sides' fresh nonces, and a 96-bit nonce that counts
 * records (connection.ts seals all the frames of one write turn as one
 * record), so a record replayed, dropped, reordered or moved to another
 * stream fails authentication and closes the connection. Nothing of the
 * nonce travels: each side counts. 16 bytes of tag per record.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { ErrorCode, ShoalError } from '../util/errors.js';

export const sessionTagBytes = 16;
export const sessionNonceBytes = 16;

export interface SessionKeys {
  /** Seals what the dialer sends. */
  dialerToListener: Buffer;
  /** Seals what the listener sends. */
  listenerToDialer: Buffer;
}

export function deriveSessionKeys(clusterKey: Uint8Array, label: string, dialerNonce: Uint8Array, listenerNonce: Uint8Array): SessionKeys {
  const salt = Buffer.concat([Buffer.from(dialerNonce), Buffer.from(listenerNonce)]);
  const okm = Buffer.from(hkdfSync('sha256', clusterKey, salt, Buffer.from(`shoal stream v1 ${label}`), 64));
  return { dialerToListener: okm.subarray(0, 32), listenerToDialer: okm.subarray(32, 64) };
}

/** One direction of a stream: seals (or opens) frames in order. */
export class FrameCipher {
  private counter = 0;
  private readonly nonce = Buffer.alloc(12);

  constructor(private readonly key: Buffer) {}

  private nextNonce(): Buffer {
    // 2^53 frames per stream is out of reach; the low 8 bytes count, the high 4 stay zero.
    const n = this.counter++;
    this.nonce.writeUInt32BE(Math.floor(n / 0x100000000), 4);
    this.nonce.writeUInt32BE(n >>> 0, 8);
    return this.nonce;
  }

  seal(plain: Uint8Array): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.key, this.nextNonce(), { authTagLength: sessionTagBytes });
    const body = cipher.update(plain);
    cipher.final();
    return Buffer.concat([body, cipher.getAuthTag()]);
  }

  /** The plaintext, or a ShoalError (ERR_DECRYPT_FAILED) after which the stream must close. */
  open(sealed: Uint8Array): Uint8Array | ShoalError {
    if (sealed.length < sessionTagBytes) return new ShoalError(ErrorCode.DecryptFailed, 'sealed frame shorter than its tag');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, this.nextNonce(), { authTagLength: sessionTagBytes });
      decipher.setAuthTag(sealed.subarray(sealed.length - sessionTagBytes));
      const body = decipher.update(sealed.subarray(0, sealed.length - sessionTagBytes));
      decipher.final();
      return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    } catch {
      return new ShoalError(ErrorCode.DecryptFailed, 'a frame failed authentication (wrong key, tampered, replayed or reordered)');
    }
  }
}
