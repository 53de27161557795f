/**
 * Runs voter planning on the leader every autopilotIntervalMs, one conf
 * change at a time: the next is planned only once the previous one has been
 * applied here (or was dropped, or timed out). Every member tracks, on its
 * own clock, since when each member has been down or alive, so a new leader
 * has the history at hand.
 */
import { MemberState } from '../gossip/messages.js';
import type { MemberInfo } from '../gossip/events.js';
import type { ConfChange } from '../raft/types.js';
import type { AutopilotConfig } from './autopilot/config.js';
import { planVoterChangeLocal, type PlanMember, type VoterChange } from './voter-plan.js';

/** Members tracked; beyond it new names are ignored (a gossip view is bounded by the gossip layer anyway). */
export const autopilotTrackedMembersMax = 100_000;

export interface AutopilotView {
  leader: string;
  voters: readonly string[];
  learners: readonly string[];
  matchIndex: ReadonlyMap<string, number>;
  lastIndex: number;
}

export class AutopilotDriver {
  private members = new Map<string, PlanMember>();
  private readonly downSinceMs = new Map<string, number>();
  private readonly aliveSinceMs = new Map<string, number>();
  private nextRunMs = 0;
  private inflight: { cc: ConfChange; sinceMs: number } | undefined;
  /** The last change planned, for status and tests. */
  lastChange: (VoterChange & { atMs: number }) | undefined;

  constructor(
    private readonly config: AutopilotConfig,
    private readonly intervalMs: number,
    private readonly inflightTimeoutMs: number,
  ) {}

  onMembership(members: readonly MemberInfo[], nowMs: number): void {
    const next = new Map<string, PlanMember>();
    for (const m of members) {
      if (next.size >= autopilotTrackedMembersMax) break;
      next.set(m.name, { state: m.state, tags: m.tags });
    }
    for (const [name, m] of next) this.track(name, m.state, nowMs);
    for (const name of this.members.keys()) if (!next.has(name)) this.track(name, undefined, nowMs);
    this.members = next;
  }

  private track(name: string, state: MemberState | undefined, nowMs: number): void {
    const isUp = state === MemberState.Alive || state === MemberState.Suspect;
    if (isUp) this.downSinceMs.delete(name);
    else if (!this.downSinceMs.has(name)) this.downSinceMs.set(name, nowMs);
    if (state === MemberState.Alive) {
      if (!this.aliveSinceMs.has(name)) this.aliveSinceMs.set(name, nowMs);
    } else this.aliveSinceMs.delete(name);
  }

  /** This member just became leader: first plan after one interval (its view of followers settles). */
  onBecomeLeader(nowMs: number): void {
    this.nextRunMs = nowMs + this.intervalMs;
    this.inflight = undefined;
  }

  /** A conf change entry was applied here. */
  onConfChangeApplied(cc: ConfChange): void {
    if (this.inflight !== undefined && this.inflight.cc.node === cc.node && this.inflight.cc.type === cc.type) this.inflight = undefined;
  }

  /** The proposal was refused (conf change in progress, not leader...). */
  onProposalDropped(): void {
    this.inflight = undefined;
  }

  get busy(): boolean {
    return this.inflight !== undefined;
  }

  /** Leader only: is a plan due now? (Forgets a change in flight for longer than the timeout.) */
  due(nowMs: number): boolean {
    if (this.inflight !== undefined && nowMs - this.inflight.sinceMs >= this.inflightTimeoutMs) this.inflight = undefined;
    return this.inflight === undefined && nowMs >= this.nextRunMs;
  }

  /** Leader only, when due(): the change to propose now, if any. */
  plan(nowMs: number, view: AutopilotView): VoterChange | undefined {
    this.nextRunMs = nowMs + this.intervalMs;
    // Members of the configuration that gossip does not know at all are down from now on.
    const conf = new Set([...view.voters, ...view.learners]);
    for (const n of conf) if (!this.members.has(n) && !this.downSinceMs.has(n)) this.downSinceMs.set(n, nowMs);
    // Forget members that are gone from both gossip and the configuration (bounded memory).
    for (const n of this.downSinceMs.keys()) if (!this.members.has(n) && !conf.has(n)) this.downSinceMs.delete(n);
    const change = planVoterChangeLocal({
      leader: view.leader,
      voters: view.voters,
      learners: view.learners,
      members: this.members,
      downSinceMs: this.downSinceMs,
      aliveSinceMs: this.aliveSinceMs,
      matchIndex: view.matchIndex,
      lastIndex: view.lastIndex,
      nowMs,
      config: this.config,
    });
    if (change === undefined) return undefined;
    this.inflight = { cc: change.cc, sinceMs: nowMs };
    this.lastChange = { ...change, atMs: nowMs };
    return change;
  }
}
