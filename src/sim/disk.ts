import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

/**
 * A simulated disk for crash tests on virtual time: synchronous (no promises
 * to interleave with the scheduler), deterministic, and unforgiving.
 *
 * Durability model, per file: bytes are durable once fsync(path) returns;
 * unsynced overwrites of synced bytes are lost on a crash; of the unsynced
 * tail past the synced size a random prefix may survive (a torn write). Per
 * directory: creates, renames and unlinks are durable only after
 * fsyncDir(dir) (POSIX; with metadata 'immediate' they are durable at once).
 * Directories are implicit: a path's directory is everything before its last
 * '/'.
 *
 * src/storage/crash-fs.ts (CrashFs) is the promise-based twin of the storage
 * layer's FileSystem with the same model; this one is for simulated nodes
 * that persist synchronously inside a scheduler event.
 */

/** The synchronous file-system surface a simulated node persists through. */
export interface SimFileSystem {
  /** Write data at offsetBytes, creating the file and zero-filling any gap. */
  write(path: string, offsetBytes: number, data: Uint8Array): void;
  /** Write at the end of the file (creating it); returns the offset written at. */
  append(path: string, data: Uint8Array): number;
  truncate(path: string, sizeBytes: number): void;
  /** Make the file's current bytes durable. */
  fsync(path: string): void;
  /** Make creates, renames and unlinks in dir durable. */
  fsyncDir(dir: string): void;
  /** Atomically replace `to` with `from`. */
  rename(from: string, to: string): void;
  unlink(path: string): void;
  readFile(path: string): Uint8Array;
  read(path: string, offsetBytes: number, lengthBytes: number): Uint8Array;
  size(path: string): number;
  exists(path: string): boolean;
  /** Names (not paths) of the files directly in dir, sorted. */
  list(dir: string): string[];
}

export const SimDiskOp = {
  write: 'write',
  truncate: 'truncate',
  fsync: 'fsync',
  fsyncDir: 'fsyncDir',
  rename: 'rename',
  unlink: 'unlink',
  read: 'read',
} as const;
export type SimDiskOp = (typeof SimDiskOp)[keyof typeof SimDiskOp];

export interface SimDiskOptions {
  /** Total bytes of all files; a write past it fails with StorageIo (ENOSPC). */
  capacityBytes?: number;
  /** Files at once; creating one more fails with StorageIo. */
  filesMax?: number;
  /** 'fsyncDir' (default): namespace changes need fsyncDir; 'immediate': durable at once. */
  metadata?: 'fsyncDir' | 'immediate';
}

export const SimDiskDefaults = {
  capacityBytes: 1 << 30,
  filesMax: 100_000,
} as const;

export interface SimDiskStats {
  writes: number;
  bytesWritten: number;
  fsyncs: number;
  dirFsyncs: number;
  crashes: number;
  /** Operations failed by failNext() or by the capacity limit. */
  ioErrors: number;
  /** Unsynced bytes that survived crashes as torn tails. */
  tornBytesKept: number;
  /** Unsynced bytes lost in crashes. */
  unsyncedBytesLost: number;
}

interface Inode {
  buf: Uint8Array;
  sizeBytes: number;
  synced: Uint8Array;
  syncedSizeBytes: number;
  /** Lowest offset changed since the last fsync (Infinity if clean). */
  dirtyFromBytes: number;
}

export interface CrashOptions {
  /** Keep a random prefix of each file's unsynced tail (default true); false keeps only synced bytes. */
  tornTail?: boolean;
}

export class SimDisk implements SimFileSystem {
  readonly stats: SimDiskStats = {
    writes: 0,
    bytesWritten: 0,
    fsyncs: 0,
    dirFsyncs: 0,
    crashes: 0,
    ioErrors: 0,
    tornBytesKept: 0,
    unsyncedBytesLost: 0,
  };
  readonly capacityBytes: number;
  readonly filesMax: number;
  readonly metadata: 'fsyncDir' | 'immediate';

  private current = new Map<string, Inode>();
  private durable = new Map<string, Inode>();
  private usedBytes = 0;
  private readonly failures = new Map<SimDiskOp, number>();

  constructor(options: SimDiskOptions = {}) {
    this.capacityBytes = options.capacityBytes ?? SimDiskDefaults.capacityBytes;
    this.filesMax = options.filesMax ?? SimDiskDefaults.filesMax;
    this.metadata = options.metadata ?? 'fsyncDir';
  }

