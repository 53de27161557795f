/**
 * Fault schedules for Raft simulations, generated from the seed. A schedule is
 * a list of abstract faults in time ("isolate the leader for 800 ms"); the
 * injector resolves them against the cluster when they fire (who leads now)
 * and undoes each one after its duration. Network faults run one at a time,
 * process faults one at a time (a fault whose class is busy is skipped and
 * counted), so every fault is healed by its own undo.
 */
import { ConfChangeType, type NodeId } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { shuffle, type Rng } from '../util/rng.js';
import { defaultLinkOptions, type LinkOptions } from './network.js';
import type { RaftCluster } from './raft-cluster.js';

export const RaftFaultKind = {
  PartitionRandom: 'partition-random',
  PartitionLeaderMinority: 'partition-leader-minority',
  IsolateLeader: 'isolate-leader',
  OneWayLeader: 'one-way-leader',
  Loss: 'loss',
  Duplicate: 'duplicate',
  Reorder: 'reorder',
  Delay: 'delay',
  CrashRestart: 'crash-restart',
  CrashLeader: 'crash-leader',
  Pause: 'pause',
  SlowFollower: 'slow-follower',
  TransferLeader: 'transfer-leader',
  MembershipChange: 'membership-change',
  MembershipRace: 'membership-race',
  /** Every server crashes at once (a rack loses power) and restarts from its disk. */
  PowerLoss: 'power-loss',
} as const;
export type RaftFaultKind = (typeof RaftFaultKind)[keyof typeof RaftFaultKind];

const networkKinds: ReadonlySet<RaftFaultKind> = new Set([
  RaftFaultKind.PartitionRandom,
  RaftFaultKind.PartitionLeaderMinority,
  RaftFaultKind.IsolateLeader,
  RaftFaultKind.OneWayLeader,
  RaftFaultKind.Loss,
  RaftFaultKind.Duplicate,
  RaftFaultKind.Reorder,
  RaftFaultKind.Delay,
  RaftFaultKind.SlowFollower,
]);

export interface RaftFault {
  atMs: number;
  kind: RaftFaultKind;
  durationMs: number;
}

export interface FaultScheduleOptions {
  startMs: number;
  endMs: number;
  /** Mean gap between faults (exponential-ish: uniform in [0.5, 1.5] x mean). */
  meanGapMs: number;
  /** Fault kinds to draw from (default: all). */
  kinds?: readonly RaftFaultKind[];
}

/** Upper bound on faults in one schedule. */
export const faultsMax = 10_000;

export function generateFaultSchedule(rng: Rng, o: FaultScheduleOptions): RaftFault[] {
  const kinds = o.kinds ?? Object.values(RaftFaultKind);
  assert(kinds.length > 0 && o.meanGapMs > 0, 'fault schedule needs kinds and a positive gap');
  const faults: RaftFault[] = [];
  let t = o.startMs + o.meanGapMs * (0.5 + rng.next());
  while (t < o.endMs && faults.length < faultsMax) {
    const kind = kinds[rng.int(kinds.length)];
    const durationMs = kind === RaftFaultKind.SlowFollower ? 1500 + rng.int(1500) : 100 + rng.int(900);
    faults.push({ atMs: t, kind, durationMs });
    t += o.meanGapMs * (0.5 + rng.next());
  }
  return faults;
}

/** Applies a schedule to a cluster; settle() undoes everything still active. */
export class RaftFaultInjector {
  private networkBusy = false;
  private processBusy = false;
  private readonly undos = new Set<() => void>();
  readonly applied = new Map<RaftFaultKind, number>();
  skipped = 0;
  private readonly baseLink: LinkOptions;
  /** After settle() no fault starts, not even a deferred half of one. */
  private settled = false;

  constructor(
    private readonly cluster: RaftCluster,
    private readonly rng: Rng,
    baseLink: Partial<LinkOptions> = {},
  ) {
    this.baseLink = { ...defaultLinkOptions(), ...baseLink };
  }

  schedule(faults: readonly RaftFault[]): void {
    for (const f of faults) this.cluster.scheduler.at(f.atMs, () => this.inject(f));
  }

  /** Heal the network, restore links, resume and restart every server. */
  settle(): void {
    this.settled = true;
    for (const undo of [...this.undos]) undo();
    this.undos.clear();
    this.cluster.network.heal();
    this.cluster.network.setDefaultLink(this.baseLink);
    for (const id of this.cluster.options.nodeIds) {
      this.cluster.network.resume(id);
      this.cluster.restart(id);
    }
  }

  private inject(f: RaftFault): void {
    if (this.settled) return;
    const isNetwork = networkKinds.has(f.kind);
    if (isNetwork ? this.networkBusy : this.processBusy) {
      this.skipped++;
      return;
    }
    const undo = this.start(f);
    if (undo === undefined) {
      this.skipped++;
      return;
    }
    this.applied.set(f.kind, (this.applied.get(f.kind) ?? 0) + 1);
    if (isNetwork) this.networkBusy = true;
    else this.processBusy = true;
    const finish = () => {
      if (!this.undos.delete(finish)) return;
      undo();
      if (isNetwork) this.networkBusy = false;
      else this.processBusy = false;
    };
    this.undos.add(finish);
    this.cluster.scheduler.after(f.durationMs, finish);
  }

