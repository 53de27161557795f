/**
 * A segmented write-ahead log with group commit.
 *
 * Every append() call made while a write+fdatasync is in flight joins the
 * next batch: one write and one fdatasync for all of them; each promise
 * resolves once its records are durable. After any I/O error the WAL is
 * failed: pending and later appends reject (the page cache state after a
 * failed fsync is unknown, so nothing more is trusted).
 *
 * Segments roll at segmentSizeBytes, at batch boundaries. A new segment
 * starts with its header and the latest hard state, so compacting away older
 * segments never loses the hard state.
 */
import { posix } from 'node:path';
import type { Entry, HardState } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { FileHandle, FileSystem } from './fs.js';
import {
  ENTRY_PAYLOAD_HEADER_BYTES,
  MAX_RECORD_PAYLOAD_BYTES_DEFAULT,
  encodeEntry,
  encodeHardState,
  encodeSegmentHeader,
  encodeSnapshotMarker,
  type SnapshotMarker,
} from './record.js';
import { recoverWal, type SegmentState, type WalRecovered } from './wal-recovery.js';
import { segmentName } from './wal-segment.js';

export interface WalOptions {
  /** Roll to a new segment once the active one reaches this size. etcd uses 64 MiB too. */
  segmentSizeBytes?: number;
  /** No record payload above this is written or read. */
  maxRecordPayloadBytes?: number;
  /** append() calls waiting for a flush; past it append() rejects with ERR_UNAVAILABLE. */
  maxPendingAppends?: number;
  /** Bytes written by one write+fdatasync (a single larger append still goes alone). */
  maxBatchBytes?: number;
}

const DEFAULTS: Required<WalOptions> = {
  segmentSizeBytes: 64 * 1024 * 1024,
  maxRecordPayloadBytes: MAX_RECORD_PAYLOAD_BYTES_DEFAULT,
  maxPendingAppends: 65_536,
  maxBatchBytes: 16 * 1024 * 1024,
};

export function validateWalOptions(options: WalOptions = {}): Required<WalOptions> {
  const o = { ...DEFAULTS, ...options };
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new ShoalError(ErrorCode.InvalidConfig, `WAL option ${k} must be a positive integer, got ${v}`);
  }
  return o;
}

export interface WalMetrics {
  fsyncs: number;
  dirFsyncs: number;
  bytesWritten: number;
  records: number;
  /** Write+fdatasync rounds. */
  batches: number;
  /** append() calls committed, summed over batches (batchAppends / batches = mean batch size). */
  batchAppends: number;
  batchAppendsMax: number;
  rejectedQueueFull: number;
  segmentsCreated: number;
  segmentsRemoved: number;
}

export interface WalWrite {
  snapshotMarker?: SnapshotMarker;
  hardState?: HardState;
  entries: Entry[];
}

