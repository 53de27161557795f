/**
 * Reading untrusted JSON: every accessor checks the type and bound of what it
 * reads and throws JsonReadFail, which the decoders' entry points turn into a
 * result. Nothing here is exported outside the store.
 */
import { Buffer } from 'node:buffer';

export class JsonReadFail extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonReadFail';
  }
}

export type JsonObject = Readonly<Record<string, unknown>>;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes to a JSON value; throws JsonReadFail on bad UTF-8 or bad JSON. */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch {
    throw new JsonReadFail('not UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new JsonReadFail('not JSON');
  }
}

export function obj(v: unknown, what: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new JsonReadFail(`${what}: not an object`);
  return v as JsonObject;
}

export function arr(v: unknown, what: string, maxItems: number): readonly unknown[] {
  if (!Array.isArray(v)) throw new JsonReadFail(`${what}: not an array`);
  if (v.length > maxItems) throw new JsonReadFail(`${what}: ${v.length} items, at most ${maxItems}`);
  return v;
}

export function str(o: JsonObject, field: string, maxLength: number): string {
  const v = o[field];
  if (typeof v !== 'string') throw new JsonReadFail(`${field}: not a string`);
  if (v.length > maxLength) throw new JsonReadFail(`${field}: longer than ${maxLength}`);
  return v;
}

/** A non-negative safe integer. */
export function uint(o: JsonObject, field: string): number {
  return uintValue(o[field], field);
}

export function uintValue(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new JsonReadFail(`${what}: not a non-negative integer`);
  return v;
}

export function optUint(o: JsonObject, field: string): number | undefined {
  return o[field] === undefined ? undefined : uint(o, field);
}

export function bool(o: JsonObject, field: string): boolean {
  const v = o[field];
  if (typeof v !== 'boolean') throw new JsonReadFail(`${field}: not a boolean`);
  return v;
}

export function oneOf<T extends string>(o: JsonObject, field: string, allowed: readonly T[]): T {
  const v = o[field];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new JsonReadFail(`${field}: not one of ${allowed.join('|')}`);
  return v as T;
}

const base64Re = /^[A-Za-z0-9+/]*={0,2}$/;

/** Base64 bytes, bounded by decoded size. */
export function bytes(o: JsonObject, field: string, maxBytes: number): Uint8Array {
  const v = o[field];
  if (typeof v !== 'string') throw new JsonReadFail(`${field}: not base64`);
  if (v.length > Math.ceil(maxBytes / 3) * 4 || v.length % 4 !== 0 || !base64Re.test(v)) {
    throw new JsonReadFail(`${field}: not base64 of at most ${maxBytes} bytes`);
  }
  // A copy of exactly its size: Buffer.from may return a view of a shared 8 KiB pool slab.
  return new Uint8Array(Buffer.from(v, 'base64'));
}

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}
