import fc from 'fast-check';

/**
 * Hostile inputs for byte decoders: random bytes, and valid encodings mutated
 * the ways corruption and attackers do (bit flips, boundary bytes, runaway
 * varints, truncation, insertion, deletion, duplicated slices, spliced
 * random bytes), up to a few mutations stacked.
 */

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; at: number; len: number }
  | { kind: 'varint'; at: number; bytes: Uint8Array };

/** Bytes that sit on a boundary of some encoding: varint continuation, sign, type codes. */
const boundaryByte = fc.constantFrom(0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x12, 0x7f, 0x80, 0x81, 0xfe, 0xff);

/** A varint or fixed-width run that decodes to something large: 2^48, 2^53, 2^64 - 1, an 11-byte varint, u32 max. */
const bigRun = fc.constantFrom(
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00),
);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(boundaryByte, fc.nat(255)) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 32 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('varint' as const), at: fc.nat(), bytes: bigRun }) },
);

function apply(buf: Uint8Array, m: Mutation): Uint8Array {
  const n = buf.length;
  const at = n === 0 ? 0 : m.at % (n + 1);
  switch (m.kind) {
    case 'flip': {
      if (n === 0) return buf;
      const out = buf.slice();
      out[m.at % n] ^= 1 << m.bit;
      return out;
    }
    case 'set': {
      if (n === 0) return buf;
      const out = buf.slice();
      out[m.at % n] = m.value;
      return out;
    }
    case 'truncate':
      return buf.slice(0, at);
    case 'delete':
      return concat(buf.subarray(0, at), buf.subarray(Math.min(n, at + m.len)));
    case 'insert':
      return concat(buf.subarray(0, at), m.bytes, buf.subarray(at));
    case 'duplicate':
      return concat(buf.subarray(0, at), buf.subarray(at, Math.min(n, at + m.len)), buf.subarray(at));
    case 'varint': {
      // Overwrite in place (keeps later framing), or append past the end.
      const out = buf.slice();
      if (at + m.bytes.length > n) return concat(buf.subarray(0, at), m.bytes);
      out.set(m.bytes, at);
      return out;
    }
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `valid` with 1..4 mutations applied. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  // A private plain copy first: encoders may return a Buffer, whose slice() is a view, not a copy.
  return fc.tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([buf, ms]) => ms.reduce(apply, Uint8Array.from(buf)));
}

/**
 * The input mix of every byte-decoder property: mostly mutated valid
 * encodings (they get past the first checks), some untouched valid ones, and
 * random bytes (optionally after a fixed prefix such as a kind byte or magic).
 */
export function hostileBytes(valid: fc.Arbitrary<Uint8Array>, prefix: Uint8Array = new Uint8Array(0), maxRandomBytes = 256): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 6, arbitrary: mutated(valid) },
    { weight: 1, arbitrary: valid },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: maxRandomBytes }).map((b) => concat(prefix, b)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: maxRandomBytes }) },
  );
}

/**
 * A size measure of a decoded value: string lengths, byte lengths, array
 * lengths and object keys, summed over the whole tree. Decoders are linear:
 * what they return must stay within a constant factor of what they read.
 */
export function decodedSize(v: unknown, depth = 0): number {
  if (depth > 64) throw new Error('decoded value nests deeper than 64');
  if (typeof v === 'string') return v.length;
  if (v instanceof Uint8Array) return v.length;
  if (Array.isArray(v)) {
    let n = v.length;
    for (const x of v) n += decodedSize(x, depth + 1);
    return n;
  }
  if (typeof v === 'object' && v !== null) {
    let n = 0;
    for (const k of Object.keys(v)) n += 1 + k.length + decodedSize((v as Record<string, unknown>)[k], depth + 1);
    return n;
  }
  return 1;
}
