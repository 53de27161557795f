import { ControlCore } from '../../../src/control/control-core.js';
import type { ControlConfig } from '../../../src/control/control-config.js';
import type { ControlInit, ControlReady, ControlResult } from '../../../src/control/control-types.js';
import type { MemberInfo } from '../../../src/gossip/events.js';
import { MemberState, type Tags } from '../../../src/gossip/messages.js';
import { SimRaftStorage } from '../../../src/sim/raft-storage.js';
import { SeededRng } from '../../../src/util/rng.js';

export function member(name: string, tags: Tags = {}, state: MemberState = MemberState.Alive): MemberInfo {
  return { name, addr: `${name}:1`, state, incarnation: 1, tags, stateChangeMs: 0 };
}

/**
 * One ControlCore with an in-memory disk (SimRaftStorage, fsync at once) and
 * a virtual clock; raft messages are collected, not delivered.
 */
export class SoloCore {
  core: ControlCore;
  nowMs = 0;
  storage: SimRaftStorage | undefined;
  clusterId: string | undefined;
  readonly results: ControlResult[] = [];
  readonly readies: ControlReady[] = [];
  tags: Record<string, string> = {};

  constructor(
    readonly config: Partial<ControlConfig> & { name: string },
    init: ControlInit = {},
    readonly seed = 1,
  ) {
    this.core = new ControlCore(config, init, new SeededRng(seed), this.nowMs);
  }

  drain(): void {
    for (let i = 0; i < 1000 && this.core.hasReady(); i++) {
      const rd = this.core.ready();
      this.readies.push(rd);
      if (rd.startRaft !== undefined) {
        this.storage = new SimRaftStorage(rd.startRaft.initial.conf);
        this.clusterId = rd.startRaft.clusterId;
      }
      if (rd.compactedSnapshot !== undefined) this.storage?.compact(rd.compactedSnapshot);
      if (rd.raft !== undefined && this.storage !== undefined) {
        const batch: Parameters<SimRaftStorage['write']>[0] = { entries: rd.raft.entries };
        if (rd.raft.hardState !== undefined) batch.hardState = rd.raft.hardState;
        if (rd.raft.snapshot !== undefined) batch.snapshot = rd.raft.snapshot;
        this.storage.write(batch);
        this.storage.fsync();
      }
      if (rd.tags !== undefined) this.tags = rd.tags;
      this.results.push(...rd.results);
      this.core.advance(rd);
    }
  }

  /** Advance the clock in tick steps, draining after each. */
  run(ms: number): void {
    const tickMs = this.config.tickMs ?? 10;
    const end = this.nowMs + ms;
    while (this.nowMs < end) {
      this.nowMs += tickMs;
      this.core.tick(this.nowMs);
      this.drain();
    }
  }

  result(requestId: string): ControlResult | undefined {
    return this.results.find((r) => r.requestId === requestId);
  }

  /** A restart from what the disk holds. */
  restart(seed = this.seed + 1): void {
    const init: ControlInit = {};
    if (this.storage !== undefined) init.raft = this.storage.load();
    if (this.clusterId !== undefined) init.clusterId = this.clusterId;
    this.core = new ControlCore(this.config, init, new SeededRng(seed), this.nowMs);
    this.results.length = 0;
    this.readies.length = 0;
  }
}
