/**
 * Snapshot encoding of the config store's replicated state: capacity,
 * applied index, revisions, live keys, leases (without the leader's soft
 * deadlines), dedup sessions in eviction order, and the history kept since
 * compaction (so watches can resume after a restore).
 *
 * Layout: "SHCS" | u8 format version | u32 CRC-32 of the body | body, where
 * the body is frames of u32 length + payload, in this order: a JSON header
 * (with the counts of what follows), one binary frame per key, one JSON
 * frame per lease and per session, one binary frame per history record.
 * Binary frames (bytes-io.ts) carry values raw; JSON frames are small.
 * Decoding checks the checksum, every frame, every field and the cross-field
 * invariants before anything is built: corrupt bytes give
 * ERR_CORRUPT_SNAPSHOT and never a half-built store.
 */
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { ErrorCode, ShoalError } from '../../util/errors.js';
import type { Session } from './dedup.js';
import { ByteReader, ByteWriter } from './bytes-io.js';
import { bool, JsonReadFail, obj, str, uint, type JsonObject } from './json-read.js';
import { compareKeys } from './keys.js';
import { snapshotLimits, storeLimits, type StoreCapacity } from './limits.js';
import { optional, type ApplyResult, type KeyValue, type RevisionRecord, type StoreEvent } from './types.js';
import { validateKey } from './validate.js';

export interface LeaseRecord {
  readonly id: number;
  readonly ttlMs: number;
  readonly keepAlives: number;
}

export interface StoreState {
  readonly capacity: Readonly<StoreCapacity>;
  readonly appliedIndex: number;
  readonly revision: number;
  readonly compactedRevision: number;
  /** In key order. */
  readonly kvs: readonly KeyValue[];
  /** In id order. */
  readonly leases: readonly LeaseRecord[];
  /** Least recently used first. */
  readonly sessions: readonly Session[];
  /** Oldest first, contiguous. */
  readonly history: readonly RevisionRecord[];
}

const magic = [0x53, 0x48, 0x43, 0x53]; // "SHCS"
const formatVersion = 1;
const preambleBytes = 4 + 1 + 4;
const frameHeaderBytes = 4;
const textEncoder = new TextEncoder();

/** JSON with bytes as {"$b": base64}. */
function bytesReplacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') } : value;
}

function bytesReviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const b = (value as Record<string, unknown>).$b;
    if (typeof b === 'string' && Object.keys(value).length === 1) {
      const buf = Buffer.from(b, 'base64');
      if (buf.toString('base64') !== b) throw new JsonReadFail('bad base64');
      return new Uint8Array(buf); // a copy: buf may be a view of a shared pool slab
    }
  }
  return value;
}

export function encodeSnapshot(state: StoreState): Uint8Array {
  const w = new ByteWriter(64 * 1024);
  w.raw(new Uint8Array(preambleBytes));
  const frame = (write: () => void): void => {
    const at = w.placeholderU32();
    write();
    w.patchU32(at, w.length - at - frameHeaderBytes);
  };
  const json = (item: unknown): void => frame(() => w.raw(textEncoder.encode(JSON.stringify(item, bytesReplacer))));
  json({
    capacity: state.capacity,
    appliedIndex: state.appliedIndex,
    revision: state.revision,
    compactedRevision: state.compactedRevision,
    kvs: state.kvs.length,
    leases: state.leases.length,
    sessions: state.sessions.length,
    history: state.history.length,
  });
  for (const kv of state.kvs) frame(() => writeKv(w, kv));
  for (const l of state.leases) json(l);
  for (const s of state.sessions) json(s);
  for (const r of state.history) {
    frame(() => {
      w.uint(r.revision);
      w.uint(r.events.length);
      for (const e of r.events) {
        w.u8(e.type === 'put' ? eventPut : eventDelete);
        w.u8(e.prevKv === undefined ? 0 : 1);
        if (e.type === 'put') writeKv(w, e.kv);
        else w.string(e.kv.key);
        if (e.prevKv !== undefined) writeKv(w, e.prevKv);
      }
    });
  }
  const out = w.view().slice();
  out.set(magic, 0);
  out[4] = formatVersion;
  new DataView(out.buffer).setUint32(5, crc32(out.subarray(preambleBytes)));
  return out;
}

