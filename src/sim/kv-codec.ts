/**
 * The byte formats of the replicated key/value machine (kv-machine.ts): the
 * commands carried in log entries and the machine's snapshots. Big-endian,
 * length-prefixed UTF-8 strings, every length bounded by kvLimits. These bytes
 * are in Raft logs and snapshots: change them only with a new version byte.
 */
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

export const kvLimits = {
  /** Longest client id, in UTF-8 bytes. */
  maxClientIdBytes: 256,
  maxKeyBytes: 1024,
  /** One value; a config store holds small documents. */
  maxValueBytes: 1 << 20,
  /** Bound on keys and sessions a snapshot may declare (refuse a corrupt count early). */
  maxSnapshotEntries: 10_000_000,
  /** Default session table size (the dissertation keeps one per live client). */
  defaultMaxSessions: 10_000,
} as const;

/** ONLY APPEND. Wire values of command types. */
export const KvCommandType = { Put: 1, Get: 2, Delete: 3, Cas: 4 } as const;
export type KvCommandType = (typeof KvCommandType)[keyof typeof KvCommandType];

/** ONLY APPEND. Wire values of result kinds (inside snapshots). */
const resultCode = { put: 1, get: 2, delete: 3, cas: 4, 'session-expired': 5, stale: 6 } as const;

const commandVersion = 1;
const snapshotVersion = 1;

export interface KvRequestId {
  clientId: string;
  /** 1, 2, 3... per client; a retry reuses the number. */
  seq: number;
}

export type KvCommand =
  | { type: 'put'; id: KvRequestId; key: string; value: string }
  | { type: 'get'; id: KvRequestId; key: string }
  | { type: 'delete'; id: KvRequestId; key: string }
  /** Succeeds iff the current value equals `expected` (null: absent). */
  | { type: 'cas'; id: KvRequestId; key: string; expected: string | null; value: string };

export type KvResult =
  | { kind: 'put' }
  | { kind: 'get'; value: string | null }
  | { kind: 'delete'; existed: boolean }
  | { kind: 'cas'; ok: boolean; current: string | null }
  /** The client's session was evicted: the request was NOT applied. */
  | { kind: 'session-expired' }
  /** An older request of a client that has already moved on: not applied again. */
  | { kind: 'stale' };

/** A client session as stored in snapshots: the last sequence applied and its result. */
export interface KvSession {
  lastSeq: number;
  lastResult: KvResult;
}

/** The machine's whole state: keys and values, then sessions in recency order (least recent first). */
export function encodeKvSnapshot(data: ReadonlyMap<string, string>, sessions: ReadonlyMap<string, KvSession>): Uint8Array {
  const w = new ByteWriter();
  w.u8(snapshotVersion);
  w.u32(data.size);
  for (const [k, v] of data) {
    w.str(k);
    w.str(v);
  }
  w.u32(sessions.size);
  for (const [clientId, s] of sessions) {
    w.str(clientId);
    w.f64(s.lastSeq);
    writeResult(w, s.lastResult);
  }
  return w.finish();
}

/** Throws ShoalError(DecodeFailed) on anything malformed, oversized or trailing. */
export function decodeKvSnapshot(bytes: Uint8Array): { data: Map<string, string>; sessions: Map<string, KvSession> } {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== snapshotVersion) throw r.fail(`unknown snapshot version ${version}`);
  const data = new Map<string, string>();
  const keys = r.count(kvLimits.maxSnapshotEntries);
  for (let i = 0; i < keys; i++) data.set(r.str(kvLimits.maxKeyBytes), r.str(kvLimits.maxValueBytes));
  const sessions = new Map<string, KvSession>();
  const n = r.count(kvLimits.maxSnapshotEntries);
  for (let i = 0; i < n; i++) {
    const clientId = r.str(kvLimits.maxClientIdBytes);
    const lastSeq = r.seq();
    sessions.set(clientId, { lastSeq, lastResult: readResult(r) });
  }
  r.end();
  return { data, sessions };
}

export function encodeKvCommand(cmd: KvCommand): Uint8Array {
  assert(Number.isSafeInteger(cmd.id.seq) && cmd.id.seq >= 1, 'request seq must be a positive safe integer');
  const w = new ByteWriter();
  w.u8(commandVersion);
  w.u8(KvCommandType[capitalized(cmd.type)]);
  w.str(cmd.id.clientId, kvLimits.maxClientIdBytes);
  w.f64(cmd.id.seq);
  w.str(cmd.key, kvLimits.maxKeyBytes);
  if (cmd.type === 'put') w.str(cmd.value, kvLimits.maxValueBytes);
  if (cmd.type === 'cas') {
    w.u8(cmd.expected === null ? 0 : 1);
    if (cmd.expected !== null) w.str(cmd.expected, kvLimits.maxValueBytes);
    w.str(cmd.value, kvLimits.maxValueBytes);
  }
  return w.finish();
}

