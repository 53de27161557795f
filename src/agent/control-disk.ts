/**
 * What the control shell keeps on disk, behind two small interfaces: the
 * control.json facts (control-meta.ts) and the Raft storage (WAL and
 * snapshots). The real ones are files under the data directory
 * (fileControlDisk); the simulator's keep the same contract on a simulated
 * disk that loses what was not fsynced when its process crashes
 * (src/sim/control-disk.ts).
 *
 * Contract of every write: the promise resolves once the data is durable
 * (fsynced); the shell sends nothing that depends on it before then.
 */
import * as path from 'node:path';
import type { ConfState, RaftInitialState, Snapshot } from '../raft/types.js';
import { RaftStorage, type SaveRequest } from '../storage/raft-storage.js';
import { readControlMeta, writeControlMeta, type ControlMeta } from './control-meta.js';

export type { SaveRequest };

/** Raft's durable state as the control shell uses it (RaftStorage in the real world). */
export interface ControlRaftStorage {
  /** The state to restart Raft from; `bootstrapConf` is used when no snapshot is stored. */
  load(bootstrapConf: ConfState): RaftInitialState;
  /** Persist a Ready's snapshot (first), then its hard state and entries; resolves once durable. */
  save(request: SaveRequest): Promise<void>;
  /** Store a snapshot the node took of its own state machine (its log is kept after meta.index). */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** Drop the stored log up to index; index must be covered by a saved snapshot. */
  compact(index: number): Promise<unknown>;
  /** Counters for the status view. */
  metrics(): object;
  close(): Promise<void>;
}

/** The control plane's durable state: control.json and the Raft storage. */
export interface ControlDisk {
  /** control.json, or {} when there is none. */
  readMeta(): Promise<ControlMeta>;
  /** Replace control.json atomically; resolves once durable. */
  writeMeta(meta: ControlMeta): Promise<void>;
  /** Open (creating if needed) the Raft storage. */
  openRaft(): Promise<ControlRaftStorage>;
}

/** The real disk: dataDir/control.json and RaftStorage in dataDir/raft. */
export function fileControlDisk(dataDir: string): ControlDisk {
  return {
    readMeta: () => readControlMeta(dataDir),
    writeMeta: (meta) => writeControlMeta(dataDir, meta),
    openRaft: () => RaftStorage.open(path.join(dataDir, 'raft')),
  };
}
