/**
 * Raft's durable state: a WAL (hard state + entries + snapshot markers) in
 * `<dir>/wal` and snapshot files in `<dir>/snap`.
 *
 * save(ready) persists the snapshot first (its own fsyncs), then the snapshot
 * marker, hard state and entries as one group-committed write+fdatasync: term
 * and vote are durable together with the entries, before the shell sends any
 * message that depends on them.
 */
import { posix } from 'node:path';
import type { ConfState, Entry, HardState, RaftInitialState, Snapshot } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { NodeFs, type FileSystem } from './fs.js';
import { entriesAfterBase } from './replay-log.js';
import { SnapshotStore, type SnapshotStoreOptions, type SnapshotStoreReport } from './snapshot-store.js';
import { Wal, type WalMetrics, type WalOptions } from './wal.js';
import type { WalRecoveryReport } from './wal-recovery.js';

export interface RaftStorageOptions {
  wal?: WalOptions;
  snapshots?: SnapshotStoreOptions;
}

export interface RaftStorageReport {
  wal: WalRecoveryReport;
  snapshots: SnapshotStoreReport;
  /** How the WAL's entries relate to the loaded snapshot. */
  logVsSnapshot: 'no-snapshot' | 'kept-suffix' | 'contiguous' | 'replaced';
}

export interface RaftStorageMetrics extends WalMetrics {
  snapshotsSaved: number;
}

export interface SaveRequest {
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

export class RaftStorage {
  private snapshotsSaved = 0;
  private latestSnapshotIndex: number;
  private closed = false;

  private constructor(
    private readonly wal: Wal,
    private readonly snapshots: SnapshotStore,
    private readonly initial: { hardState: HardState; snapshot?: Snapshot; entries: Entry[] },
    readonly report: RaftStorageReport,
  ) {
    this.latestSnapshotIndex = initial.snapshot?.meta.index ?? 0;
  }

  /** Opens (creating if needed) the storage in `dir` and recovers its state. */
  static async open(dir: string, fs: FileSystem = new NodeFs(), options: RaftStorageOptions = {}): Promise<RaftStorage> {
    await fs.mkdir(dir);
    const snapshots = await SnapshotStore.open(fs, posix.join(dir, 'snap'), options.snapshots);
    const snapshot = await snapshots.loadNewest();
    const wal = await Wal.open(fs, posix.join(dir, 'wal'), options.wal);
    const rec = wal.recovered;
    let entries = rec.entries;
    let logVsSnapshot: RaftStorageReport['logVsSnapshot'] = 'no-snapshot';
    const hardState = { ...(rec.hardState ?? EMPTY_HARD_STATE) };
    if (snapshot !== undefined) {
      const r = entriesAfterBase(entries, snapshot.meta);
      if (r.outcome === 'gap') {
        await wal.close();
        throw new ShoalError(
          ErrorCode.CorruptSnapshot,
          `log starts at ${entries[0].index} but the newest snapshot covers only up to ${snapshot.meta.index}: a newer snapshot is missing`,
          { details: { snapshotIndex: snapshot.meta.index, firstLogIndex: entries[0].index } },
        );
      }
      entries = r.entries;
      logVsSnapshot = r.outcome;
      const m = rec.snapshotMarker;
      if (m === undefined || m.index !== snapshot.meta.index || m.term !== snapshot.meta.term) {
        // A crash after the snapshot became durable but before its WAL marker: record the marker now,
        // so the WAL's base (and the next replay) agrees with what is loaded.
        await wal.appendSnapshotMarker({ index: snapshot.meta.index, term: snapshot.meta.term });
      }
      // The snapshot holds committed state; a crash between it and the WAL write can leave commit behind.
      hardState.commit = Math.max(hardState.commit, snapshot.meta.index);
    }
    return new RaftStorage(wal, snapshots, { hardState, snapshot, entries }, {
      wal: rec.report,
      snapshots: snapshots.report,
      logVsSnapshot,
    });
  }

  /** The state to restart Raft from; `bootstrapConf` is used when no snapshot is stored. */
  load(bootstrapConf: ConfState): RaftInitialState {
    const { hardState, snapshot, entries } = this.initial;
    return {
      hardState: { ...hardState },
      snapshot,
      entries: entries.slice(),
      conf: snapshot?.meta.conf ?? bootstrapConf,
    };
  }

  /** Persists a Ready's snapshot (first), then its hard state and entries in one durable write. */
  async save(ready: SaveRequest): Promise<void> {
    this.checkOpen();
    if (ready.snapshot !== undefined) {
      await this.snapshots.save(ready.snapshot);
      this.snapshotsSaved++;
      this.latestSnapshotIndex = Math.max(this.latestSnapshotIndex, ready.snapshot.meta.index);
    }
    const marker = ready.snapshot === undefined ? undefined : { index: ready.snapshot.meta.index, term: ready.snapshot.meta.term };
    await this.wal.write({ snapshotMarker: marker, hardState: ready.hardState, entries: ready.entries });
  }

  /** Stores a snapshot the node took of its own state machine (its log is kept after meta.index). */
  async saveSnapshot(snap: Snapshot): Promise<void> {
    await this.save({ snapshot: snap, entries: [] });
  }

  /** Removes WAL segments whose entries are all <= index; index must be covered by a saved snapshot. */
  compact(index: number): Promise<number> {
    this.checkOpen();
    assert(index <= this.latestSnapshotIndex, `compact(${index}) beyond the latest snapshot ${this.latestSnapshotIndex}`);
    return this.wal.compact(index);
  }

  metrics(): RaftStorageMetrics {
    return { ...this.wal.metrics, snapshotsSaved: this.snapshotsSaved };
  }

  walSegmentNames(): string[] {
    return this.wal.segmentNames();
  }

  snapshotFileNames(): string[] {
    return this.snapshots.list();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.wal.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new ShoalError(ErrorCode.NotRunning, 'RaftStorage is closed');
  }
}
