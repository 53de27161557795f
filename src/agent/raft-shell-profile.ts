/**
 * Where the Raft shell's time goes: persist (write + fsync), send (encode and
 * queue on the peer links) and apply (state machine, reads), per Ready. The
 * benchmarks read it from /status to explain their figures.
 */
export interface RaftShellProfileView {
  readies: number;
  /** Readies that had something to persist (one WAL write + fsync each). */
  persists: number;
  entriesPersisted: number;
  /** Mean entries per persist: the group-commit batch size. */
  entriesPerPersist: number;
  persistMsTotal: number;
  persistMsMean: number;
  persistMsMax: number;
  messagesSent: number;
  sendMsTotal: number;
  entriesApplied: number;
  applyMsTotal: number;
  snapshots: number;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

export class RaftShellProfile {
  private readies = 0;
  private persists = 0;
  private entriesPersisted = 0;
  private persistMsTotal = 0;
  private persistMsMax = 0;
  private messagesSent = 0;
  private sendMsTotal = 0;
  private entriesApplied = 0;
  private applyMsTotal = 0;
  snapshots = 0;

  persisted(entries: number, ms: number): void {
    this.persists++;
    this.entriesPersisted += entries;
    this.persistMsTotal += ms;
    if (ms > this.persistMsMax) this.persistMsMax = ms;
  }

  handled(messages: number, entriesApplied: number, sendMs: number, applyMs: number): void {
    this.readies++;
    this.messagesSent += messages;
    this.sendMsTotal += sendMs;
    this.entriesApplied += entriesApplied;
    this.applyMsTotal += applyMs;
  }

  view(): RaftShellProfileView {
    return {
      readies: this.readies,
      persists: this.persists,
      entriesPersisted: this.entriesPersisted,
      entriesPerPersist: this.persists === 0 ? 0 : round(this.entriesPersisted / this.persists),
      persistMsTotal: round(this.persistMsTotal),
      persistMsMean: this.persists === 0 ? 0 : round(this.persistMsTotal / this.persists),
      persistMsMax: round(this.persistMsMax),
      messagesSent: this.messagesSent,
      sendMsTotal: round(this.sendMsTotal),
      entriesApplied: this.entriesApplied,
      applyMsTotal: round(this.applyMsTotal),
      snapshots: this.snapshots,
    };
  }
}
