/**
 * The leader's voter planning, one change at a time (Consul's autopilot):
 * remove members that left at once and members dead longer than the grace,
 * promote caught-up learners while healthy voters are short of the target,
 * spread voters across zones (promote into an empty zone, then demote from
 * the most crowded one), and add eligible members as learners when a
 * replacement or a zone is missing. The leader never removes or demotes
 * itself.
 *
 * Pure: the caller tracks when each member was first seen down / alive on its
 * own clock (see autopilot-driver.ts).
 */
import { MemberState, type Tags } from '../gossip/messages.js';
import { ConfChangeType, type ConfChange } from '../raft/types.js';
import { voterTargetFor, type AutopilotConfig } from './autopilot/config.js';
import { isVoterEligible, zoneOf } from './autopilot/tags.js';

export interface PlanMember {
  state: MemberState;
  tags: Tags;
}

export interface VoterPlanInput {
  leader: string;
  voters: readonly string[];
  learners: readonly string[];
  /** The gossip view (the leader included). */
  members: ReadonlyMap<string, PlanMember>;
  /** Since when (leader's clock) each member has been seen neither alive nor suspect; absent = up. */
  downSinceMs: ReadonlyMap<string, number>;
  /** Since when each member has been seen alive without interruption; absent = not alive. */
  aliveSinceMs: ReadonlyMap<string, number>;
  /** Leader's match index per peer. */
  matchIndex: ReadonlyMap<string, number>;
  lastIndex: number;
  nowMs: number;
  config: AutopilotConfig;
}

export interface VoterChange {
  cc: ConfChange;
  reason: string;
}

const up = (m: PlanMember | undefined): boolean => m !== undefined && (m.state === MemberState.Alive || m.state === MemberState.Suspect);

export function planVoterChangeLocal(p: VoterPlanInput): VoterChange | undefined {
  const { config: cfg, nowMs } = p;
  const member = (n: string): PlanMember | undefined => p.members.get(n);
  const inConf = new Set([...p.voters, ...p.learners]);

  // 1. Left: removed at once. 2. Down past the grace: removed.
  for (const n of [...p.voters, ...p.learners]) {
    if (n === p.leader) continue;
    if (member(n)?.state === MemberState.Left) return remove(n, 'left the cluster');
  }
  for (const n of [...p.voters, ...p.learners]) {
    if (n === p.leader) continue;
    const since = p.downSinceMs.get(n);
    if (!up(member(n)) && since !== undefined && nowMs - since >= cfg.deadVoterGraceMs) {
      return remove(n, `down for ${nowMs - since} ms (grace ${cfg.deadVoterGraceMs} ms)`);
    }
  }

  let eligibleCount = 0;
  for (const m of p.members.values()) if (m.state !== MemberState.Left && isVoterEligible(m.tags)) eligibleCount++;
  const target = voterTargetFor(cfg, eligibleCount);
  const eligibleUp = (n: string): boolean => up(member(n)) && isVoterEligible(member(n)!.tags);
  const zone = (n: string): string => zoneOf(member(n)?.tags ?? {});
  const healthyVoters = p.voters.filter((n) => up(member(n)));
  const votersPerZone = countBy(healthyVoters, zone);
  const caughtUp = (n: string): boolean => {
    const since = p.aliveSinceMs.get(n);
    return (
      eligibleUp(n) &&
      member(n)!.state === MemberState.Alive &&
      since !== undefined &&
      nowMs - since >= cfg.learnerStableMs &&
      (p.matchIndex.get(n) ?? 0) + cfg.catchUpMaxLagEntries >= p.lastIndex
    );
  };
  const promotable = p.learners.filter(caughtUp);
  // Fewest voters in the learner's zone first, then by name.
  const byZoneNeed = (names: string[]): string[] =>
    [...names].sort((a, b) => (votersPerZone.get(zone(a)) ?? 0) - (votersPerZone.get(zone(b)) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));

  // 3. Short of healthy voters: promote a caught-up learner.
  if (healthyVoters.length < target && promotable.length > 0) {
    return { cc: { type: ConfChangeType.AddVoter, node: byZoneNeed(promotable)[0] }, reason: `${healthyVoters.length} healthy voters, target ${target}` };
  }
  const crowded = Math.max(0, ...votersPerZone.values());
  // 4. Zone spread: a caught-up learner in a zone without voters while another zone has two or more.
  if (crowded >= 2 && p.voters.length <= target) {
    const spread = promotable.filter((n) => (votersPerZone.get(zone(n)) ?? 0) === 0);
    if (spread.length > 0) return { cc: { type: ConfChangeType.AddVoter, node: byZoneNeed(spread)[0] }, reason: `zone ${zone(spread[0])} has no voter` };
  }
  // 5. More healthy voters than the target: demote one from the most crowded zone (never the leader).
  if (healthyVoters.length > target) {
    const victims = healthyVoters
      .filter((n) => n !== p.leader)
      .sort((a, b) => (votersPerZone.get(zone(b)) ?? 0) - (votersPerZone.get(zone(a)) ?? 0) || (a < b ? 1 : a > b ? -1 : 0));
    if (victims.length > 0) {
      return { cc: { type: ConfChangeType.AddLearner, node: victims[0] }, reason: `${healthyVoters.length} healthy voters, target ${target}` };
    }
  }
  // 6. Add a learner: a replacement is missing, or a zone with members has neither voter nor learner.
  const candidates = [...p.members.keys()].filter((n) => !inConf.has(n) && eligibleUp(n) && member(n)!.state === MemberState.Alive).sort();
  if (candidates.length === 0) return undefined;
  const upLearners = p.learners.filter(eligibleUp);
  const coveredZones = new Set([...healthyVoters, ...upLearners].map(zone));
  const uncovered = candidates.filter((n) => !coveredZones.has(zone(n)));
  if (crowded >= 2 && uncovered.length > 0) return addLearner(uncovered[0], `zone ${zone(uncovered[0])} has no voter or learner`);
  if (healthyVoters.length + upLearners.length < target) {
    const pick = uncovered.length > 0 ? uncovered[0] : byZoneNeed(candidates)[0];
    return addLearner(pick, `replacement needed: ${healthyVoters.length} healthy voters, ${upLearners.length} learners, target ${target}`);
  }
  return undefined;
}

function remove(node: string, reason: string): VoterChange {
  return { cc: { type: ConfChangeType.RemoveNode, node }, reason };
}

function addLearner(node: string, reason: string): VoterChange {
  return { cc: { type: ConfChangeType.AddLearner, node }, reason };
}

function countBy(names: readonly string[], key: (n: string) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of names) out.set(key(n), (out.get(key(n)) ?? 0) + 1);
  return out;
}