  /** Make the next `count` operations of this kind fail with StorageIo (EIO). */
  failNext(op: SimDiskOp, count = 1): void {
    assert(count >= 0, 'failNext count must be >= 0');
    this.failures.set(op, (this.failures.get(op) ?? 0) + count);
  }

  /** Bytes in all current files. */
  get usedSizeBytes(): number {
    return this.usedBytes;
  }

  write(path: string, offsetBytes: number, data: Uint8Array): void {
    assert(Number.isInteger(offsetBytes) && offsetBytes >= 0, `bad offset ${offsetBytes}`);
    this.maybeFail(SimDiskOp.write, path);
    const inode = this.current.get(path) ?? this.create(path);
    const end = offsetBytes + data.length;
    const growth = Math.max(0, end - inode.sizeBytes);
    if (this.usedBytes + growth > this.capacityBytes) {
      this.stats.ioErrors++;
      throw ioError('write', path, 'ENOSPC', `no space left (capacity ${this.capacityBytes} bytes)`);
    }
    inode.buf = ensureCapacity(inode.buf, end);
    inode.buf.set(data, offsetBytes);
    inode.sizeBytes += growth;
    this.usedBytes += growth;
    inode.dirtyFromBytes = Math.min(inode.dirtyFromBytes, Math.min(offsetBytes, inode.sizeBytes - growth));
    this.stats.writes++;
    this.stats.bytesWritten += data.length;
  }

  append(path: string, data: Uint8Array): number {
    const offsetBytes = this.current.get(path)?.sizeBytes ?? 0;
    this.write(path, offsetBytes, data);
    return offsetBytes;
  }

  truncate(path: string, sizeBytes: number): void {
    assert(Number.isInteger(sizeBytes) && sizeBytes >= 0, `bad size ${sizeBytes}`);
    this.maybeFail(SimDiskOp.truncate, path);
    const inode = this.existing('truncate', path);
    if (sizeBytes > inode.sizeBytes) {
      this.write(path, inode.sizeBytes, new Uint8Array(sizeBytes - inode.sizeBytes));
      return;
    }
    inode.buf.fill(0, sizeBytes, inode.sizeBytes);
    this.usedBytes -= inode.sizeBytes - sizeBytes;
    inode.sizeBytes = sizeBytes;
    inode.dirtyFromBytes = Math.min(inode.dirtyFromBytes, sizeBytes);
  }

  fsync(path: string): void {
    this.maybeFail(SimDiskOp.fsync, path);
    const inode = this.existing('fsync', path);
    this.stats.fsyncs++;
    if (inode.dirtyFromBytes === Infinity) return;
    const from = Math.min(inode.dirtyFromBytes, inode.sizeBytes);
    inode.synced = ensureCapacity(inode.synced, inode.sizeBytes);
    inode.synced.set(inode.buf.subarray(from, inode.sizeBytes), from);
    if (inode.syncedSizeBytes > inode.sizeBytes) inode.synced.fill(0, inode.sizeBytes, inode.syncedSizeBytes);
    inode.syncedSizeBytes = inode.sizeBytes;
    inode.dirtyFromBytes = Infinity;
  }

  fsyncDir(dir: string): void {
    this.maybeFail(SimDiskOp.fsyncDir, dir);
    this.stats.dirFsyncs++;
    for (const path of [...this.durable.keys()]) if (dirname(path) === dir) this.durable.delete(path);
    for (const [path, inode] of this.current) if (dirname(path) === dir) this.durable.set(path, inode);
  }

  rename(from: string, to: string): void {
    this.maybeFail(SimDiskOp.rename, from);
    const inode = this.existing('rename', from);
    if (from === to) return;
    const replaced = this.current.get(to);
    if (replaced !== undefined) this.usedBytes -= replaced.sizeBytes;
    this.current.delete(from);
    this.current.set(to, inode);
    if (this.metadata === 'immediate') {
      this.durable.delete(from);
      this.durable.set(to, inode);
    }
  }

  unlink(path: string): void {
    this.maybeFail(SimDiskOp.unlink, path);
    const inode = this.existing('unlink', path);
    this.usedBytes -= inode.sizeBytes;
    this.current.delete(path);
    if (this.metadata === 'immediate') this.durable.delete(path);
  }

  readFile(path: string): Uint8Array {
    this.maybeFail(SimDiskOp.read, path);
    const inode = this.existing('readFile', path);
    return inode.buf.slice(0, inode.sizeBytes);
  }

