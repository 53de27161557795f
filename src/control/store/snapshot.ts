/**
 * Snapshot encoding of the config store's replicated state: capacity,
 * applied index, revisions, the NOSPACE alarm, live keys, leases (without
 * the leader's soft deadlines), dedup sessions in eviction order, and the
 * history kept since compaction (so watches can resume after a restore).
 *
 * Layout: "SHCS" | u8 format version | u32 CRC-32 of the body | body, where
 * the body is frames of u32 length + payload.
 *
 * Format 2 (written): a JSON header (with the counts of what follows), one
 * JSON frame per lease and per session, one binary frame per history
 * record, oldest first, then one binary frame per live key, in key order.
 * Every version of a key is written once (space.ts counts it once): a
 * history event's previous value, and a live key, that are the version
 * written by the key's last put event earlier in the snapshot (a version
 * whose modRevision is a record held) are a reference to it (its
 * modRevision, checked on decode), and decoding shares one object for
 * them, as the store did in memory. The size is checked while writing: past
 * snapshotLimits.snapshotBytesMax, snapshot() fails with ERR_NO_SPACE
 * instead of writing what no member could load.
 *
 * Format 1 (read only): header, live keys, leases, sessions, history, with
 * every previous value inline.
 *
 * Binary frames (bytes-io.ts) carry values raw; JSON frames are small.
 * Decoding checks the checksum, every frame, every field, every reference
 * and the cross-field invariants before anything is built: corrupt bytes
 * give ERR_CORRUPT_SNAPSHOT and never a half-built store.
 */
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { ErrorCode, ShoalError } from '../../util/errors.js';
import type { Session } from './dedup.js';
import { ByteReader, ByteWriter } from './bytes-io.js';
import { bool, JsonReadFail, obj, str, uint, type JsonObject } from './json-read.js';
import { compareKeys } from './keys.js';
import { defaultStoreCapacity, snapshotLimits, storeLimits, type StoreCapacity } from './limits.js';
import { capacityFitsSnapshots } from './space.js';
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
  readonly noSpaceAlarm: boolean;
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
const formatVersion = 2;
const formatVersion1 = 1;
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

/**
 * Throws ERR_NO_SPACE past snapshotBytesMax (checked as it grows, before the
 * buffer does). `sizeHintBytes`: an upper bound of the size (the store's
 * accounted bytes are one, space.ts), so the buffer is allocated once.
 */