  /** Starts a fault; returns its undo, or undefined when it does not apply now (e.g. no leader). */
  private start(f: RaftFault): (() => void) | undefined {
    const c = this.cluster;
    const net = c.network;
    const ids = c.options.nodeIds;
    const leader = c.leader()?.id;
    const pick = (from: readonly NodeId[]) => from[this.rng.int(from.length)];
    const healNet = () => net.heal();
    switch (f.kind) {
      case RaftFaultKind.PartitionRandom: {
        const shuffled = shuffle([...ids], this.rng);
        const cut = 1 + this.rng.int(Math.floor(ids.length / 2));
        net.partition(shuffled.slice(0, cut), shuffled.slice(cut));
        return healNet;
      }
      case RaftFaultKind.PartitionLeaderMinority: {
        if (leader === undefined) return undefined;
        const others = ids.filter((id) => id !== leader);
        const buddy = pick(others);
        net.partition([leader, buddy], others.filter((id) => id !== buddy));
        return healNet;
      }
      case RaftFaultKind.IsolateLeader:
        if (leader === undefined) return undefined;
        net.isolate(leader);
        return healNet;
      case RaftFaultKind.OneWayLeader: {
        if (leader === undefined) return undefined;
        const others = ids.filter((id) => id !== leader);
        if (this.rng.int(2) === 0) net.partition([leader], others, { oneWay: true });
        else net.partition(others, [leader], { oneWay: true });
        return healNet;
      }
      case RaftFaultKind.Loss:
        return this.link({ lossPercent: 5 + this.rng.int(30) });
      case RaftFaultKind.Duplicate:
        return this.link({ duplicatePercent: 10 + this.rng.int(40) });
      case RaftFaultKind.Reorder:
        return this.link({ reorderPercent: 20 + this.rng.int(50), reorderDelayMs: 5 + this.rng.int(40) });
      case RaftFaultKind.Delay: {
        const minMs = 2 + this.rng.int(20);
        return this.link({ latency: { kind: 'uniform', minMs, maxMs: minMs + this.rng.int(40) } });
      }
      case RaftFaultKind.CrashRestart:
      case RaftFaultKind.CrashLeader: {
        const victim = f.kind === RaftFaultKind.CrashLeader ? leader : pick(c.upIds());
        if (victim === undefined) return undefined;
        c.crash(victim);
        return () => c.restart(victim);
      }
      case RaftFaultKind.PowerLoss: {
        const victims = c.upIds();
        for (const id of victims) c.crash(id);
        return () => {
          for (const id of victims) c.restart(id);
        };
      }
      case RaftFaultKind.Pause: {
        const victim = this.rng.int(2) === 0 && leader !== undefined ? leader : pick(ids);
        net.pause(victim);
        return () => net.resume(victim);
      }
      case RaftFaultKind.SlowFollower: {
        // Cut off, or CPU-starved (every event it handles runs late): either way it falls behind compaction.
        const victim = pick(ids.filter((id) => id !== leader));
        if (this.rng.int(2) === 0) {
          net.isolate(victim);
          return healNet;
        }
        net.setSlow(victim, 30 + this.rng.int(150));
        return () => net.setSlow(victim, 0);
      }
      case RaftFaultKind.TransferLeader: {
        if (leader === undefined) return undefined;
        const to = pick(c.leader()!.status().voters.filter((id) => id !== leader));
        if (to === undefined) return undefined;
        c.leader()!.act((n) => n.transferLeadership(to));
        return () => {};
      }
      case RaftFaultKind.MembershipChange:
      case RaftFaultKind.MembershipRace: {
        const lead = c.leader();
        if (lead === undefined) return undefined;
        const { voters, learners } = lead.status();
        const outside = ids.filter((id) => !voters.includes(id));
        if (voters.length > 3 && (outside.length === 0 || this.rng.int(2) === 0)) {
          // Remove a voter, now and then the leader itself.
          const victim = this.rng.int(5) === 0 ? lead.id : pick(voters.filter((id) => id !== lead.id));
          lead.act((n) => n.proposeConfChange({ type: ConfChangeType.RemoveNode, node: victim }));
        } else if (outside.length > 0) {
          const node = pick(outside);
          const type = learners.includes(node) ? ConfChangeType.AddVoter : ConfChangeType.AddLearner;
          lead.act((n) => n.proposeConfChange({ type, node }));
        } else {
          return undefined;
        }
        if (f.kind === RaftFaultKind.MembershipChange) return () => {};
        // Race it with a leader change: crash or isolate the leader a moment later.
        const leaderId = lead.id;
        const crash = this.rng.int(2) === 0;
        c.scheduler.after(this.rng.int(30), () => {
          if (this.settled) return;
          if (crash) c.crash(leaderId);
          else net.isolate(leaderId);
        });
        return () => {
          if (crash) c.restart(leaderId);
          else net.rejoin(leaderId);
        };
      }
    }
  }

  private link(opts: Partial<LinkOptions>): () => void {
    this.cluster.network.setDefaultLink(opts);
    return () => this.cluster.network.setDefaultLink(this.baseLink);
  }
}
