/**
 * A small replicated key/value state machine for Raft: put / get / delete /
 * compare-and-swap on string keys, with client sessions so retried requests are
 * applied at most once (Ongaro's dissertation, §6.3).
 *
 * Every command carries a request id (client id + sequence number). A client has
 * one request outstanding at a time and numbers them 1, 2, 3...; the machine
 * remembers per client the last sequence applied and its result, and answers a
 * retry of it from that record instead of applying it again. The session table
 * is bounded: past `maxSessions` the least recently used session is evicted (the
 * same one on every replica: apply order is the log order), and a later request
 * from that client, other than its first, is answered `session-expired` so it
 * never risks a double apply; the client must start over under a new id.
 *
 * Pure: no I/O, deterministic. Bad bytes are an operating error: decode throws a
 * ShoalError(DecodeFailed); apply() never throws on them (it counts and skips).
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

export interface KvApplied {
  id: KvRequestId;
  result: KvResult;
  /** True when answered from the session table (a retry), not applied now. */
  duplicate: boolean;
}

interface Session {
  lastSeq: number;
  lastResult: KvResult;
}

export class KvMachine {
  private readonly data = new Map<string, string>();
  /** Insertion order is recency order (least recent first). */
  private readonly sessions = new Map<string, Session>();
  private readonly maxSessions: number;
  /** Committed entries whose bytes did not decode (identical on every replica). */
  invalidCommands = 0;
  evictedSessions = 0;

  constructor(options: { maxSessions?: number } = {}) {
    this.maxSessions = options.maxSessions ?? kvLimits.defaultMaxSessions;
    assert(Number.isInteger(this.maxSessions) && this.maxSessions > 0, 'maxSessions must be a positive integer');
  }

  /** Apply one committed entry's data. Empty data (a leader's no-op) and undecodable data return null. */
  apply(data: Uint8Array): KvApplied | null {
    if (data.length === 0) return null;
    let cmd: KvCommand;
    try {
      cmd = decodeKvCommand(data);
    } catch {
      this.invalidCommands++;
      return null;
    }
    return this.applyCommand(cmd);
  }

  applyCommand(cmd: KvCommand): KvApplied {
    const { clientId, seq } = cmd.id;
    const session = this.sessions.get(clientId);
    if (session !== undefined) {
      this.sessions.delete(clientId);
      this.sessions.set(clientId, session);
      if (seq === session.lastSeq) return { id: cmd.id, result: session.lastResult, duplicate: true };
      if (seq < session.lastSeq) return { id: cmd.id, result: { kind: 'stale' }, duplicate: true };
    } else if (seq !== 1) {
      return { id: cmd.id, result: { kind: 'session-expired' }, duplicate: false };
    }
    const result = this.execute(cmd);
    if (session !== undefined) {
      session.lastSeq = seq;
      session.lastResult = result;
    } else {
      this.sessions.set(clientId, { lastSeq: seq, lastResult: result });
      while (this.sessions.size > this.maxSessions) {
        const oldest = this.sessions.keys().next().value as string;
        this.sessions.delete(oldest);
        this.evictedSessions++;
      }
    }
    return { id: cmd.id, result, duplicate: false };
  }

  /** A local read, for ReadIndex / lease reads once applied >= the read index. */
  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  get size(): number {
    return this.data.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A copy of the whole store (tests, final-state checks). */
  entries(): Map<string, string> {
    return new Map(this.data);
  }

  snapshot(): Uint8Array {
    const w = new ByteWriter();
    w.u8(snapshotVersion);
    w.u32(this.data.size);
    for (const [k, v] of this.data) {
      w.str(k);
      w.str(v);
    }
    w.u32(this.sessions.size);
    for (const [clientId, s] of this.sessions) {
      w.str(clientId);
      w.f64(s.lastSeq);
      writeResult(w, s.lastResult);
    }
    return w.finish();
  }

  /** Replace the whole state with a snapshot's. Throws ShoalError(CorruptSnapshot) on bad bytes, leaving the state unchanged. */
  restore(bytes: Uint8Array): void {
    let data: Map<string, string>;
    let sessions: Map<string, Session>;
    try {
      const r = new ByteReader(bytes);
      const version = r.u8();
      if (version !== snapshotVersion) throw r.fail(`unknown snapshot version ${version}`);
      data = new Map();
      const keys = r.count(kvLimits.maxSnapshotEntries);
      for (let i = 0; i < keys; i++) data.set(r.str(kvLimits.maxKeyBytes), r.str(kvLimits.maxValueBytes));
      sessions = new Map();
      const n = r.count(kvLimits.maxSnapshotEntries);
      for (let i = 0; i < n; i++) {
        const clientId = r.str(kvLimits.maxClientIdBytes);
        const lastSeq = r.seq();
        sessions.set(clientId, { lastSeq, lastResult: readResult(r) });
      }
      r.end();
    } catch (e) {
      throw new ShoalError(ErrorCode.CorruptSnapshot, 'kv snapshot does not decode', { cause: e });
    }
    this.data.clear();
    for (const [k, v] of data) this.data.set(k, v);
    this.sessions.clear();
    for (const [k, s] of sessions) this.sessions.set(k, s);
  }

  private execute(cmd: KvCommand): KvResult {
    const current = this.data.get(cmd.key) ?? null;
    switch (cmd.type) {
      case 'put':
        this.data.set(cmd.key, cmd.value);
        return { kind: 'put' };
      case 'get':
        return { kind: 'get', value: current };
      case 'delete':
        this.data.delete(cmd.key);
        return { kind: 'delete', existed: current !== null };
      case 'cas': {
        const ok = current === cmd.expected;
        if (ok) this.data.set(cmd.key, cmd.value);
        return { kind: 'cas', ok, current };
      }
    }
  }
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
