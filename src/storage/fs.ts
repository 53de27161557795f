/**
 * The small file-system surface storage needs, with a real implementation on
 * node:fs/promises (I/O runs on the libuv thread pool, so an fsync never blocks
 * the event loop). The crash-testing twin is CrashFs in src/sim/crash-fs.ts.
 */
import { constants, promises as fsp } from 'node:fs';
import { ErrorCode, ShoalError } from '../util/errors.js';

export interface FileHandle {
  readonly path: string;
  /** Writes all of `data` at byte offset `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Writes all of `data` at the current end of the file. */
  append(data: Uint8Array): Promise<void>;
  /** fsync: data and metadata. */
  sync(): Promise<void>;
  /** fdatasync: data and the metadata needed to read it back (size). */
  datasync(): Promise<void>;
  truncate(sizeBytes: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Create the file if missing (the new directory entry is durable only after fsyncDir). */
  create?: boolean;
  /** Truncate to zero length on open. */
  truncate?: boolean;
}

export interface FileSystem {
  open(path: string, options?: OpenOptions): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Entry names (not paths), sorted. */
  readdir(dir: string): Promise<string[]>;
  /** Recursive; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  /** Makes creates, renames and unlinks in `dir` durable. */
  fsyncDir(dir: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

function ioError(op: string, path: string, cause: unknown): ShoalError {
  return new ShoalError(ErrorCode.StorageIo, `${op} ${path} failed: ${(cause as Error)?.message ?? String(cause)}`, {
    cause,
    details: { op, path },
  });
}

async function wrap<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw ioError(op, path, e);
  }
}

class NodeFileHandle implements FileHandle {
  constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    private sizeBytes: number,
  ) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    await wrap('write', this.path, async () => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    });
    this.sizeBytes = Math.max(this.sizeBytes, position + data.length);
  }

  append(data: Uint8Array): Promise<void> {
    return this.write(data, this.sizeBytes);
  }

  sync(): Promise<void> {
    return wrap('fsync', this.path, () => this.fh.sync());
  }

  datasync(): Promise<void> {
    return wrap('fdatasync', this.path, () => this.fh.datasync());
  }

  async truncate(sizeBytes: number): Promise<void> {
    await wrap('truncate', this.path, () => this.fh.truncate(sizeBytes));
    this.sizeBytes = sizeBytes;
  }

  size(): Promise<number> {
    return Promise.resolve(this.sizeBytes);
  }

  close(): Promise<void> {
    return wrap('close', this.path, () => this.fh.close());
  }
}

/** The real file system. */
export class NodeFs implements FileSystem {
  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    let flags = constants.O_RDWR;
    if (options.create === true) flags |= constants.O_CREAT;
    if (options.truncate === true) flags |= constants.O_TRUNC;
    const fh = await wrap('open', path, () => fsp.open(path, flags, 0o644));
    const st = await wrap('stat', path, () => fh.stat());
    return new NodeFileHandle(path, fh, st.size);
  }

  async readFile(path: string): Promise<Uint8Array> {
    return wrap('readFile', path, () => fsp.readFile(path));
  }

  rename(from: string, to: string): Promise<void> {
    return wrap('rename', from, () => fsp.rename(from, to));
  }

  unlink(path: string): Promise<void> {
    return wrap('unlink', path, () => fsp.unlink(path));
  }

  async readdir(dir: string): Promise<string[]> {
    const names = await wrap('readdir', dir, () => fsp.readdir(dir));
    return names.sort();
  }

  async mkdir(dir: string): Promise<void> {
    await wrap('mkdir', dir, () => fsp.mkdir(dir, { recursive: true }));
  }

  async fsyncDir(dir: string): Promise<void> {
    await wrap('fsyncDir', dir, async () => {
      const fh = await fsp.open(dir, constants.O_RDONLY);
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fsp.stat(path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw ioError('stat', path, e);
    }
  }
}
