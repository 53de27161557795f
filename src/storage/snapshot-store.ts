/**
 * Snapshot files: written to `snap-<term>-<index>.tmp`, fsynced, renamed to
 * `.snap`, directory fsynced. The file carries a crc32 over everything after
 * its header. The newest `retainCount` (2) are kept; leftover .tmp files are
 * removed at open.
 *
 * A corrupt newest snapshot is a hard error (ERR_CORRUPT_SNAPSHOT), not a
 * fallback to the previous one: when the newest snapshot was saved, the WAL
 * recorded it as the log's base and may already have dropped or compacted the
 * entries between the previous snapshot and it, so falling back could hand
 * Raft a log with a hole. The operator removes the bad file (or the node's
 * data) and lets the leader send a fresh snapshot.
 *
 * Layout: [magic u32][version u8][crc32 u32 of the rest][metaBytes u32][meta][data]
 * meta: index u64, term u64, voters (u16 count, each u16 length + UTF-8), learners (same).
 */
import { posix } from 'node:path';
import { crc32 } from 'node:zlib';
import type { ConfState, Snapshot, SnapshotMeta } from '../raft/types.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { wireUintMax } from '../wire/uint.js';
import type { FileSystem } from './fs.js';

const SNAP_MAGIC = 0x4e534853; // "SHSN" little-endian
const SNAP_VERSION = 1;
const HEADER_BYTES = 13;
const MAX_U32 = 0x1_0000_0000;
const NAME_RE = /^snap-(\d{16})-(\d{16})\.snap$/;
const TMP_RE = /^snap-\d{16}-\d{16}\.tmp$/;

export interface SnapshotStoreOptions {
  /** Snapshots kept on disk (the newest ones). */
  retainCount?: number;
  /** Larger snapshot files are refused when read. */
  maxSnapshotBytes?: number;
}

export interface SnapshotStoreReport {
  removedTmpFiles: string[];
  snapshotFiles: string[];
}

export function snapshotFileName(term: number, index: number): string {
  return `snap-${String(term).padStart(16, '0')}-${String(index).padStart(16, '0')}.snap`;
}