export function encodeSnapshot(state: StoreState, bytesMax: number = snapshotLimits.snapshotBytesMax, sizeHintBytes = 64 * 1024): Uint8Array {
  const w = new ByteWriter(Math.max(1024, Math.min(sizeHintBytes, bytesMax + 64 * 1024)));
  w.raw(new Uint8Array(preambleBytes));
  // Frames inline (no closure per frame): a million keys are a million frames.
  let at = 0;
  const open = (): void => {
    at = w.placeholderU32();
  };
  const close = (): void => {
    w.patchU32(at, w.length - at - frameHeaderBytes);
    if (w.length > bytesMax) {
      throw new ShoalError(
        ErrorCode.NoSpace,
        `config store snapshot passed ${bytesMax} bytes while being written: a member could not load it; compact the history or delete keys`,
        { details: { limitBytes: bytesMax } },
      );
    }
  };
  const json = (item: unknown): void => {
    open();
    w.raw(textEncoder.encode(JSON.stringify(item, bytesReplacer)));
    close();
  };
  json({
    capacity: state.capacity,
    appliedIndex: state.appliedIndex,
    revision: state.revision,
    compactedRevision: state.compactedRevision,
    noSpaceAlarm: state.noSpaceAlarm,
    kvs: state.kvs.length,
    leases: state.leases.length,
    sessions: state.sessions.length,
    history: state.history.length,
  });
  for (const l of state.leases) json(l);
  for (const s of state.sessions) json(s);
  // A version is a key's put at its modRevision: one at or after the first record held was written by
  // that record's put event, earlier in this snapshot, and is written again only as a reference.
  const firstHeld = state.history.length === 0 ? Number.POSITIVE_INFINITY : state.history[0].revision;
  for (const r of state.history) {
    open();
    w.uint(r.revision);
    w.uint(r.events.length);
    for (const e of r.events) {
      const key = e.kv.key;
      const prev = e.prevKv;
      const prevIsRef = prev !== undefined && prev.modRevision >= firstHeld;
      w.u8(e.type === 'put' ? eventPut : eventDelete);
      w.u8(prev === undefined ? prevNone : prevIsRef ? prevRef : prevInline);
      if (e.type === 'put') writeKv(w, e.kv);
      else w.string(key);
      if (prevIsRef) w.uint(prev.modRevision);
      else if (prev !== undefined) writeKv(w, prev);
    }
    close();
  }
  for (const kv of state.kvs) {
    open();
    if (kv.modRevision >= firstHeld) {
      w.u8(kvRef);
      w.string(kv.key);
      w.uint(kv.modRevision);
    } else {
      w.u8(kvInline);
      writeKv(w, kv);
    }
    close();
  }
  const written = w.view();
  // Fresh memory costs page faults: keep the buffer unless most of it would be wasted.
  const out = written.length >= w.capacity - (w.capacity >>> 3) ? written : written.slice();
  out.set(magic, 0);
  out[4] = formatVersion;
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(5, crc32(out.subarray(preambleBytes)));
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
  if (bytes.length > snapshotLimits.snapshotBytesMax) fail(`${bytes.length} bytes, at most ${snapshotLimits.snapshotBytesMax}`);
  if (bytes.length < preambleBytes || magic.some((b, i) => bytes[i] !== b)) fail('not a config store snapshot');
  const version = bytes[4];
  if (version !== formatVersion && version !== formatVersion1) fail(`unknown format version ${version}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(5) !== crc32(bytes.subarray(preambleBytes))) fail('checksum mismatch');
  const f = new Frames(bytes, view);
  const h = f.json('header');
  const c = obj(h.capacity, 'capacity');
  const capacity: StoreCapacity =
    version === formatVersion
      ? {
          keysMax: positive(c, 'keysMax'),
          quotaBytes: positive(c, 'quotaBytes'),
          leasesMax: positive(c, 'leasesMax'),
          historyRevisionsMax: positive(c, 'historyRevisionsMax'),
          sessionsMax: positive(c, 'sessionsMax'),
          sessionResultsBytesMax: positive(c, 'sessionResultsBytesMax'),
        }
      : {
          // Format 1 had no quota (dataBytesMax bounded live data only): the defaults apply.
          keysMax: positive(c, 'keysMax'),
          quotaBytes: defaultStoreCapacity.quotaBytes,
          leasesMax: positive(c, 'leasesMax'),
          historyRevisionsMax: positive(c, 'historyRevisionsMax'),
          sessionsMax: positive(c, 'sessionsMax'),
          sessionResultsBytesMax: defaultStoreCapacity.sessionResultsBytesMax,
        };
  if (!capacityFitsSnapshots(capacity)) fail('capacity allows snapshots larger than a member loads');
  const revision = uint(h, 'revision');
  const compactedRevision = uint(h, 'compactedRevision');
  if (compactedRevision > revision) fail('compacted revision above the current one');
  const noSpaceAlarm = version === formatVersion ? bool(h, 'noSpaceAlarm') : false;
  const count = (field: string, max: number): number => {
    const n = uint(h, field);
    if (n > max) fail(`${n} ${field}, at most ${max}`);
    return n;
  };
  const kvCount = count('kvs', capacity.keysMax);
  const leaseCount = count('leases', capacity.leasesMax);
  const sessionCount = count('sessions', capacity.sessionsMax);
  const historyCount = count('history', capacity.historyRevisionsMax);

  let kvs: KeyValue[] = [];
  const readKvs1 = (): void => {
    for (let i = 0; i < kvCount; i++) kvs.push(f.binary('kv', (r) => readKv(r, revision)));
  };
  if (version === formatVersion1) readKvs1();
  const leases: LeaseRecord[] = [];
  for (let i = 0; i < leaseCount; i++) {
    const l = f.json('lease');
    const lease = { id: uint(l, 'id'), ttlMs: uint(l, 'ttlMs'), keepAlives: uint(l, 'keepAlives') };
    if (lease.id === 0 || (leases.length > 0 && leases[leases.length - 1].id >= lease.id)) fail('lease ids out of order');
    leases.push(lease);
  }
  const sessions: Session[] = [];
  const clients = new Set<string>();
  for (let i = 0; i < sessionCount; i++) {
    const s = f.json('session');
    const client = str(s, 'client', storeLimits.clientIdBytesMax);
    if (clients.has(client)) fail(`session of ${client} twice`);
    clients.add(client);
    const lastSeq = uint(s, 'lastSeq');
    let lastResult: ApplyResult | undefined;
    if (s.lastResult !== undefined) {
      const r = obj(s.lastResult, 'lastResult');
      bool(r, 'ok');
      uint(r, 'revision');
      lastResult = r as unknown as ApplyResult;
    } else if (version === formatVersion1) {
      fail('session without a result');
    }
    const lastRevision = version === formatVersion ? uint(s, 'lastRevision') : (lastResult as ApplyResult).revision;
    sessions.push({ client, lastSeq, lastRevision, ...optional('lastResult', lastResult) });
  }
  const history: RevisionRecord[] = [];
  const lastPut = new Map<string, KeyValue>();
  for (let i = 0; i < historyCount; i++) {
    const record = f.binary('history', (r) =>
      version === formatVersion ? readRecord(r, capacity.keysMax, lastPut, compactedRevision) : readRecord1(r, capacity.keysMax),
    );
    const expected = i === 0 ? Math.max(compactedRevision, 1) : history[i - 1].revision + 1;
    if (record.revision !== expected) fail(`history revision ${record.revision}, expected ${expected}`);
    history.push(record);
  }
  const last = history.length === 0 ? 0 : history[history.length - 1].revision;
  if (revision > 0 && last !== revision) fail(`history ends at ${last}, the store is at ${revision}`);
  if (version === formatVersion) {
    kvs = [];
    for (let i = 0; i < kvCount; i++) kvs.push(f.binary('kv', (r) => readLiveKv(r, revision, lastPut)));
  }
  for (let i = 1; i < kvs.length; i++) if (compareKeys(kvs[i - 1].key, kvs[i].key) >= 0) fail('keys out of order');
  const leaseIds = new Set(leases.map((l) => l.id));
  for (const kv of kvs) if (kv.lease !== 0 && !leaseIds.has(kv.lease)) fail(`key ${kv.key} on unknown lease ${kv.lease}`);
  if (!f.done) fail('trailing bytes');
  return { capacity, appliedIndex: uint(h, 'appliedIndex'), revision, compactedRevision, noSpaceAlarm, kvs, leases, sessions, history };
}

function fail(m: string): never {
  throw new JsonReadFail(m);
}

/** The body's frames, read in order. */
class Frames {
  private at = preambleBytes;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly bytes: Uint8Array,
    private readonly view: DataView,
  ) {}

  get done(): boolean {
    return this.at === this.bytes.length;
  }

  next(what: string): Uint8Array {
    if (this.at + frameHeaderBytes > this.bytes.length) fail(`truncated before ${what}`);
    const len = this.view.getUint32(this.at);
    if (this.at + frameHeaderBytes + len > this.bytes.length) fail(`truncated ${what}`);
    const payload = this.bytes.subarray(this.at + frameHeaderBytes, this.at + frameHeaderBytes + len);
    this.at += frameHeaderBytes + len;
    return payload;
  }

  json(what: string): JsonObject {
    return obj(JSON.parse(this.utf8.decode(this.next(what)), bytesReviver), what);
  }

  binary<T>(what: string, read: (r: ByteReader) => T): T {
    const r = new ByteReader(this.next(what));
    const item = read(r);
    if (!r.done) fail(`trailing bytes in ${what}`);
    return item;
  }
}

function positive(o: JsonObject, field: string): number {
  const n = uint(o, field);
  if (n === 0) throw new JsonReadFail(`${field} is 0`);
  return n;
}

const eventPut = 0;
const eventDelete = 1;
const prevNone = 0;
const prevInline = 1;
/** The previous value is the version the key's last put event earlier in the snapshot wrote. */
const prevRef = 2;
const kvInline = 1;
/** The live key/value is the version its last history event (a put) wrote. */
const kvRef = 2;

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

function readLiveKv(r: ByteReader, revision: number, lastPut: ReadonlyMap<string, KeyValue>): KeyValue {
  const flag = r.u8();
  if (flag === kvInline) return readKv(r, revision);
  if (flag !== kvRef) throw new JsonReadFail('bad key/value flag');
  const key = r.string(storeLimits.keyBytesMax);
  const kv = referenced(lastPut, key, r.uint());
  if (kv.modRevision > revision) throw new JsonReadFail(`key ${key}: inconsistent revisions`);
  return kv;
}

/** The version a reference names: the key's last put before, at that modRevision. */
function referenced(lastPut: ReadonlyMap<string, KeyValue>, key: string, modRevision: number): KeyValue {
  const kv = lastPut.get(key);
  if (kv === undefined || kv.modRevision !== modRevision) throw new JsonReadFail(`key ${key}: a reference to no version`);
  return kv;
}

/**
 * Format 2: previous values may refer to the key's last put event before
 * (lastPut, updated here); the record of the compacted revision has none.
 */
function readRecord(r: ByteReader, eventsMax: number, lastPut: Map<string, KeyValue>, compactedRevision: number): RevisionRecord {
  const revision = r.uint();
  const count = r.uint();
  if (count === 0 || count > eventsMax) throw new JsonReadFail(`history revision ${revision} has ${count} events`);
  const events: StoreEvent[] = [];
  const keys = new Set<string>();
  for (let i = 0; i < count; i++) {
    const type = r.u8();
    const prev = r.u8();
    if ((type !== eventPut && type !== eventDelete) || prev > prevRef) throw new JsonReadFail('bad event');
    let kv: KeyValue;
    if (type === eventPut) {
      kv = readKv(r, revision);
      if (kv.modRevision !== revision) throw new JsonReadFail('event revision mismatch');
    } else {
      const key = r.string(storeLimits.keyBytesMax);
      if (validateKey(key) !== undefined || (prev === prevNone && revision !== compactedRevision)) throw new JsonReadFail('bad delete event');
      kv = { key, value: emptyValue, createRevision: 0, modRevision: revision, version: 0, lease: 0 };
    }
    if (keys.has(kv.key)) throw new JsonReadFail(`key ${kv.key} changed twice in revision ${revision}`);
    keys.add(kv.key);
    let prevKv: KeyValue | undefined;
    if (prev === prevInline) prevKv = readKv(r, revision - 1);
    else if (prev === prevRef) prevKv = referenced(lastPut, kv.key, r.uint());
    if (prevKv !== undefined && prevKv.key !== kv.key) throw new JsonReadFail('previous value of another key');
    if (type === eventPut) lastPut.set(kv.key, kv);
    else lastPut.delete(kv.key);
    events.push({ type: type === eventPut ? 'put' : 'delete', kv, ...optional('prevKv', prevKv) });
  }
  return { revision, events };
}

/** Format 1: every previous value inline. */
function readRecord1(r: ByteReader, eventsMax: number): RevisionRecord {
  const revision = r.uint();
  const count = r.uint();
  if (count === 0 || count > eventsMax) throw new JsonReadFail(`history revision ${revision} has ${count} events`);
  const events: StoreEvent[] = [];
  const keys = new Set<string>();
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
    const key = events[events.length - 1].kv.key;
    if (keys.has(key) || events[events.length - 1].prevKv?.key !== undefined && events[events.length - 1].prevKv?.key !== key) {
      throw new JsonReadFail(`key ${key}: bad event in revision ${revision}`);
    }
    keys.add(key);
  }
  return { revision, events };
}

const emptyValue = new Uint8Array(0);
