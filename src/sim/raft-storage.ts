/**
 * A simulated durable store for one Raft node: hard state, latest snapshot and
 * the log after it. Writes are staged (the page cache) and become durable only
 * at fsync; a crash between the two loses the staged batch, or, with a torn
 * write, keeps only a prefix of its entries (a WAL is written in order).
 */
import { assert } from '../util/assert.js';
import type { Rng } from '../util/rng.js';
import type { ConfState, Entry, HardState, RaftInitialState, Snapshot } from '../raft/types.js';

export interface PersistBatch {
  hardState?: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

export interface DurableRaftState {
  hardState: HardState;
  snapshot?: Snapshot;
  /** Contiguous entries after the snapshot index. */
  entries: Entry[];
}

export class SimRaftStorage {
  private durable: DurableRaftState;
  private staged: PersistBatch | undefined;
  fsyncs = 0;
  /** Staged batches lost to crashes (whole or torn). */
  batchesLost = 0;
  tornWrites = 0;

  /** The durable state when the process last started (for the lying-disk fault). */
  private atStart: DurableRaftState;

  /**
   * @param lyingDisk a broken disk for negative controls: fsync returns but
   *   nothing written since the process started survives a crash.
   */
  constructor(
    private readonly bootstrapConf: ConfState,
    private readonly lyingDisk = false,
  ) {
    this.durable = { hardState: { term: 0, vote: '', commit: 0 }, entries: [] };
    this.atStart = structuredClone(this.durable);
  }

  /** Stage a batch; it becomes durable at fsync(). One batch at a time. */
  write(batch: PersistBatch): void {
    assert(this.staged === undefined, 'a batch is already staged and not yet fsynced');
    this.staged = structuredClone(batch);
  }

  fsync(): void {
    if (this.staged === undefined) return;
    const batch = this.staged;
    this.staged = undefined;
    this.fsyncs++;
    if (batch.snapshot !== undefined) this.installSnapshot(batch.snapshot);
    this.append(batch.entries);
    if (batch.hardState !== undefined) this.durable.hardState = batch.hardState;
  }

  /** The process died: what was not fsynced is gone, except a torn prefix of entries with probability tornPercent. */
  crash(rng: Rng, tornPercent: number): void {
    const batch = this.staged;
    this.staged = undefined;
    if (this.lyingDisk) {
      this.durable = structuredClone(this.atStart);
      return;
    }
    if (batch === undefined) return;
    this.batchesLost++;
    // A snapshot is written to a temp file and renamed at fsync: never torn.
    if (batch.snapshot === undefined && batch.entries.length > 0 && rng.next() * 100 < tornPercent) {
      const kept = rng.int(batch.entries.length + 1);
      if (kept > 0) {
        this.tornWrites++;
        this.append(batch.entries.slice(0, kept));
      }
    }
  }

  /** Log compaction by the shell: snapshot durably written (temp file, fsync, rename), then the log prefix dropped. */
  compact(snapshot: Snapshot): void {
    const current = this.durable.snapshot?.meta.index ?? 0;
    if (snapshot.meta.index <= current) return;
    this.durable.snapshot = structuredClone(snapshot);
    this.durable.entries = this.durable.entries.filter((e) => e.index > snapshot.meta.index);
  }

  /** The state a restarted node loads (a deep copy); `bootstrapConf` overrides the one given at construction. */
  load(bootstrapConf: ConfState = this.bootstrapConf): RaftInitialState {
    this.atStart = structuredClone(this.durable);
    const d = structuredClone(this.durable);
    const init: RaftInitialState = { hardState: d.hardState, entries: d.entries, conf: structuredClone(bootstrapConf) };
    if (d.snapshot !== undefined) {
      init.snapshot = d.snapshot;
      // As RaftStorage.open: the snapshot holds committed state, and commit is persisted lazily (it may lag it).
      init.hardState.commit = Math.max(init.hardState.commit, d.snapshot.meta.index);
    }
    return init;
  }

  /** Durable entry at index, if stored (not compacted, not lost). */
  entry(index: number): Entry | undefined {
    const first = this.durable.entries[0]?.index;
    if (first === undefined || index < first) return undefined;
    return this.durable.entries[index - first];
  }

  get durableState(): Readonly<DurableRaftState> {
    return this.durable;
  }

  lastIndex(): number {
    const n = this.durable.entries.length;
    return n > 0 ? this.durable.entries[n - 1].index : (this.durable.snapshot?.meta.index ?? 0);
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.durable.snapshot = snapshot;
    // As etcd's MemoryStorage.ApplySnapshot: the log restarts after the snapshot.
    this.durable.entries = [];
  }

  private append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    const snapIndex = this.durable.snapshot?.meta.index ?? 0;
    assert(first > snapIndex, `append at ${first} at or below the snapshot index ${snapIndex}`);
    const kept = this.durable.entries.filter((e) => e.index < first);
    const last = kept.length > 0 ? kept[kept.length - 1].index : snapIndex;
    assert(first === last + 1, `append at ${first} leaves a gap after ${last}`);
    this.durable.entries = kept.concat(entries);
  }
}