  read(path: string, offsetBytes: number, lengthBytes: number): Uint8Array {
    this.maybeFail(SimDiskOp.read, path);
    const inode = this.existing('read', path);
    const from = Math.min(offsetBytes, inode.sizeBytes);
    return inode.buf.slice(from, Math.min(inode.sizeBytes, from + lengthBytes));
  }

  size(path: string): number {
    return this.existing('size', path).sizeBytes;
  }

  exists(path: string): boolean {
    return this.current.has(path);
  }

  list(dir: string): string[] {
    const names: string[] = [];
    for (const path of this.current.keys()) if (dirname(path) === dir) names.push(basename(path));
    return names.sort();
  }

  /** Unsynced bytes of a file (for assertions). */
  unsyncedBytes(path: string): number {
    const inode = this.existing('unsyncedBytes', path);
    return inode.dirtyFromBytes === Infinity ? 0 : Math.max(inode.sizeBytes, inode.syncedSizeBytes) - Math.min(inode.dirtyFromBytes, inode.sizeBytes);
  }

  /**
   * Power loss. The namespace reverts to its durable entries; each file keeps
   * its synced bytes plus, with tornTail, a random prefix of its unsynced tail.
   * Pending failNext() faults are cleared.
   */
  crash(rng: Rng, options: CrashOptions = {}): void {
    const tornTail = options.tornTail ?? true;
    const survivors = new Map<string, Inode>();
    this.usedBytes = 0;
    const seen = new Set<Inode>();
    for (const [path, inode] of this.durable) {
      survivors.set(path, inode);
      if (seen.has(inode)) continue;
      seen.add(inode);
      const keptBytes = inode.syncedSizeBytes;
      const tailBytes = inode.dirtyFromBytes === Infinity ? 0 : Math.max(0, inode.sizeBytes - keptBytes);
      const tornBytes = tornTail && tailBytes > 0 ? rng.int(tailBytes + 1) : 0;
      const next = new Uint8Array(keptBytes + tornBytes);
      next.set(inode.synced.subarray(0, keptBytes));
      if (tornBytes > 0) next.set(inode.buf.subarray(keptBytes, keptBytes + tornBytes), keptBytes);
      if (inode.dirtyFromBytes !== Infinity) {
        this.stats.unsyncedBytesLost += Math.max(inode.sizeBytes, keptBytes) - Math.min(inode.dirtyFromBytes, inode.sizeBytes) - tornBytes;
      }
      this.stats.tornBytesKept += tornBytes;
      inode.buf = next;
      inode.sizeBytes = next.length;
      inode.synced = next.slice();
      inode.syncedSizeBytes = next.length;
      inode.dirtyFromBytes = Infinity;
      this.usedBytes += next.length;
    }
    this.current = survivors;
    this.durable = new Map(survivors);
    this.failures.clear();
    this.stats.crashes++;
  }

  private create(path: string): Inode {
    assert(path.length > 0 && !path.endsWith('/'), `bad file path "${path}"`);
    if (this.current.size >= this.filesMax) {
      this.stats.ioErrors++;
      throw ioError('create', path, 'EMFILE', `more than ${this.filesMax} files`);
    }
    const inode: Inode = { buf: new Uint8Array(0), sizeBytes: 0, synced: new Uint8Array(0), syncedSizeBytes: 0, dirtyFromBytes: Infinity };
    this.current.set(path, inode);
    if (this.metadata === 'immediate') this.durable.set(path, inode);
    return inode;
  }

  private existing(op: string, path: string): Inode {
    const inode = this.current.get(path);
    if (inode === undefined) throw ioError(op, path, 'ENOENT', 'no such file');
    return inode;
  }

  private maybeFail(op: SimDiskOp, path: string): void {
    const n = this.failures.get(op);
    if (n === undefined || n === 0) return;
    this.failures.set(op, n - 1);
    this.stats.ioErrors++;
    throw ioError(op, path, 'EIO', 'injected I/O error');
  }
}

function ioError(op: string, path: string, errno: string, what: string): ShoalError {
  return new ShoalError(ErrorCode.StorageIo, `${op} ${path}: ${what}`, { details: { op, path, errno } });
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function ensureCapacity(buf: Uint8Array, sizeBytes: number): Uint8Array {
  if (buf.length >= sizeBytes) return buf;
  const next = new Uint8Array(Math.max(sizeBytes, buf.length * 2, 64));
  next.set(buf);
  return next;
}
