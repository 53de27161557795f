/**
 * The membership in force on this node: voters and learners after the last
 * APPLIED conf-change entry, and a short history of earlier states so a
 * snapshot taken at an older applied index records the right membership.
 */
import { applyConfChange, decodeConfChange, encodeConfChange } from './conf-change.js';
import type { RaftLog } from './log.js';
import { EntryType, type ConfState, type Entry, type NodeId } from './types.js';

/** Conf states remembered to build snapshot metadata at an older applied index. */
export const maxConfHistory = 1024;

export class Membership {
  voters: NodeId[] = [];
  learners: NodeId[] = [];
  /** Index of the last conf-change entry applied (or of the snapshot the state came from). */
  confIndex = 0;
  private history: { index: number; conf: ConfState }[] = [];

  constructor(index: number, conf: ConfState) {
    this.resetTo(index, conf);
  }

  /** Starts over from a known membership at `index` (bootstrap, snapshot install). */
  resetTo(index: number, conf: ConfState): void {
    this.confIndex = index;
    this.history = [{ index, conf }];
    this.set(conf);
  }

  private set(conf: ConfState): void {
    this.voters = [...conf.voters].sort();
    this.learners = [...conf.learners].sort();
  }

  /**
   * Applies a conf-change entry once. Returns the new membership, or
   * undefined if the entry was already applied or cannot be decoded.
   */
  applyEntry(e: Entry): ConfState | undefined {
    if (e.type !== EntryType.ConfChange || e.index <= this.confIndex) return undefined;
    this.confIndex = e.index;
    let conf: ConfState;
    try {
      conf = applyConfChange({ voters: this.voters, learners: this.learners }, decodeConfChange(e.data));
    } catch {
      // Only a corrupt log could hold an undecodable change (the leader decoded it before appending).
      return undefined;
    }
    this.history.push({ index: e.index, conf });
    if (this.history.length > maxConfHistory) this.history.shift();
    this.set(conf);
    return conf;
  }

  /** A voter or learner of the membership in force. */
  includes(id: NodeId): boolean {
    return this.voters.includes(id) || this.learners.includes(id);
  }

  /** Membership in force at `index` (for snapshot metadata). */
  confAt(index: number): ConfState {
    let conf = this.history[0].conf;
    for (const h of this.history) if (h.index <= index) conf = h.conf;
    return conf;
  }

  /** Forgets history before a snapshot at `index`. */
  compactTo(index: number): void {
    const conf = this.confAt(index);
    this.history = [{ index, conf }, ...this.history.filter((h) => h.index > index)];
  }
}

/**
 * Nodes named by conf-change entries of `log` after `afterIndex` (appended,
 * not yet applied): members being added, promoted or removed. A node whose
 * addition is in our log may already lead (we have not applied it yet).
 */
export function pendingConfNodes(log: RaftLog, afterIndex: number): Set<NodeId> {
  const ids = new Set<NodeId>();
  for (let i = Math.max(afterIndex, log.snapshotIndex) + 1; i <= log.lastIndex(); i++) {
    const e = log.entryAt(i);
    if (e?.type !== EntryType.ConfChange) continue;
    try {
      ids.add(decodeConfChange(e.data).node);
    } catch {
      // An undecodable change names nobody (applyEntry skips it too).
    }
  }
  return ids;
}

/**
 * Bootstrap (etcd's RawNode.Bootstrap): the initial membership as committed
 * conf-change entries of term 1, so members added later learn it from the log.
 */
export function bootstrapEntries(conf: ConfState): Entry[] {
  const ents: Entry[] = [];
  const add = (type: 0 | 1, node: NodeId): void => {
    ents.push({ term: 1, index: ents.length + 1, type: EntryType.ConfChange, data: encodeConfChange({ type, node }) });
  };
  for (const v of [...conf.voters].sort()) add(0, v);
  for (const l of [...conf.learners].sort()) add(1, l);
  return ents;
}