/** Throws ShoalError(DecodeFailed) on anything malformed, oversized or trailing. */
export function decodeKvCommand(bytes: Uint8Array): KvCommand {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== commandVersion) throw r.fail(`unknown command version ${version}`);
  const type = r.u8();
  const id = { clientId: r.str(kvLimits.maxClientIdBytes), seq: r.seq() };
  const key = r.str(kvLimits.maxKeyBytes);
  let cmd: KvCommand;
  switch (type) {
    case KvCommandType.Put:
      cmd = { type: 'put', id, key, value: r.str(kvLimits.maxValueBytes) };
      break;
    case KvCommandType.Get:
      cmd = { type: 'get', id, key };
      break;
    case KvCommandType.Delete:
      cmd = { type: 'delete', id, key };
      break;
    case KvCommandType.Cas: {
      const hasExpected = r.u8();
      if (hasExpected > 1) throw r.fail('bad cas flag');
      const expected = hasExpected === 1 ? r.str(kvLimits.maxValueBytes) : null;
      cmd = { type: 'cas', id, key, expected, value: r.str(kvLimits.maxValueBytes) };
      break;
    }
    default:
      throw r.fail(`unknown command type ${type}`);
  }
  r.end();
  return cmd;
}

function capitalized(type: KvCommand['type']): keyof typeof KvCommandType {
  switch (type) {
    case 'put':
      return 'Put';
    case 'get':
      return 'Get';
    case 'delete':
      return 'Delete';
    case 'cas':
      return 'Cas';
  }
}

function writeResult(w: ByteWriter, result: KvResult): void {
  w.u8(resultCode[result.kind]);
  switch (result.kind) {
    case 'get':
      w.optStr(result.value);
      break;
    case 'delete':
      w.u8(result.existed ? 1 : 0);
      break;
    case 'cas':
      w.u8(result.ok ? 1 : 0);
      w.optStr(result.current);
      break;
    default:
      break;
  }
}

function readResult(r: ByteReader): KvResult {
  const code = r.u8();
  switch (code) {
    case resultCode.put:
      return { kind: 'put' };
    case resultCode.get:
      return { kind: 'get', value: r.optStr(kvLimits.maxValueBytes) };
    case resultCode.delete:
      return { kind: 'delete', existed: r.u8() === 1 };
    case resultCode.cas:
      return { kind: 'cas', ok: r.u8() === 1, current: r.optStr(kvLimits.maxValueBytes) };
    case resultCode['session-expired']:
      return { kind: 'session-expired' };
    case resultCode.stale:
      return { kind: 'stale' };
    default:
      throw r.fail(`unknown result code ${code}`);
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

class ByteWriter {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v;
  }

  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.len, v);
    this.len += 4;
  }

  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.len, v);
    this.len += 8;
  }

  str(s: string, maxBytes?: number): void {
    const bytes = utf8Encoder.encode(s);
    if (maxBytes !== undefined && bytes.length > maxBytes) {
      throw new ShoalError(ErrorCode.InvalidArgument, `string of ${bytes.length} bytes exceeds ${maxBytes}`);
    }
    this.u32(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  optStr(s: string | null): void {
    this.u8(s === null ? 0 : 1);
    if (s !== null) this.str(s);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class ByteReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string): ShoalError {
    return new ShoalError(ErrorCode.DecodeFailed, `kv: ${message} at byte ${this.pos}`);
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw this.fail(`truncated (need ${n} bytes)`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  count(max: number): number {
    const n = this.u32();
    if (n > max) throw this.fail(`count ${n} exceeds ${max}`);
    return n;
  }

  seq(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    if (!Number.isSafeInteger(v) || v < 1) throw this.fail(`bad sequence number ${v}`);
    return v;
  }

  str(maxBytes: number): string {
    const n = this.count(maxBytes);
    this.need(n);
    try {
      return utf8Decoder.decode(this.bytes.subarray(this.pos, this.pos + n));
    } catch {
      throw this.fail('invalid UTF-8');
    } finally {
      this.pos += n;
    }
  }

  optStr(maxBytes: number): string | null {
    const flag = this.u8();
    if (flag > 1) throw this.fail('bad optional flag');
    return flag === 1 ? this.str(maxBytes) : null;
  }

  end(): void {
    if (this.pos !== this.bytes.length) throw this.fail(`${this.bytes.length - this.pos} trailing bytes`);
  }
}
