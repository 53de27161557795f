/**
 * Voter maintenance as a pure decision: the leader calls planVoterChange()
 * whenever membership or replication progress changes and no conf change is
 * pending, proposes the single change it returns (or transfers leadership),
 * and calls again once that change is applied. Rules, first match wins:
 *
 *  1. Remove a learner that is dead, left, or unknown to gossip.
 *  2. Remove a voter that LEFT gracefully, at once (it said it is going).
 *  3. Add a learner when healthy voters + catching-up learners < target: the
 *     eligible alive non-member in the zone with the fewest voters and
 *     learners, ties by name. A replacement catches up before it votes.
 *  4. Promote a learner (when healthy voters < target) that is eligible,
 *     alive for learnerStableMs and within catchUpMaxLagEntries of the
 *     leader's last index; the one in the zone with the fewest voters first.
 *  5. Remove a voter gossip has reported dead for deadVoterGraceMs (or that
 *     gossip does not know at all), only if the voters gossip sees ALIVE
 *     still make a quorum of the new config. The grace lets a restarting
 *     voter keep its seat; the replacement is added meanwhile by 3 and 4.
 *     The quorum check: committing the removal needs a quorum of the old
 *     config anyway, so this is not about committing it; it refuses to
 *     shrink to a config the live members cannot carry. With {L, b suspect,
 *     c dead}, dropping c leaves {L, b}, where both must answer; better wait
 *     for a replacement to be promoted (3, 4) and try again.
 *  6. Rebalance zones (only with no failed voter and voters <= target): if
 *     the most represented zone has at least 2 more voters than a zone with
 *     an eligible alive non-voter, add a learner there, then promote it;
 *     rule 7 then removes a voter from the most represented zone.
 *  7. Shrink when voters > target and no voter is failed (a failed voter
 *     within its grace blocks shrinking: removing a healthy voter instead
 *     would be wrong, and rule 5 removes the failed one when its grace ends):
 *     ineligible voters first, then suspect ones, then the most represented
 *     zone, then the lowest match. Never the leader.
 *  A change that would remove the leader (it left, or it is an ineligible
 *  surplus voter) becomes a leadership transfer to the best other caught-up
 *  voter; the new leader then makes the change.
 *
 * Convergence: rules 3-4 only fire below target, rule 7 only above it, and
 * rule 6 only moves a voter from a zone with at least 2 more voters than the
 * destination, so the spread strictly improves and changes stop.
 */
import { ConfChangeType, type ConfChange } from '../../raft/types.js';
import {
  buildView,
  isFailed,
  isPastGrace,
  isPromotable,
  isUp,
  pickSpreading,
  removalKeepsQuorum,
  transferTarget,
  zoneCounts,
  type PlannerInput,
  type PlannerView,
  type Seat,
} from './planner-view.js';

export type { PlannerInput, PlannerMember } from './planner-view.js';

export type VoterPlan = { change: ConfChange; reason: string } | { transferLeadershipTo: string; reason: string } | null;

type Rule = (v: PlannerView) => VoterPlan;

const change = (type: ConfChange['type'], node: string, reason: string): VoterPlan => ({ change: { type, node }, reason });

/** At most one change; null when there is nothing to do (or nothing safe to do yet). */
export function planVoterChange(input: PlannerInput): VoterPlan {
  const view = buildView(input);
  const leader = view.voters.find((s) => s.name === input.leader)!;
  // The leader not alive in its own member table means gossip has not synced yet: plan nothing.
  if (leader.health !== 'alive' && leader.health !== 'left') return null;
  for (const rule of rules) {
    const plan = rule(view);
    if (plan !== null) return plan;
  }
  return null;
}

const removeFailedLearner: Rule = (v) => {
  const gone = v.learners.find((s) => s.health === 'dead' || s.health === 'left' || s.health === 'unknown');
  return gone === undefined ? null : change(ConfChangeType.RemoveNode, gone.name, `learner ${gone.name} is ${gone.health}`);
};

const removeLeftVoter: Rule = (v) => {
  const left = v.voters.filter((s) => s.health === 'left');
  const other = left.find((s) => s.name !== v.input.leader);
  if (other !== undefined) return change(ConfChangeType.RemoveNode, other.name, `voter ${other.name} left the cluster`);
  return left.length > 0 ? transferAway(v, 'the leader is leaving') : null;
};

