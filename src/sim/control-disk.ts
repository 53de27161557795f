/**
 * A simulated member's data directory for the control shell: control.json
 * and the Raft storage (SimRaftStorage), behind the shell's own ControlDisk
 * interface (src/agent/control-disk.ts). It outlives the member's processes;
 * each process run gets a handle (open()).
 *
 * Every write takes virtual time (a latency drawn between
 * persistLatencyMinMs and persistLatencyMaxMs; one device, so writes
 * complete in order) and is durable only when its promise resolves. A crash
 * in between loses it: a staged Raft batch is lost or, with
 * tornWritePercent, keeps a prefix of its entries (SimRaftStorage.crash);
 * a staged control.json write leaves the old file (temp file and rename).
 * A dead run's pending writes never complete, and its later calls never
 * settle: the process is gone.
 */
import type { ControlDisk, ControlRaftStorage, SaveRequest } from '../agent/control-disk.js';
import type { ControlMeta } from '../agent/control-meta.js';
import type { ConfState, RaftInitialState, Snapshot } from '../raft/types.js';
import type { Rng } from '../util/rng.js';
import type { AsyncRunner } from './async-run.js';
import { SimRaftStorage, type PersistBatch } from './raft-storage.js';
import type { Scheduler } from './scheduler.js';

export interface SimDiskOptions {
  persistLatencyMinMs: number;
  persistLatencyMaxMs: number;
  /** Chance (percent) that a crash keeps a torn prefix of the unsynced Raft batch. */
  tornWritePercent: number;
}

/** What a process run needs to do I/O on virtual time. */
export interface SimDiskContext {
  scheduler: Scheduler;
  runner: AsyncRunner;
  /** The process's address: its writes are its events (held while paused, cancelled by a crash). */
  owner: string;
  rng: Rng;
}

const emptyConf: ConfState = { voters: [], learners: [] };

export class SimControlDisk {
  /** The Raft storage, once a run opened it (it survives crashes). */
  raft: SimRaftStorage | undefined;
  private meta: ControlMeta = {};
  private run: SimDiskRun | undefined;
  /** control.json writes that became durable, oldest first (every one a distinct object). */
  readonly metaHistory: ControlMeta[] = [];

  constructor(
    private readonly options: SimDiskOptions,
    /** Told each time a control.json write becomes durable (previous and new contents). */
    private readonly onMetaDurable: (previous: ControlMeta, next: ControlMeta) => void = () => undefined,
  ) {}

  /** The durable control.json. */
  get durableMeta(): Readonly<ControlMeta> {
    return this.meta;
  }

  /** Whether this directory ever held control state (a restart, not a first start). */
  get used(): boolean {
    return this.raft !== undefined || this.metaHistory.length > 0;
  }

  /** A new process run's view of the disk. The previous run must have crashed or stopped. */
  open(ctx: SimDiskContext): ControlDisk {
    this.run?.kill();
    this.run = new SimDiskRun(this, ctx, this.options);
    return this.run;
  }

  /** Power loss: what was not fsynced is gone (or torn); the run's pending writes never complete. */
  crash(rng: Rng): void {
    this.run?.kill();
    this.run = undefined;
    this.raft?.crash(rng, this.options.tornWritePercent);
  }

  /** @internal */
  commitMeta(meta: ControlMeta): void {
    const previous = this.meta;
    this.meta = meta;
    this.metaHistory.push(meta);
    this.onMetaDurable(previous, meta);
  }

  /** @internal */
  raftStorage(): SimRaftStorage {
    this.raft ??= new SimRaftStorage(emptyConf);
    return this.raft;
  }
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

class SimDiskRun implements ControlDisk, ControlRaftStorage {
  private dead = false;
  /** When the device finishes what it was given so far (writes complete in order). */
  private busyUntilMs = 0;
  private staged = false;
  readonly counters = { fsyncs: 0, metaWrites: 0, snapshotsSaved: 0 };

  constructor(
    private readonly disk: SimControlDisk,
    private readonly ctx: SimDiskContext,
    private readonly options: SimDiskOptions,
  ) {}

  kill(): void {
    this.dead = true;
  }

  // ---- ControlDisk -------------------------------------------------------------

  readMeta(): Promise<ControlMeta> {
    if (this.dead) return never();
    return Promise.resolve(structuredClone(this.disk.durableMeta));
  }

  writeMeta(meta: ControlMeta): Promise<void> {
    if (this.dead) return never();
    const copy = structuredClone(meta);
    return this.complete(() => {
      this.counters.metaWrites++;
      this.disk.commitMeta(copy);
    });
  }

  openRaft(): Promise<ControlRaftStorage> {
    if (this.dead) return never();
    this.disk.raftStorage();
    return Promise.resolve(this);
  }

  // ---- ControlRaftStorage -------------------------------------------------------

  load(bootstrapConf: ConfState): RaftInitialState {
    return this.disk.raftStorage().load(bootstrapConf);
  }

  save(request: SaveRequest): Promise<void> {
    if (this.dead) return never();
    const storage = this.disk.raftStorage();
    const batch: PersistBatch = { entries: request.entries };
    if (request.hardState !== undefined) batch.hardState = request.hardState;
    if (request.snapshot !== undefined) batch.snapshot = request.snapshot;
    // Written to the page cache now, durable at the fsync (a crash in between loses or tears it).
    storage.write(batch);
    this.staged = true;
    return this.complete(() => {
      this.staged = false;
      storage.fsync();
      this.counters.fsyncs++;
    });
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.dead) return never();
    const copy = structuredClone(snapshot);
    // Temp file, fsync, rename: all or nothing; the log prefix it covers goes with it (compact() has nothing left to do).
    return this.complete(() => {
      this.disk.raftStorage().compact(copy);
      this.counters.snapshotsSaved++;
    });
  }

  compact(_index: number): Promise<void> {
    if (this.dead) return never();
    return Promise.resolve();
  }

  metrics(): object {
    const raft = this.disk.raft;
    return { ...this.counters, staged: this.staged, batchesLost: raft?.batchesLost ?? 0, tornWrites: raft?.tornWrites ?? 0 };
  }

  close(): Promise<void> {
    return this.dead ? never() : Promise.resolve();
  }

  /** Run `durable` when the device gets to it (after a latency), then resolve; never if the process dies first. */
  private complete(durable: () => void): Promise<void> {
    const { scheduler, runner, owner, rng } = this.ctx;
    const { persistLatencyMinMs: lo, persistLatencyMaxMs: hi } = this.options;
    const doneMs = Math.max(scheduler.nowMs, this.busyUntilMs) + lo + rng.next() * (hi - lo);
    this.busyUntilMs = doneMs;
    return new Promise<void>((resolve) => {
      scheduler.at(
        doneMs,
        () => {
          if (this.dead) return;
          runner.markAsync();
          durable();
          resolve();
        },
        owner,
      );
    });
  }
}