function parseName(name: string): { term: number; index: number } | undefined {
  const m = NAME_RE.exec(name);
  return m === null ? undefined : { term: Number(m[1]), index: Number(m[2]) };
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function encodeSnapshotFile(snap: Snapshot): Uint8Array {
  const names = (list: string[]): Uint8Array[] => list.map((n) => enc.encode(n));
  const voters = names(snap.meta.conf.voters);
  const learners = names(snap.meta.conf.learners);
  const metaBytes = 16 + 2 + 2 + [...voters, ...learners].reduce((n, b) => n + 2 + b.length, 0);
  const out = new Uint8Array(HEADER_BYTES + metaBytes + snap.data.length);
  const v = new DataView(out.buffer);
  let p = 0;
  v.setUint32(p, SNAP_MAGIC, true);
  v.setUint8(p + 4, SNAP_VERSION);
  v.setUint32(p + 9, metaBytes, true);
  p = HEADER_BYTES;
  for (const x of [snap.meta.index, snap.meta.term]) {
    v.setUint32(p, x % MAX_U32, true);
    v.setUint32(p + 4, Math.floor(x / MAX_U32), true);
    p += 8;
  }
  for (const list of [voters, learners]) {
    v.setUint16(p, list.length, true);
    p += 2;
    for (const b of list) {
      v.setUint16(p, b.length, true);
      out.set(b, p + 2);
      p += 2 + b.length;
    }
  }
  out.set(snap.data, p);
  v.setUint32(5, crc32(out.subarray(9)), true);
  return out;
}

export function decodeSnapshotFile(file: string, buf: Uint8Array): Snapshot {
  const bad = (reason: string, cause?: unknown): ShoalError =>
    new ShoalError(ErrorCode.CorruptSnapshot, `corrupt snapshot ${file}: ${reason}`, { cause, details: { file, reason } });
  if (buf.length < HEADER_BYTES) throw bad(`${buf.length} bytes, shorter than the header`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (v.getUint32(0, true) !== SNAP_MAGIC) throw bad('bad magic');
  if (v.getUint8(4) !== SNAP_VERSION) throw bad(`unsupported version ${v.getUint8(4)}`);
  const stored = v.getUint32(5, true);
  const actual = crc32(buf.subarray(9));
  if (stored !== actual) throw bad(`crc32 mismatch (stored ${stored}, computed ${actual})`);
  const metaBytes = v.getUint32(9, true);
  if (HEADER_BYTES + metaBytes > buf.length) throw bad('meta longer than the file');
  let p = HEADER_BYTES;
  const end = HEADER_BYTES + metaBytes;
  const need = (n: number): void => {
    if (p + n > end) throw bad('meta truncated');
  };
  const u64 = (): number => {
    need(8);
    const x = v.getUint32(p, true) + v.getUint32(p + 4, true) * MAX_U32;
    p += 8;
    if (x > wireUintMax) throw bad(`index or term ${x} above the bound ${wireUintMax}`);
    return x;
  };
  const list = (): string[] => {
    need(2);
    const n = v.getUint16(p, true);
    p += 2;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      need(2);
      const len = v.getUint16(p, true);
      need(2 + len);
      try {
        out.push(dec.decode(buf.subarray(p + 2, p + 2 + len)));
      } catch (e) {
        throw bad('member name is not UTF-8', e);
      }
      p += 2 + len;
    }
    return out;
  };
  const index = u64();
  const term = u64();
  const conf: ConfState = { voters: list(), learners: list() };
  if (p !== end) throw bad('meta length mismatch');
  const meta: SnapshotMeta = { index, term, conf };
  return { meta, data: buf.slice(end) };
}

export class SnapshotStore {
  private files: { name: string; term: number; index: number }[];

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly retainCount: number,
    private readonly maxSnapshotBytes: number,
    names: string[],
    readonly report: SnapshotStoreReport,
  ) {
    this.files = names
      .map((name) => ({ name, parsed: parseName(name) }))
      .filter((x): x is { name: string; parsed: { term: number; index: number } } => x.parsed !== undefined)
      .map((x) => ({ name: x.name, ...x.parsed }))
      .sort((a, b) => a.index - b.index || a.term - b.term);
  }

  static async open(fs: FileSystem, dir: string, options: SnapshotStoreOptions = {}): Promise<SnapshotStore> {
    const retainCount = options.retainCount ?? 2;
    const maxSnapshotBytes = options.maxSnapshotBytes ?? 1024 * 1024 * 1024;
    if (!Number.isSafeInteger(retainCount) || retainCount < 1) throw new ShoalError(ErrorCode.InvalidConfig, 'retainCount must be >= 1');
    await fs.mkdir(dir);
    const names = await fs.readdir(dir);
    const tmp = names.filter((n) => TMP_RE.test(n));
    for (const n of tmp) await fs.unlink(posix.join(dir, n));
    if (tmp.length > 0) await fs.fsyncDir(dir);
    const kept = names.filter((n) => !TMP_RE.test(n));
    return new SnapshotStore(fs, dir, retainCount, maxSnapshotBytes, kept, {
      removedTmpFiles: tmp,
      snapshotFiles: kept.filter((n) => NAME_RE.test(n)),
    });
  }

  /** Snapshot file names, oldest first. */
  list(): string[] {
    return this.files.map((f) => f.name);
  }

  /** The newest snapshot, or undefined if none; ERR_CORRUPT_SNAPSHOT if it does not verify. */
  async loadNewest(): Promise<Snapshot | undefined> {
    const newest = this.files.at(-1);
    if (newest === undefined) return undefined;
    const path = posix.join(this.dir, newest.name);
    const h = await this.fs.open(path);
    const sizeBytes = await h.size();
    await h.close();
    if (sizeBytes > this.maxSnapshotBytes) {
      throw new ShoalError(ErrorCode.CorruptSnapshot, `snapshot ${newest.name} is ${sizeBytes} bytes, above ${this.maxSnapshotBytes}`, {
        details: { file: newest.name },
      });
    }
    const buf = await this.fs.readFile(path);
    const snap = decodeSnapshotFile(newest.name, buf);
    if (snap.meta.index !== newest.index || snap.meta.term !== newest.term) {
      throw new ShoalError(ErrorCode.CorruptSnapshot, `snapshot ${newest.name} holds index ${snap.meta.index} term ${snap.meta.term}`, {
        details: { file: newest.name },
      });
    }
    return snap;
  }

  /** Durably stores `snap` (tmp, fsync, rename, fsync dir), then deletes all but the newest retainCount. */
  async save(snap: Snapshot): Promise<void> {
    const name = snapshotFileName(snap.meta.term, snap.meta.index);
    const tmpPath = posix.join(this.dir, name.replace(/\.snap$/, '.tmp'));
    const h = await this.fs.open(tmpPath, { create: true, truncate: true });
    try {
      await h.write(encodeSnapshotFile(snap), 0);
      await h.sync();
    } finally {
      await h.close();
    }
    await this.fs.rename(tmpPath, posix.join(this.dir, name));
    await this.fs.fsyncDir(this.dir);
    this.files = this.files.filter((f) => f.name !== name);
    this.files.push({ name, term: snap.meta.term, index: snap.meta.index });
    this.files.sort((a, b) => a.index - b.index || a.term - b.term);
    const old = this.files.slice(0, Math.max(0, this.files.length - this.retainCount));
    for (const f of old) await this.fs.unlink(posix.join(this.dir, f.name));
    if (old.length > 0) {
      this.files = this.files.slice(old.length);
      await this.fs.fsyncDir(this.dir);
    }
  }
}
