/**
 * The planner's classified view of one moment: every voter, learner and
 * member with its gossip health, eligibility, zone and replication match.
 * Pure helpers over it; planner.ts holds the rules.
 */
import { MemberState, type Tags } from '../../gossip/messages.js';
import { assert } from '../../util/assert.js';
import { voterTargetFor, type AutopilotConfig } from './config.js';
import { isVoterEligible, zoneOf } from './tags.js';

export interface PlannerMember {
  name: string;
  state: MemberState;
  tags: Tags;
  /** When gossip last changed this member's state, in the caller's ms clock. */
  stateChangeMs: number;
}

export interface PlannerInput {
  nowMs: number;
  leader: string;
  voters: readonly string[];
  learners: readonly string[];
  /** The leader's replication progress per peer (RaftStatus.progress); missing peers count as match 0. */
  progress: Readonly<Record<string, { match: number }>>;
  leaderLastIndex: number;
  members: readonly PlannerMember[];
  config: AutopilotConfig;
}

/** Gossip health; 'unknown' = not in the member table at all. */
export type Health = 'alive' | 'suspect' | 'dead' | 'left' | 'unknown';

export interface Seat {
  name: string;
  health: Health;
  eligible: boolean;
  zone: string;
  match: number;
  stateChangeMs: number;
}

export interface PlannerView {
  input: PlannerInput;
  target: number;
  voters: Seat[];
  learners: Seat[];
  /** Members that are neither voters nor learners. */
  others: Seat[];
}

const healthOf = (s: MemberState): Health =>
  s === MemberState.Alive ? 'alive' : s === MemberState.Suspect ? 'suspect' : s === MemberState.Dead ? 'dead' : 'left';

export function buildView(input: PlannerInput): PlannerView {
  assert(input.voters.includes(input.leader), `leader ${input.leader} is not a voter`);
  assert(!input.learners.some((l) => input.voters.includes(l)), 'a node is both voter and learner');
  const byName = new Map<string, PlannerMember>();
  for (const m of input.members) {
    assert(!byName.has(m.name), `duplicate member ${m.name}`);
    byName.set(m.name, m);
  }
  const seat = (name: string): Seat => {
    const m = byName.get(name);
    const match = name === input.leader ? input.leaderLastIndex : (input.progress[name]?.match ?? 0);
    if (m === undefined) return { name, health: 'unknown', eligible: false, zone: '', match, stateChangeMs: 0 };
    return { name, health: healthOf(m.state), eligible: isVoterEligible(m.tags), zone: zoneOf(m.tags), match, stateChangeMs: m.stateChangeMs };
  };
  const inConf = new Set([...input.voters, ...input.learners]);
  const others = [...byName.keys()].filter((n) => !inConf.has(n)).sort().map(seat);
  let eligibleCount = 0;
  for (const m of byName.values()) if (m.state !== MemberState.Left && isVoterEligible(m.tags)) eligibleCount += 1;
  return {
    input,
    target: voterTargetFor(input.config, eligibleCount),
    voters: [...input.voters].sort().map(seat),
    learners: [...input.learners].sort().map(seat),
    others,
  };
}

export const isUp = (s: Seat): boolean => s.health === 'alive' || s.health === 'suspect';

/** Dead or missing from the member table: the node is not coming back on its own. */
export const isFailed = (s: Seat): boolean => s.health === 'dead' || s.health === 'unknown';

export const isCaughtUp = (v: PlannerView, s: Seat): boolean =>
  s.match >= v.input.leaderLastIndex - v.input.config.catchUpMaxLagEntries;

/** Alive, unchanged for learnerStableMs, caught up: ready to vote. */
export const isPromotable = (v: PlannerView, s: Seat): boolean =>
  s.eligible &&
  s.health === 'alive' &&
  v.input.nowMs - s.stateChangeMs >= v.input.config.learnerStableMs &&
  isCaughtUp(v, s);

/** Dead for at least deadVoterGraceMs, or unknown to gossip (no clock to wait on). */
export const isPastGrace = (v: PlannerView, s: Seat): boolean =>
  s.health === 'unknown' || (s.health === 'dead' && v.input.nowMs - s.stateChangeMs >= v.input.config.deadVoterGraceMs);

export const quorumOf = (voterCount: number): number => Math.floor(voterCount / 2) + 1;

/** After removing `name`, do the voters gossip sees alive still form a quorum of the new config? */
export function removalKeepsQuorum(v: PlannerView, name: string): boolean {
  const remaining = v.voters.filter((s) => s.name !== name);
  const aliveCount = remaining.filter((s) => s.health === 'alive').length;
  return remaining.length > 0 && aliveCount >= quorumOf(remaining.length);
}

/** Voters per zone, counting only voters that are up. */
export function zoneCounts(seats: readonly Seat[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of seats) if (isUp(s)) counts.set(s.zone, (counts.get(s.zone) ?? 0) + 1);
  return counts;
}

/** The seat in the zone with the fewest `counted`, ties by name. */
export function pickSpreading(candidates: readonly Seat[], counted: readonly Seat[]): Seat | undefined {
  const counts = zoneCounts(counted);
  let best: Seat | undefined;
  let bestCount = Infinity;
  for (const c of candidates) {
    const n = counts.get(c.zone) ?? 0;
    if (n < bestCount || (n === bestCount && best !== undefined && c.name < best.name)) {
      best = c;
      bestCount = n;
    }
  }
  return best;
}

/** The other voter to hand leadership to: alive, eligible, caught up, highest match, ties by name. */
export function transferTarget(v: PlannerView): Seat | undefined {
  const ready = v.voters.filter(
    (s) => s.name !== v.input.leader && s.health === 'alive' && s.eligible && isCaughtUp(v, s),
  );
  ready.sort((a, b) => b.match - a.match || (a.name < b.name ? -1 : 1));
  return ready[0];
}