export type SnapshotDecodeResult = { readonly ok: true; readonly state: StoreState } | { readonly ok: false; readonly error: ShoalError };

/** Never throws. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotDecodeResult {
  try {
    return { ok: true, state: readSnapshot(bytes) };
  } catch (e) {
    const why = e instanceof JsonReadFail ? e.message : 'malformed';
    return { ok: false, error: new ShoalError(ErrorCode.CorruptSnapshot, `config store snapshot: ${why}`, { cause: e }) };
  }
}

function readSnapshot(bytes: Uint8Array): StoreState {
  const fail = (m: string): never => {
    throw new JsonReadFail(m);
  };
  if (bytes.length > snapshotLimits.snapshotBytesMax) fail(`${bytes.length} bytes, at most ${snapshotLimits.snapshotBytesMax}`);
  if (bytes.length < preambleBytes || magic.some((b, i) => bytes[i] !== b)) fail('not a config store snapshot');
  if (bytes[4] !== formatVersion) fail(`unknown format version ${bytes[4]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(5) !== crc32(bytes.subarray(preambleBytes))) fail('checksum mismatch');
  let at = preambleBytes;
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const frame = (what: string): Uint8Array => {
    if (at + frameHeaderBytes > bytes.length) fail(`truncated before ${what}`);
    const len = view.getUint32(at);
    if (at + frameHeaderBytes + len > bytes.length) fail(`truncated ${what}`);
    const payload = bytes.subarray(at + frameHeaderBytes, at + frameHeaderBytes + len);
    at += frameHeaderBytes + len;
    return payload;
  };
  const next = (what: string): JsonObject => obj(JSON.parse(utf8.decode(frame(what)), bytesReviver), what);
  const binary = <T>(what: string, read: (r: ByteReader) => T): T => {
    const r = new ByteReader(frame(what));
    const item = read(r);
    if (!r.done) fail(`trailing bytes in ${what}`);
    return item;
  };
  const h = next('header');
  const c = obj(h.capacity, 'capacity');
  const capacity: StoreCapacity = {
    keysMax: positive(c, 'keysMax'),
    dataBytesMax: positive(c, 'dataBytesMax'),
    leasesMax: positive(c, 'leasesMax'),
    historyRevisionsMax: positive(c, 'historyRevisionsMax'),
    sessionsMax: positive(c, 'sessionsMax'),
  };
  const revision = uint(h, 'revision');
  const compactedRevision = uint(h, 'compactedRevision');
  if (compactedRevision > revision) fail('compacted revision above the current one');
  const count = (field: string, max: number): number => {
    const n = uint(h, field);
    if (n > max) fail(`${n} ${field}, at most ${max}`);
    return n;
  };
  const kvCount = count('kvs', capacity.keysMax);
  const leaseCount = count('leases', capacity.leasesMax);
  const sessionCount = count('sessions', capacity.sessionsMax);
  const historyCount = count('history', capacity.historyRevisionsMax);

  const kvs: KeyValue[] = [];
  for (let i = 0; i < kvCount; i++) {
    const kv = binary('kv', (r) => readKv(r, revision));
    if (kvs.length > 0 && compareKeys(kvs[kvs.length - 1].key, kv.key) >= 0) fail('keys out of order');
    kvs.push(kv);
  }
  const leases: LeaseRecord[] = [];
  for (let i = 0; i < leaseCount; i++) {
    const l = next('lease');
    const lease = { id: uint(l, 'id'), ttlMs: uint(l, 'ttlMs'), keepAlives: uint(l, 'keepAlives') };
    if (lease.id === 0 || (leases.length > 0 && leases[leases.length - 1].id >= lease.id)) fail('lease ids out of order');
    leases.push(lease);
  }
  const leaseIds = new Set(leases.map((l) => l.id));
  for (const kv of kvs) if (kv.lease !== 0 && !leaseIds.has(kv.lease)) fail(`key ${kv.key} on unknown lease ${kv.lease}`);
  const sessions: Session[] = [];
  const clients = new Set<string>();
  for (let i = 0; i < sessionCount; i++) {
    const s = next('session');
    const client = str(s, 'client', storeLimits.clientIdBytesMax);
    if (clients.has(client)) fail(`session of ${client} twice`);
    clients.add(client);
    const r = obj(s.lastResult, 'lastResult');
    bool(r, 'ok');
    uint(r, 'revision');
    sessions.push({ client, lastSeq: uint(s, 'lastSeq'), lastResult: r as unknown as ApplyResult });
  }
  const history: RevisionRecord[] = [];
  for (let i = 0; i < historyCount; i++) {
    const record = binary('history', (r) => readRecord(r, capacity.keysMax));
    const expected = i === 0 ? Math.max(compactedRevision, 1) : history[i - 1].revision + 1;
    if (record.revision !== expected) fail(`history revision ${record.revision}, expected ${expected}`);
    history.push(record);
  }
  const last = history.length === 0 ? 0 : history[history.length - 1].revision;
  if (revision > 0 && last !== revision) fail(`history ends at ${last}, the store is at ${revision}`);
  if (at !== bytes.length) fail('trailing bytes');
  return { capacity, appliedIndex: uint(h, 'appliedIndex'), revision, compactedRevision, kvs, leases, sessions, history };
}

function positive(o: JsonObject, field: string): number {
  const n = uint(o, field);
  if (n === 0) throw new JsonReadFail(`${field} is 0`);
  return n;
}

const eventPut = 0;
const eventDelete = 1;

function writeKv(w: ByteWriter, kv: KeyValue): void {
  w.string(kv.key);
  w.bytes(kv.value);
  w.uint(kv.createRevision);
  w.uint(kv.modRevision);
  w.uint(kv.version);
  w.uint(kv.lease);
}

function readKv(r: ByteReader, revision: number): KeyValue {
  const kv: KeyValue = {
    key: r.string(storeLimits.keyBytesMax),
    value: r.bytes(storeLimits.valueBytesMax),
    createRevision: r.uint(),
    modRevision: r.uint(),
    version: r.uint(),
    lease: r.uint(),
  };
  if (validateKey(kv.key) !== undefined) throw new JsonReadFail('invalid key');
  if (kv.version < 1 || kv.createRevision < 1 || kv.createRevision > kv.modRevision || kv.modRevision > revision) {
    throw new JsonReadFail(`key ${kv.key}: inconsistent revisions`);
  }
  return kv;
}

function readRecord(r: ByteReader, eventsMax: number): RevisionRecord {
  const revision = r.uint();
  const count = r.uint();
  if (count === 0 || count > eventsMax) throw new JsonReadFail(`history revision ${revision} has ${count} events`);
  const events: StoreEvent[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.u8();
    const hasPrev = r.u8();
    if ((type !== eventPut && type !== eventDelete) || hasPrev > 1) throw new JsonReadFail('bad event');
    if (type === eventPut) {
      const kv = readKv(r, revision);
      if (kv.modRevision !== revision) throw new JsonReadFail('event revision mismatch');
      const prevKv = hasPrev === 1 ? readKv(r, revision - 1) : undefined;
      events.push({ type: 'put', kv, ...optional('prevKv', prevKv) });
    } else {
      const key = r.string(storeLimits.keyBytesMax);
      if (validateKey(key) !== undefined || hasPrev !== 1) throw new JsonReadFail('bad delete event');
      const prevKv = readKv(r, revision - 1);
      events.push({ type: 'delete', kv: { key, value: emptyValue, createRevision: 0, modRevision: revision, version: 0, lease: 0 }, prevKv });
    }
  }
  return { revision, events };
}

const emptyValue = new Uint8Array(0);
