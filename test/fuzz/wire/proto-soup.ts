import fc from 'fast-check';
import { Buffer } from 'node:buffer';

/** Structurally valid protobuf with random fields, for fuzzing decoders past their first checks. */

export function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

type Field = { field: number; wire: 0 | 1 | 2 | 5; value: number | number[] };

const leafArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.uint8Array({ maxLength: 12 }).map((b) => [...b]),
  fc.string({ maxLength: 12 }).map((s) => [...Buffer.from(s)]),
);

/**
 * A random message body: fields 1..maxField of every supported wire type,
 * length-delimited values being bytes, strings or nested random messages.
 */
export const protoBodyArb = (maxField: number): fc.Arbitrary<number[]> =>
  fc.letrec<{ body: number[]; field: Field }>((tie) => ({
  body: fc.array(tie('field'), { maxLength: 6 }).map((fields) => fields.flatMap(encodeField)),
  field: fc.oneof(
    { weight: 3, arbitrary: fc.record({ field: fc.integer({ min: 1, max: maxField }), wire: fc.constant(0 as const), value: fc.oneof(fc.nat(9), fc.maxSafeNat()) }) },
    { weight: 1, arbitrary: fc.record({ field: fc.integer({ min: 1, max: maxField }), wire: fc.constantFrom(1 as const, 5 as const), value: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ field: fc.integer({ min: 1, max: maxField }), wire: fc.constant(2 as const), value: leafArb }) },
    { weight: 2, arbitrary: fc.record({ field: fc.integer({ min: 1, max: maxField }), wire: fc.constant(2 as const), value: tie('body') as fc.Arbitrary<number[]> }) },
  ),
})).body;

function encodeField(f: Field): number[] {
  const tagBytes = varint(f.field * 8 + f.wire);
  if (f.wire === 0) return [...tagBytes, ...varint(f.value as number)];
  if (f.wire === 1) return [...tagBytes, 1, 2, 3, 4, 5, 6, 7, 8];
  if (f.wire === 5) return [...tagBytes, 1, 2, 3, 4];
  const v = f.value as number[];
  return [...tagBytes, ...varint(v.length), ...v];
}

