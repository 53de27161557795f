/**
 * The handshake: the first frame each way on every cluster-transport TCP
 * connection. The dialer sends its identity; the listener answers with its
 * own, or with a refusal and the reason. Body: 4 magic bytes "SHL\x01", then
 * a protobuf `Handshake` (cluster.proto). Bounded: the whole body is at most
 * handshakeBytesMax, each string at most identityFieldBytesMax.
 */
import { DecodeFail, EMPTY_BYTES, ProtoSource, toDecodeError } from '../wire/pb-read.js';
import { bytesFieldSize, ProtoSink, stringFieldSize, tag, utf8Length, varintFieldSize, WireType } from '../wire/pb-write.js';
import { DecodeDropReason } from '../wire/limits.js';
import type { ShoalError } from '../util/errors.js';
import type { NodeIdentity } from './identity.js';
import { RefuseReason } from './kinds.js';

/** "SHL" and the handshake format version: a stranger speaking anything else is dropped at once. */
export const handshakeMagic = Uint8Array.of(0x53, 0x48, 0x4c, 0x01);
/** The cluster transport's protocol version; a peer with another major version is refused. */
export const protocolVersion = 1;
/** A handshake is a few short strings; 4 KiB leaves room for later fields. */
export const handshakeBytesMax = 4096;
/** Names, ids, labels and addresses: 256 bytes each is generous (names are at most 128). */
export const identityFieldBytesMax = 256;
/** A refusal's message quotes a few identity fields: 1 KiB. The encoder cuts to it, the decoder refuses more. */
export const refuseMessageBytesMax = 1024;

export interface Handshake {
  version: number;
  identity: NodeIdentity;
  /** Set in a listener's refusal; the identity fields then describe the refuser. */
  refuseReason: RefuseReason | '';
  refuseMessage: string;
  /** Fresh random bytes of this side (16): with a key, both sides' nonces make the stream's session keys. Empty without a key. */
  nonce: Uint8Array;
}

const F = {
  version: tag(1, WireType.Varint),
  label: tag(2, WireType.Len),
  clusterId: tag(3, WireType.Len),
  name: tag(4, WireType.Len),
  nodeId: tag(5, WireType.Len),
  addr: tag(6, WireType.Len),
  refuseReason: tag(7, WireType.Len),
  refuseMessage: tag(8, WireType.Len),
  nonce: tag(9, WireType.Len),
} as const;

/** The nonce each side sends with a key: 128 random bits. */
export const handshakeNonceBytes = 16;
/** A handshake nonce is 16 bytes; 64 leaves room and bounds the decoder. */
export const nonceBytesMax = 64;

const refuseReasons: ReadonlySet<string> = new Set(Object.values(RefuseReason));

export function encodeHandshake(h: Handshake): Uint8Array {
  const id = h.identity;
  const message = truncateUtf8(h.refuseMessage, refuseMessageBytesMax);
  const size =
    handshakeMagic.length +
    varintFieldSize(h.version) +
    stringFieldSize(id.clusterLabel) +
    stringFieldSize(id.clusterId) +
    stringFieldSize(id.name) +
    stringFieldSize(id.nodeId) +
    stringFieldSize(id.addr) +
    stringFieldSize(h.refuseReason) +
    stringFieldSize(message) +
    bytesFieldSize(h.nonce);
  const sink = new ProtoSink(size);
  for (const b of handshakeMagic) sink.byte(b);
  sink.varintField(F.version, h.version);
  sink.stringField(F.label, id.clusterLabel);
  sink.stringField(F.clusterId, id.clusterId);
  sink.stringField(F.name, id.name);
  sink.stringField(F.nodeId, id.nodeId);
  sink.stringField(F.addr, id.addr);
  sink.stringField(F.refuseReason, h.refuseReason);
  sink.stringField(F.refuseMessage, message);
  sink.bytesField(F.nonce, h.nonce);
  return sink.finish();
}

/** The longest prefix of `s` of at most `bytesMax` UTF-8 bytes that does not split a code point. */
function truncateUtf8(s: string, bytesMax: number): string {
  if (utf8Length(s) <= bytesMax) return s;
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    bytes += utf8Length(ch);
    if (bytes > bytesMax) break;
    end += ch.length;
  }
  return s.slice(0, end);
}

export type HandshakeDecodeResult = { ok: true; handshake: Handshake } | { ok: false; error: ShoalError };

/** Never throws: anything but a well-formed, bounded handshake is an error result. */
export function decodeHandshake(buf: Uint8Array): HandshakeDecodeResult {
  try {
    if (buf.length > handshakeBytesMax) throw new DecodeFail(DecodeDropReason.LimitExceeded, `handshake of ${buf.length} bytes`);
    for (let i = 0; i < handshakeMagic.length; i++) {
      if (buf[i] !== handshakeMagic[i]) throw new DecodeFail(DecodeDropReason.Malformed, 'not a shoal handshake');
    }
    const src = new ProtoSource(buf, handshakeMagic.length);
    const end = buf.length;
    const h: Handshake = {
      version: 0,
      identity: { clusterLabel: '', clusterId: '', name: '', nodeId: '', addr: '' },
      refuseReason: '',
      refuseMessage: '',
      nonce: EMPTY_BYTES,
    };
    const str = (what: string, max = identityFieldBytesMax): string => src.string(end, max, what);
    while (src.pos < end) {
      const t = src.tag(end);
      switch (t) {
        case F.version:
          h.version = src.varint(end);
          break;
        case F.label:
          h.identity.clusterLabel = str('cluster label');
          break;
        case F.clusterId:
          h.identity.clusterId = str('cluster id');
          break;
        case F.name:
          h.identity.name = str('name');
          break;
        case F.nodeId:
          h.identity.nodeId = str('node id');
          break;
        case F.addr:
          h.identity.addr = str('addr');
          break;
        case F.refuseReason: {
          const r = str('refuse reason');
          h.refuseReason = refuseReasons.has(r) ? (r as RefuseReason) : RefuseReason.BadHello;
          break;
        }
        case F.refuseMessage:
          h.refuseMessage = str('refuse message', refuseMessageBytesMax);
          break;
        case F.nonce:
          h.nonce = src.bytes(end, nonceBytesMax, 'nonce');
          break;
        default:
          src.skip(t, end);
      }
    }
    if (h.identity.name === '' || h.identity.nodeId === '') throw new DecodeFail(DecodeDropReason.Malformed, 'handshake without name or node id');
    return { ok: true, handshake: h };
  } catch (e) {
    return { ok: false, error: toDecodeError(e, 'handshake') };
  }
}