const healthyVoters = (v: PlannerView): Seat[] => v.voters.filter((s) => isUp(s) && s.eligible);
const catchingUpLearners = (v: PlannerView): Seat[] => v.learners.filter((s) => isUp(s) && s.eligible);
const addableMembers = (v: PlannerView): Seat[] => v.others.filter((s) => s.eligible && s.health === 'alive');

const addLearner: Rule = (v) => {
  const healthy = healthyVoters(v).length;
  const learners = catchingUpLearners(v);
  if (healthy + learners.length >= v.target) return null;
  const pick = pickSpreading(addableMembers(v), [...healthyVoters(v), ...learners]);
  if (pick === undefined) return null;
  return change(ConfChangeType.AddLearner, pick.name, `${healthy} healthy voters of ${v.target}: adding ${pick.name} (zone '${pick.zone}') as a learner`);
};

const promoteLearner: Rule = (v) => {
  const healthy = healthyVoters(v);
  if (healthy.length >= v.target) return null;
  const pick = pickSpreading(v.learners.filter((s) => isPromotable(v, s)), healthy);
  if (pick === undefined) return null;
  return change(ConfChangeType.AddVoter, pick.name, `${healthy.length} healthy voters of ${v.target}: promoting caught-up learner ${pick.name}`);
};

const removeDeadVoter: Rule = (v) => {
  const dead = v.voters
    .filter((s) => s.name !== v.input.leader && isPastGrace(v, s))
    .sort((a, b) => a.stateChangeMs - b.stateChangeMs || (a.name < b.name ? -1 : 1));
  const victim = dead[0];
  if (victim === undefined || !removalKeepsQuorum(v, victim.name)) return null;
  return change(ConfChangeType.RemoveNode, victim.name, `voter ${victim.name} is ${victim.health} past the ${v.input.config.deadVoterGraceMs} ms grace`);
};

const rebalanceZones: Rule = (v) => {
  if (v.voters.some((s) => isFailed(s) || s.health === 'left') || v.voters.length > v.target) return null;
  const counts = zoneCounts(v.voters);
  const most = Math.max(0, ...counts.values());
  const nonVoters = [...v.learners, ...addableMembers(v)].filter((s) => s.eligible && s.health === 'alive');
  const zones = [...new Set(nonVoters.map((s) => s.zone))].sort(
    (a, b) => (counts.get(a) ?? 0) - (counts.get(b) ?? 0) || (a < b ? -1 : 1),
  );
  const zone = zones[0];
  if (zone === undefined || most - (counts.get(zone) ?? 0) < 2) return null;
  const why = `zone '${zone}' has ${counts.get(zone) ?? 0} voters, another has ${most}`;
  const learners = v.learners.filter((s) => s.zone === zone && s.eligible && isUp(s));
  const ready = learners.find((s) => isPromotable(v, s));
  if (ready !== undefined) return change(ConfChangeType.AddVoter, ready.name, `${why}: promoting ${ready.name}`);
  if (learners.length > 0) return null; // one is catching up there already
  const add = addableMembers(v).find((s) => s.zone === zone);
  return add === undefined ? null : change(ConfChangeType.AddLearner, add.name, `${why}: adding ${add.name} as a learner`);
};

const shrink: Rule = (v) => {
  if (v.voters.length <= v.target || v.voters.some(isFailed)) return null;
  const counts = zoneCounts(v.voters);
  const rank = (s: Seat): number[] => [s.eligible ? 1 : 0, s.health === 'suspect' ? 0 : 1, -(counts.get(s.zone) ?? 0), s.match];
  const ordered = [...v.voters].sort((a, b) => compareRanks(rank(a), rank(b)) || (a.name < b.name ? -1 : 1));
  const victim = ordered[0]!;
  const why = `${v.voters.length} voters, target ${v.target}`;
  if (victim.name === v.input.leader && !victim.eligible) return transferAway(v, `${why}: the leader is not eligible`);
  const next = ordered.find((s) => s.name !== v.input.leader)!;
  if (!removalKeepsQuorum(v, next.name)) return null;
  return change(ConfChangeType.RemoveNode, next.name, `${why}: removing ${next.name} (zone '${next.zone}')`);
};

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function transferAway(v: PlannerView, why: string): VoterPlan {
  const to = transferTarget(v);
  return to === undefined ? null : { transferLeadershipTo: to.name, reason: `${why}: transferring leadership to ${to.name}` };
}

const rules: readonly Rule[] = [
  removeFailedLearner,
  removeLeftVoter,
  addLearner,
  promoteLearner,
  removeDeadVoter,
  rebalanceZones,
  shrink,
];
