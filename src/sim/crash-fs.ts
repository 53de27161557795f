/**
 * An in-memory FileSystem for crash tests. Per file it keeps the bytes as of
 * the last fsync plus the list of writes/truncates since; per directory the
 * entries as of the last fsyncDir. `crash(rng)` keeps, per file, the synced
 * bytes plus a random prefix of the unsynced operations (the last one possibly
 * torn mid-write), and per directory only the durable entries.
 *
 * `haltAfterOps` stops the "process" after that many mutating operations:
 * the next one (and every later call) throws StorageIo, as if the machine had
 * lost power there. Enumerating haltAfterOps = 0, 1, 2, ... enumerates every
 * cut point of a write sequence (before/after each write, fsync, rename...).
 *
 * Simplifications: mkdir is durable at once; unsynced operations on one file
 * reach the disk in order (a prefix), which is weaker than a real disk that
 * may reorder pages; fsync and fdatasync are the same.
 */
import { posix } from 'node:path';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { FileHandle, FileSystem, OpenOptions } from '../storage/fs.js';

type PendingOp = { kind: 'write'; position: number; data: Uint8Array } | { kind: 'truncate'; sizeBytes: number };

interface Inode {
  current: Uint8Array;
  durable: Uint8Array;
  pending: PendingOp[];
}

interface Dir {
  current: Map<string, Inode>;
  durable: Map<string, Inode>;
}

function applyOp(bytes: Uint8Array, op: PendingOp): Uint8Array {
  if (op.kind === 'truncate') {
    const out = new Uint8Array(op.sizeBytes);
    out.set(bytes.subarray(0, Math.min(bytes.length, op.sizeBytes)));
    return out;
  }
  const end = op.position + op.data.length;
  const out = end > bytes.length ? new Uint8Array(end) : bytes.slice();
  if (end > bytes.length) out.set(bytes);
  out.set(op.data, op.position);
  return out;
}

function opUnits(op: PendingOp): number {
  return op.kind === 'write' ? op.data.length : 1;
}

export interface CrashFsStats {
  mutatingOps: number;
  fsyncs: number;
  dirFsyncs: number;
  crashes: number;
}

export class CrashFs implements FileSystem {
  /** Throw on the mutating operation after this many (Infinity: never). */
  haltAfterOps = Number.POSITIVE_INFINITY;
  private halted = false;
  private epoch = 0;
  private readonly dirs = new Map<string, Dir>();
  readonly stats: CrashFsStats = { mutatingOps: 0, fsyncs: 0, dirFsyncs: 0, crashes: 0 };

  constructor() {
    this.dirs.set('/', { current: new Map(), durable: new Map() });
  }

  get isHalted(): boolean {
    return this.halted;
  }

  /** Counts one mutating operation; throws if the process has "died". */
  tick(op: string, path: string): void {
    this.checkAlive(op, path);
    if (this.stats.mutatingOps >= this.haltAfterOps) {
      this.halted = true;
      this.checkAlive(op, path);
    }
    this.stats.mutatingOps++;
  }

  private checkAlive(op: string, path: string): void {
    if (this.halted) {
      throw new ShoalError(ErrorCode.StorageIo, `${op} ${path}: simulated power loss`, { details: { op, path } });
    }
  }

  /**
   * Power loss: open handles die; each directory keeps its durable entries;
   * each surviving file keeps its synced bytes plus a random prefix of what
   * followed. Clears the halt so the "next boot" can use the file system.
   */
  crash(rng: Rng): void {
    const inodes = new Set<Inode>();
    for (const dir of this.dirs.values()) {
      dir.current = new Map(dir.durable);
      for (const inode of dir.current.values()) inodes.add(inode);
    }
    for (const inode of inodes) {
      let bytes = inode.durable;
      const totalUnits = inode.pending.reduce((n, op) => n + opUnits(op), 0);
      let budget = rng.int(totalUnits + 1);
      for (const op of inode.pending) {
        if (budget <= 0) break;
        const units = opUnits(op);
        if (op.kind === 'write' && budget < units) {
          bytes = applyOp(bytes, { kind: 'write', position: op.position, data: op.data.subarray(0, budget) });
        } else {
          bytes = applyOp(bytes, op);
        }
        budget -= units;
      }
      inode.current = bytes;
      inode.durable = bytes;
      inode.pending = [];
    }
    this.epoch++;
    this.halted = false;
    this.haltAfterOps = Number.POSITIVE_INFINITY;
    this.stats.crashes++;
  }

  /** Test helper: XOR one byte in place, synced and unsynced views alike (media corruption). */
  corruptByte(path: string, offset: number, xorMask = 0x01): void {
    const inode = this.lookup(path);
    assert(inode !== undefined, `corruptByte: no file ${path}`);
    assert(offset >= 0 && offset < inode.current.length, `corruptByte: offset ${offset} out of range`);
    inode.current[offset] ^= xorMask;
    if (inode.durable !== inode.current && offset < inode.durable.length) inode.durable[offset] ^= xorMask;
  }

  /** Test helper: the current bytes of a file (a copy). */
  fileBytes(path: string): Uint8Array {
    const inode = this.lookup(path);
    assert(inode !== undefined, `fileBytes: no file ${path}`);
    return inode.current.slice();
  }