interface Pending {
  bytes: Uint8Array[];
  sizeBytes: number;
  records: number;
  firstEntryIndex: number;
  maxEntryIndex: number;
  hardState?: HardState;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function sameHardState(a: HardState | undefined, b: HardState): boolean {
  return a !== undefined && a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class Wal {
  readonly metrics: WalMetrics = {
    fsyncs: 0,
    dirFsyncs: 0,
    bytesWritten: 0,
    records: 0,
    batches: 0,
    batchAppends: 0,
    batchAppendsMax: 0,
    rejectedQueueFull: 0,
    segmentsCreated: 0,
    segmentsRemoved: 0,
  };
  private queue: Pending[] = [];
  private flushing = false;
  private failure: unknown;
  private closed = false;
  private drained: (() => void)[] = [];
  /** Last index accepted by append() (queued or written), or the last marker's index. */
  private lastIndexQueued: number;
  private markerIndexQueued: number;
  private lastHardStateQueued: HardState | undefined;
  private lastHardStateWritten: HardState | undefined;
  private compacting: Promise<unknown> = Promise.resolve();
  /** Settles when the most recently queued write is durable (or failed). */
  private lastQueued: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly options: Required<WalOptions>,
    readonly recovered: WalRecovered,
    private readonly segments: SegmentState[],
    private active: FileHandle,
    private lastSeq: number,
  ) {
    const last = recovered.entries.length > 0 ? recovered.entries[recovered.entries.length - 1].index : 0;
    this.markerIndexQueued = recovered.snapshotMarker?.index ?? 0;
    this.lastIndexQueued = Math.max(last, this.markerIndexQueued);
    this.lastHardStateQueued = recovered.hardState;
    this.lastHardStateWritten = recovered.hardState;
  }

  /** Recovers the WAL in `dir` (creating it if empty); `wal.recovered` holds what it found. */
  static async open(fs: FileSystem, dir: string, options?: WalOptions): Promise<Wal> {
    const opts = validateWalOptions(options);
    await fs.mkdir(dir);
    const { recovered, segments, lastSeq } = await recoverWal(fs, dir, opts.maxRecordPayloadBytes);
    let seq = lastSeq;
    let active: FileHandle;
    let created = 0;
    if (segments.length === 0) {
      seq += 1;
      const lastIndex = recovered.entries.at(-1)?.index ?? recovered.snapshotMarker?.index ?? 0;
      const name = segmentName(seq, lastIndex + 1);
      const header = encodeSegmentHeader({ seq, firstIndex: lastIndex + 1 });
      const hs = recovered.hardState === undefined ? new Uint8Array(0) : encodeHardState(recovered.hardState);
      active = await fs.open(posix.join(dir, name), { create: true, truncate: true });
      await active.write(concat([header, hs]), 0);
      await active.datasync();
      await fs.fsyncDir(dir);
      segments.push({ name, seq, firstIndex: lastIndex + 1, maxEntryIndex: 0, sizeBytes: header.length + hs.length });
      created = 1;
    } else {
      active = await fs.open(posix.join(dir, segments[segments.length - 1].name));
    }
    const wal = new Wal(fs, dir, opts, recovered, segments, active, seq);
    wal.metrics.segmentsCreated += created;
    wal.metrics.fsyncs += created;
    wal.metrics.dirFsyncs += created;
    return wal;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  /** Appends hard state (if set) and entries durably; resolves after one (shared) fdatasync. */
  append(hardState: HardState | undefined, entries: Entry[]): Promise<void> {
    return this.write({ hardState, entries });
  }

  /** Appends a snapshot marker (the log's new base) durably. */
  appendSnapshotMarker(marker: SnapshotMarker): Promise<void> {
    return this.write({ snapshotMarker: marker, entries: [] });
  }

  /** Records are written in order: marker, hard state, entries; all in one batch. */
  write(w: WalWrite): Promise<void> {
    if (this.closed) return Promise.reject(new ShoalError(ErrorCode.NotRunning, 'WAL is closed'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.queue.length >= this.options.maxPendingAppends) {
      this.metrics.rejectedQueueFull++;
      return Promise.reject(new ShoalError(ErrorCode.Unavailable, `WAL queue full (${this.options.maxPendingAppends} appends pending)`));
    }
    const bytes: Uint8Array[] = [];
    let lastIndex = this.lastIndexQueued;
    let markerIndex = this.markerIndexQueued;
    if (w.snapshotMarker !== undefined) {
      bytes.push(encodeSnapshotMarker(w.snapshotMarker));
      markerIndex = w.snapshotMarker.index;
      lastIndex = Math.max(lastIndex, markerIndex);
    }
    let hardState: HardState | undefined;
    if (w.hardState !== undefined && !sameHardState(this.lastHardStateQueued, w.hardState)) {
      hardState = { ...w.hardState };
      bytes.push(encodeHardState(hardState));
    }
    for (let i = 0; i < w.entries.length; i++) {
      const e = w.entries[i];
      assert(Number.isSafeInteger(e.index) && e.index >= 1, `entry index ${e.index} must be >= 1`);
      if (i > 0) assert(e.index === w.entries[i - 1].index + 1, `entries not contiguous at ${e.index}`);
      else {
        assert(e.index <= lastIndex + 1, `entry ${e.index} leaves a gap after ${lastIndex}`);
        assert(e.index > markerIndex, `entry ${e.index} is covered by the snapshot at ${markerIndex}`);
      }
      if (ENTRY_PAYLOAD_HEADER_BYTES + e.data.length > this.options.maxRecordPayloadBytes) {
        return Promise.reject(
          new ShoalError(ErrorCode.InvalidArgument, `entry ${e.index} has ${e.data.length} data bytes, above the record limit ${this.options.maxRecordPayloadBytes}`),
        );
      }
      bytes.push(encodeEntry(e));
    }
    if (w.entries.length > 0) lastIndex = w.entries[w.entries.length - 1].index;
    // Nothing new to write (e.g. a repeated hard state): still durable only once what is queued is.
    if (bytes.length === 0) return this.lastQueued;
    this.lastIndexQueued = lastIndex;
    this.markerIndexQueued = markerIndex;
    if (hardState !== undefined) this.lastHardStateQueued = hardState;
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({
        bytes,
        sizeBytes: bytes.reduce((n, b) => n + b.length, 0),
        records: bytes.length,
        firstEntryIndex: w.entries[0]?.index ?? 0,
        maxEntryIndex: w.entries.at(-1)?.index ?? 0,
        hardState,
        resolve,
        reject,
      });
      if (!this.flushing) {
        this.flushing = true;
        queueMicrotask(() => void this.flushLoop());
      }
    });
    this.lastQueued = done;
    return done;
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0 && this.failure === undefined) {
      let n = 0;
      let sizeBytes = 0;
      while (n < this.queue.length && (n === 0 || sizeBytes + this.queue[n].sizeBytes <= this.options.maxBatchBytes)) {
        sizeBytes += this.queue[n].sizeBytes;
        n++;
      }
      const batch = this.queue.splice(0, n);
      try {
        await this.writeBatch(batch);
      } catch (e) {
        this.failure = e;
        for (const p of batch) p.reject(e);
        break;
      }
      for (const p of batch) p.resolve();
    }
    if (this.failure !== undefined) {
      for (const p of this.queue.splice(0)) p.reject(this.failure);
    }
    this.flushing = false;
    for (const d of this.drained.splice(0)) d();
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const parts: Uint8Array[] = [];
    let records = 0;
    let maxEntryIndex = 0;
    let firstEntryIndex = 0;
    for (const p of batch) {
      parts.push(...p.bytes);
      records += p.records;
      maxEntryIndex = Math.max(maxEntryIndex, p.maxEntryIndex);
      if (firstEntryIndex === 0 && p.firstEntryIndex > 0) firstEntryIndex = p.firstEntryIndex;
    }
    let seg = this.segments[this.segments.length - 1];
    const roll = seg.sizeBytes >= this.options.segmentSizeBytes;
    if (roll) {
      const seq = this.lastSeq + 1;
      const firstIndex = firstEntryIndex > 0 ? firstEntryIndex : this.lastWrittenIndex() + 1;
      const name = segmentName(seq, firstIndex);
      const prefix = [encodeSegmentHeader({ seq, firstIndex })];
      if (this.lastHardStateWritten !== undefined) prefix.push(encodeHardState(this.lastHardStateWritten));
      records += prefix.length;
      parts.unshift(...prefix);
      const handle = await this.fs.open(posix.join(this.dir, name), { create: true, truncate: true });
      await this.active.close();
      this.active = handle;
      this.lastSeq = seq;
      seg = { name, seq, firstIndex, maxEntryIndex: 0, sizeBytes: 0 };
      this.segments.push(seg);
      this.metrics.segmentsCreated++;
    }
    const data = concat(parts);
    await this.active.write(data, seg.sizeBytes);
    seg.sizeBytes += data.length;
    seg.maxEntryIndex = Math.max(seg.maxEntryIndex, maxEntryIndex);
    await this.active.datasync();
    this.metrics.fsyncs++;
    if (roll) {
      await this.fs.fsyncDir(this.dir);
      this.metrics.dirFsyncs++;
    }
    for (const p of batch) if (p.hardState !== undefined) this.lastHardStateWritten = p.hardState;
    this.metrics.bytesWritten += data.length;
    this.metrics.records += records;
    this.metrics.batches++;
    this.metrics.batchAppends += batch.length;
    this.metrics.batchAppendsMax = Math.max(this.metrics.batchAppendsMax, batch.length);
  }

  private lastWrittenIndex(): number {
    let max = this.recovered.entries.at(-1)?.index ?? this.recovered.snapshotMarker?.index ?? 0;
    for (const s of this.segments) max = Math.max(max, s.maxEntryIndex);
    return max;
  }

  /**
   * Removes the oldest segments all of whose entries are <= index (never the
   * active one; only a prefix, so replay order is kept). The caller must hold
   * a durable snapshot covering `index`. Returns how many were removed.
   */
  compact(index: number): Promise<number> {
    const run = this.compacting.then(async () => {
      let removed = 0;
      while (this.segments.length > 1 && this.segments[0].maxEntryIndex <= index) {
        const seg = this.segments[0];
        await this.fs.unlink(posix.join(this.dir, seg.name));
        this.segments.shift();
        removed++;
      }
      if (removed > 0) {
        await this.fs.fsyncDir(this.dir);
        this.metrics.dirFsyncs++;
        this.metrics.segmentsRemoved += removed;
      }
      return removed;
    });
    this.compacting = run.catch(() => undefined);
    return run;
  }

  /** Waits for pending appends, then closes the active segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushing) await new Promise<void>((resolve) => this.drained.push(resolve));
    await this.compacting;
    await this.active.close();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
