/**
 * What the cluster transport needs to keep strangers out, with a key:
 *  - every UDP packet sealed with AES-256-GCM under the keyring's primary key
 *    (src/wire/crypto.ts), the cluster label as additional data;
 *  - every TCP stream opened by a sealed handshake: a dialer that can seal
 *    its hello, and a listener that can open it and seal its answer, have
 *    proved they hold a key of the ring without sending it; both hellos carry
 *    fresh nonces, and every frame after them is sealed with per-direction
 *    session keys derived from the key and both nonces (session-cipher.ts),
 *    so a replayed hello opens nothing.
 * The verify switches are memberlist's GossipVerifyIncoming/Outgoing, for
 * moving a running plain cluster to encryption without downtime: install the
 * key everywhere with both off (plain out, both accepted in), then turn
 * outgoing on everywhere, then incoming.
 */
import { decrypt, encrypt, encryptionOverheadBytes, type Keyring } from '../wire/crypto.js';
import { WireKind } from '../wire/kind.js';

export interface SecurityOptions {
  keyring?: Keyring;
  /** Refuse plain packets and handshakes (default true when there is a keyring). */
  verifyIncoming?: boolean;
  /** Seal what this member sends (default true when there is a keyring). */
  verifyOutgoing?: boolean;
}

export type OpenResult = { ok: true; plain: Uint8Array; sealed: boolean; keyIndex: number } | { ok: false; reason: 'plain-refused' | 'no-keyring' | 'decrypt-failed' };

export class ClusterSecurity {
  keyring: Keyring | undefined;
  verifyIncoming: boolean;
  verifyOutgoing: boolean;

  constructor(
    private readonly label: string,
    options: SecurityOptions = {},
  ) {
    this.keyring = options.keyring;
    this.verifyIncoming = options.keyring !== undefined && (options.verifyIncoming ?? true);
    this.verifyOutgoing = options.keyring !== undefined && (options.verifyOutgoing ?? true);
  }

  get enabled(): boolean {
    return this.keyring !== undefined;
  }

  /** Bytes sealing adds to a packet: the gossip packer leaves room for it whenever a keyring exists. */
  get packetOverheadBytes(): number {
    return this.keyring === undefined ? 0 : encryptionOverheadBytes;
  }

  /** Seal an outgoing datagram (or hello) when outgoing verification is on. */
  seal(plain: Uint8Array): Uint8Array {
    if (this.keyring === undefined || !this.verifyOutgoing) return plain;
    return encrypt(this.keyring, this.label, plain);
  }

  /** Open an incoming datagram (or hello): sealed ones must authenticate; plain ones pass only while incoming verification is off. */
  open(data: Uint8Array): OpenResult {
    if (data.length > 0 && data[0] === WireKind.Encrypted) {
      if (this.keyring === undefined) return { ok: false, reason: 'no-keyring' };
      const r = decrypt(this.keyring, this.label, data);
      return r.ok ? { ok: true, plain: r.plain, sealed: true, keyIndex: r.keyIndex } : { ok: false, reason: 'decrypt-failed' };
    }
    if (this.keyring !== undefined && this.verifyIncoming) return { ok: false, reason: 'plain-refused' };
    return { ok: true, plain: data, sealed: false, keyIndex: -1 };
  }
}
