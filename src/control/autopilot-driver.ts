/**
 * Runs the autopilot's planVoterChange (autopilot/planner.ts) on the leader
 * every autopilotIntervalMs, one change at a time: the next is planned only
 * once the previous one has been applied here (or was dropped, or timed
 * out). Around the planner, two rules of this driver:
 *  - a learner is promoted only if the leader has heard from it within the
 *    last election timeout (Raft's recentActive) and the active voters would
 *    still be a quorum with it: a learner gossip shows alive but Raft cannot
 *    reach (a partition) would otherwise cost the cluster its quorum;
 *  - when the planner has nothing to do, eligible alive members are added as
 *    learners up to learnerSparesMax: warm spares, and the way a member that
 *    joined with an empty configuration gets into the Raft group.
 * The voter target is never below bootstrapExpect (see controlAutopilotConfig).
 */
import type { MemberInfo } from '../gossip/events.js';
import { MemberState } from '../gossip/messages.js';
import { ConfChangeType, type ConfChange } from '../raft/types.js';
import { validateAutopilotConfig, type AutopilotConfig } from './autopilot/config.js';
import { planVoterChange } from './autopilot/planner.js';
import { quorumOf } from './autopilot/planner-view.js';
import { isVoterEligible, zoneOf } from './autopilot/tags.js';

/** Eligible members kept as learners beyond the voters (warm spares); the rest follow the config by watch. */
export const learnerSparesMax = 2;

export interface AutopilotView {
  leader: string;
  voters: readonly string[];
  learners: readonly string[];
  /** The leader's progress per peer. */
  progress: Readonly<Record<string, { match: number; recentActive: boolean }>>;
  lastIndex: number;
  /** Members of the configuration whose data directory was replaced (identity.ts): removed before anything else. */
  replaced?: ReadonlySet<string>;
  /** May this member be added (its identity is recorded)? Default: yes. */
  addable?(m: MemberInfo): boolean;
}

export type AutopilotAction = { kind: 'change'; cc: ConfChange; reason: string } | { kind: 'transfer'; to: string; reason: string };

/**
 * The autopilot config the control plane runs with: the voter target is at
 * least bootstrapExpect (a cluster bootstrapped with 5 voters keeps 5).
 */
export function controlAutopilotConfig(c: Partial<AutopilotConfig>, bootstrapExpect: number): AutopilotConfig {
  const base = validateAutopilotConfig({ ...c, bootstrapExpect });
  const voterTarget = Math.max(base.voterTarget, bootstrapExpect);
  const largeClusterVoterTarget = Math.max(base.largeClusterVoterTarget, voterTarget);
  const largeClusterMinEligible = Math.max(base.largeClusterMinEligible, largeClusterVoterTarget + 1);
  return validateAutopilotConfig({ ...base, voterTarget, largeClusterVoterTarget, largeClusterMinEligible });
}

export class AutopilotDriver {
  private members: readonly MemberInfo[] = [];
  private nextRunMs = 0;
  private inflight: { cc: ConfChange; sinceMs: number } | undefined;

  constructor(
    private readonly config: AutopilotConfig,
    private readonly intervalMs: number,
    private readonly inflightTimeoutMs: number,
  ) {}

  onMembership(members: readonly MemberInfo[]): void {
    this.members = members;
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

  /** Leader only: is a plan due now? (Forgets a change in flight for longer than the timeout.) */
  due(nowMs: number): boolean {
    if (this.inflight !== undefined && nowMs - this.inflight.sinceMs >= this.inflightTimeoutMs) this.inflight = undefined;
    return this.inflight === undefined && nowMs >= this.nextRunMs;
  }

  /** Leader only, when due(): what to do now, if anything. */
  plan(nowMs: number, view: AutopilotView): AutopilotAction | undefined {
    this.nextRunMs = nowMs + this.intervalMs;
    if (!view.voters.includes(view.leader)) return undefined; // removed, stepping down
    // A wiped member still holds its old identity's seat: out first, it comes back as a learner.
    const wiped = [...(view.replaced ?? [])].find((n) => n !== view.leader && (view.voters.includes(n) || view.learners.includes(n)));
    if (wiped !== undefined) {
      const cc: ConfChange = { type: ConfChangeType.RemoveNode, node: wiped };
      this.inflight = { cc, sinceMs: nowMs };
      return { kind: 'change', cc, reason: `${wiped} came back with another data directory (node id): its old identity leaves the configuration` };
    }
    const names = new Set<string>();
    const inConf = new Set([...view.voters, ...view.learners]);
    // A member outside the configuration is a candidate only once its identity is recorded.
    const members = this.members.filter((m) => !names.has(m.name) && names.add(m.name) && (inConf.has(m.name) || (view.addable?.(m) ?? true)));
    const plan = planVoterChange({
      nowMs,
      leader: view.leader,
      voters: view.voters,
      learners: view.learners,
      progress: view.progress,
      leaderLastIndex: view.lastIndex,
      members,
      config: this.config,
    });
    let action: AutopilotAction | undefined;
    if (plan === null) action = this.spareLearner(view);
    else if ('transferLeadershipTo' in plan) action = { kind: 'transfer', to: plan.transferLeadershipTo, reason: plan.reason };
    else if (plan.change.type === ConfChangeType.AddVoter && !this.reachable(view, plan.change.node)) action = undefined;
    else action = { kind: 'change', cc: plan.change, reason: plan.reason };
    if (action === undefined) return undefined;
    if (action.kind === 'change') this.inflight = { cc: action.cc, sinceMs: nowMs };
    return action;
  }

  /** The leader hears from `node` and would still hear from a quorum of voters with it added. */
  private reachable(view: AutopilotView, node: string): boolean {
    const active = (n: string): boolean => n === view.leader || view.progress[n]?.recentActive === true;
    if (!active(node)) return false;
    const activeVoters = view.voters.filter(active).length;
    return activeVoters + 1 >= quorumOf(view.voters.length + 1);
  }

  private spareLearner(view: AutopilotView): AutopilotAction | undefined {
    const inConf = new Set([...view.voters, ...view.learners]);
    const byName = new Map(this.members.map((m) => [m.name, m]));
    const upLearners = view.learners.filter((n) => {
      const m = byName.get(n);
      return m !== undefined && (m.state === MemberState.Alive || m.state === MemberState.Suspect) && isVoterEligible(m.tags);
    });
    if (upLearners.length >= learnerSparesMax) return undefined;
    const candidates = this.members.filter((m) => !inConf.has(m.name) && m.state === MemberState.Alive && isVoterEligible(m.tags) && (view.addable?.(m) ?? true));
    if (candidates.length === 0) return undefined;
    // The zone with the fewest voters and learners first, then by name.
    const perZone = new Map<string, number>();
    for (const n of inConf) {
      const z = zoneOf(byName.get(n)?.tags ?? {});
      perZone.set(z, (perZone.get(z) ?? 0) + 1);
    }
    const zoneCount = (m: MemberInfo): number => perZone.get(zoneOf(m.tags)) ?? 0;
    candidates.sort((a, b) => zoneCount(a) - zoneCount(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const pick = candidates[0];
    return { kind: 'change', cc: { type: ConfChangeType.AddLearner, node: pick.name }, reason: `${upLearners.length} spare learners, keeping ${learnerSparesMax}` };
  }
}