  private split(path: string): { dir: string; name: string } {
    const p = posix.normalize(path);
    return { dir: posix.dirname(p), name: posix.basename(p) };
  }

  private dirOf(dirPath: string, op: string): Dir {
    const dir = this.dirs.get(posix.normalize(dirPath));
    if (dir === undefined) throw new ShoalError(ErrorCode.StorageIo, `${op}: no directory ${dirPath}`, { details: { op, path: dirPath } });
    return dir;
  }

  private lookup(path: string): Inode | undefined {
    const { dir, name } = this.split(path);
    return this.dirs.get(dir)?.current.get(name);
  }

  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    this.checkAlive('open', path);
    const { dir, name } = this.split(path);
    const d = this.dirOf(dir, 'open');
    let inode = d.current.get(name);
    if (inode === undefined) {
      if (options.create !== true) throw new ShoalError(ErrorCode.StorageIo, `open ${path}: no such file`, { details: { op: 'open', path } });
      this.tick('create', path);
      inode = { current: new Uint8Array(0), durable: new Uint8Array(0), pending: [] };
      d.current.set(name, inode);
    }
    const handle = new CrashFileHandle(this, posix.normalize(path), inode, this.epoch);
    if (options.truncate === true && inode.current.length > 0) await handle.truncate(0);
    return handle;
  }

  async readFile(path: string): Promise<Uint8Array> {
    this.checkAlive('readFile', path);
    const inode = this.lookup(path);
    if (inode === undefined) throw new ShoalError(ErrorCode.StorageIo, `readFile ${path}: no such file`, { details: { op: 'readFile', path } });
    return inode.current.slice();
  }

  async rename(from: string, to: string): Promise<void> {
    const a = this.split(from);
    const b = this.split(to);
    const da = this.dirOf(a.dir, 'rename');
    const db = this.dirOf(b.dir, 'rename');
    const inode = da.current.get(a.name);
    if (inode === undefined) throw new ShoalError(ErrorCode.StorageIo, `rename ${from}: no such file`, { details: { op: 'rename', path: from } });
    this.tick('rename', from);
    da.current.delete(a.name);
    db.current.set(b.name, inode);
  }

  async unlink(path: string): Promise<void> {
    const { dir, name } = this.split(path);
    const d = this.dirOf(dir, 'unlink');
    if (!d.current.has(name)) throw new ShoalError(ErrorCode.StorageIo, `unlink ${path}: no such file`, { details: { op: 'unlink', path } });
    this.tick('unlink', path);
    d.current.delete(name);
  }

  async readdir(dir: string): Promise<string[]> {
    this.checkAlive('readdir', dir);
    const d = this.dirOf(dir, 'readdir');
    const names = [...d.current.keys()];
    const prefix = posix.normalize(dir) === '/' ? '/' : `${posix.normalize(dir)}/`;
    for (const sub of this.dirs.keys()) {
      if (sub !== '/' && sub.startsWith(prefix) && !sub.slice(prefix.length).includes('/')) names.push(sub.slice(prefix.length));
    }
    return names.sort();
  }

  async mkdir(dir: string): Promise<void> {
    this.checkAlive('mkdir', dir);
    let p = posix.normalize(dir);
    const chain: string[] = [];
    while (!this.dirs.has(p)) {
      chain.push(p);
      p = posix.dirname(p);
    }
    for (const d of chain.reverse()) this.dirs.set(d, { current: new Map(), durable: new Map() });
  }

  async fsyncDir(dir: string): Promise<void> {
    const d = this.dirOf(dir, 'fsyncDir');
    this.tick('fsyncDir', dir);
    d.durable = new Map(d.current);
    this.stats.dirFsyncs++;
  }

  async exists(path: string): Promise<boolean> {
    this.checkAlive('exists', path);
    return this.lookup(path) !== undefined || this.dirs.has(posix.normalize(path));
  }

  /** @internal used by CrashFileHandle */
  checkHandle(epoch: number, op: string, path: string): void {
    this.checkAlive(op, path);
    if (epoch !== this.epoch) throw new ShoalError(ErrorCode.StorageIo, `${op} ${path}: handle from before a crash`, { details: { op, path } });
  }
}

class CrashFileHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly fs: CrashFs,
    readonly path: string,
    private readonly inode: Inode,
    private readonly epoch: number,
  ) {}

  private use(op: string, mutating: boolean): void {
    assert(!this.closed, `${op} on closed handle ${this.path}`);
    this.fs.checkHandle(this.epoch, op, this.path);
    if (mutating) this.fs.tick(op, this.path);
  }

  private record(op: PendingOp): void {
    this.inode.current = applyOp(this.inode.current, op);
    this.inode.pending.push(op);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.use('write', true);
    this.record({ kind: 'write', position, data: data.slice() });
  }

  append(data: Uint8Array): Promise<void> {
    return this.write(data, this.inode.current.length);
  }

  async sync(): Promise<void> {
    this.use('fsync', true);
    this.inode.durable = this.inode.current;
    this.inode.pending = [];
    this.fs.stats.fsyncs++;
  }

  datasync(): Promise<void> {
    return this.sync();
  }

  async truncate(sizeBytes: number): Promise<void> {
    this.use('truncate', true);
    this.record({ kind: 'truncate', sizeBytes });
  }

  async size(): Promise<number> {
    this.use('size', false);
    return this.inode.current.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
