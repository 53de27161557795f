/**
 * What a Normal Raft entry of the control plane holds: the store command and
 * a tag naming the request that proposed it, so the member that proposed it
 * (whichever replica it is: followers forward proposals to the leader) can
 * answer its client when it applies the entry.
 *
 * Layout: [version u8][tag length u16 BE][tag utf-8][encoded store command].
 * The tag is `origin \0 incarnation \0 requestId`: the incarnation is random
 * per process, so a restarted member never mistakes an old entry of its log
 * for the answer to a new request with a reused id.
 */

const envelopeVersion = 1;
/** Longest tag: member name + incarnation + request id, each short. */
export const entryTagBytesMax = 1024;
const headerBytes = 3;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface RequestTag {
  origin: string;
  incarnation: string;
  requestId: string;
}

export function formatTag(t: RequestTag): string {
  return `${t.origin}\u0000${t.incarnation}\u0000${t.requestId}`;
}

export function parseTag(s: string): RequestTag | undefined {
  const parts = s.split('\u0000');
  if (parts.length < 3) return undefined;
  return { origin: parts[0], incarnation: parts[1], requestId: parts.slice(2).join('\u0000') };
}

/** Undefined if the tag is too long (the caller refuses the request). */
export function encodeEnvelope(tag: string, command: Uint8Array): Uint8Array | undefined {
  const t = encoder.encode(tag);
  if (t.length > entryTagBytesMax) return undefined;
  const out = new Uint8Array(headerBytes + t.length + command.length);
  out[0] = envelopeVersion;
  out[1] = t.length >>> 8;
  out[2] = t.length & 0xff;
  out.set(t, headerBytes);
  out.set(command, headerBytes + t.length);
  return out;
}

export type DecodedEnvelope = { ok: true; tag: string; command: Uint8Array } | { ok: false; reason: string };

/** Bounded, never throws. */
export function decodeEnvelope(data: Uint8Array): DecodedEnvelope {
  if (data.length < headerBytes || data[0] !== envelopeVersion) return { ok: false, reason: 'bad envelope header' };
  const tagBytes = (data[1] << 8) | data[2];
  if (tagBytes > entryTagBytesMax || headerBytes + tagBytes > data.length) return { ok: false, reason: 'bad envelope tag length' };
  let tag: string;
  try {
    tag = decoder.decode(data.subarray(headerBytes, headerBytes + tagBytes));
  } catch {
    return { ok: false, reason: 'envelope tag is not utf-8' };
  }
  return { ok: true, tag, command: data.subarray(headerBytes + tagBytes) };
}

export function tagBytes(tag: string): Uint8Array {
  return encoder.encode(tag);
}

export function tagOf(context: Uint8Array): string | undefined {
  try {
    return decoder.decode(context);
  } catch {
    return undefined;
  }
}
