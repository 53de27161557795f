/**
 * Bootstrap as a pure decision: given what this member sees on gossip, should
 * it wait, propose a candidate voter set, commit to it, bootstrap a new Raft
 * cluster, or join the cluster that already exists? The caller (the agent)
 * calls it whenever the member table changes, advertises `bootTag` in
 * shoal.boot, persists `commitment` BEFORE advertising a committed tag, and
 * bootstraps Raft with `voters` when told to.
 *
 * Protocol, per member M that has no Raft state and sees no cluster id:
 *  1. Candidate set C = the `bootstrapExpect` lexicographically smallest
 *     eligible members that M sees alive or suspect (itself included). M
 *     advertises `p:hash(C)` (a proposal: free to change as the view grows).
 *  2. If M is in C and sees every member of C alive advertising hash(C)
 *     (proposed or committed), M COMMITS: it persists C and from then on
 *     advertises `c:hash(C)` for good, whatever its view later shows.
 *  2b. Adoption: an uncommitted M that sees members committed to a hash H
 *     which is the hash of a set containing M (found by bounded search, see
 *     adopt.ts) commits to that set. This rescues sets whose other members
 *     committed while M's view grew and M moved on to a smaller-named set.
 *  2c. Release: a committed M that sees a member of its set advertise a
 *     commitment to a SMALLER hash (hex order) releases its set: that set can
 *     never form (see canNeverForm). Afterwards M commits (2 or 2b) only to
 *     sets whose hash is smaller than its released one, so the hashes a
 *     member ever commits to strictly decrease. This breaks the deadlock of
 *     two overlapping sets each holding a member committed to the other.
 *  3. A committed M bootstraps with voters C once it sees every member of C
 *     alive and advertising `c:hash(C)`. Every member of C does the same and
 *     they form ONE cluster: identical initial voter sets, identical cluster
 *     id (clusterIdFor(C)).
 *  Visible shoal.cluster from anyone alive or suspect: join it, never bootstrap.
 *  Raft state on disk: never bootstrap again.
 *
 * Why two clusters cannot form (when candidate sets intersect). A gossiped
 * tag value, however stale, is a value its owner really advertised at some
 * time, and a member advertises c:H only after persisting a commitment to H.
 * Lemma: a set that is ever released never forms. Take the FIRST release of
 * set S, caused by y in S advertising c:H' with H' < hash(S). y's commitments
 * strictly decrease, so y never commits to S after H'; before H' it would
 * have had to release S, earlier than the first release. So y never
 * advertises c:hash(S) and S, which needs all its members' commitments,
 * never forms. Now suppose X bootstrapped C1 and Y bootstrapped C2 != C1
 * (each from its own persisted commitment, having seen c:hash(Ci) from every
 * member). A member of C1 ∩ C2 committed to both at some time, so it released
 * one of them (a member holds one commitment at a time): by the lemma that
 * set never formed, a contradiction. Hence C1 ∩ C2 = ∅: two clusters need
 * two disjoint candidate sets, which fewer than 2 * bootstrapExpect eligible
 * members cannot supply (see the first residual risk). Hashes are equal only
 * for equal sets, up to a 2^-64 collision.
 *
 * Why the extra commit phase. Without it (bootstrap on seeing everyone
 * PROPOSE the same hash), a member B may advertise p:H1, D sees {B, C, D}
 * all at H1 and bootstraps, while B (before hearing C's H1) meets A, switches
 * to p:H2 for {A, B, C}, and A sees all of {A, B, C} at H2 through stale and
 * fresh gossip: two clusters sharing B and C. Stale gossip makes "a member
 * advertises one hash at a time" worthless unless the hash is final.
 *
 * Residual risks, stated honestly:
 *  - Disjoint candidate sets. Sets of size bootstrapExpect drawn from fewer
 *    than 2 * bootstrapExpect eligible members always intersect, so the
 *    argument above covers every join order and partition in that case. With
 *    2 * bootstrapExpect or more eligible members, two groups that never hear
 *    of each other during bootstrap are indistinguishable from two separate
 *    deployments and each forms its own cluster (as with Consul's
 *    bootstrap_expect). Set bootstrapExpect to the number of initial servers.
 *  - Lost commitments. A member that forgets its commitment (state lost, not
 *    persisted) may commit again, breaking the decreasing order the lemma
 *    needs. The caller must persist `commitment` before advertising it.
 *  - Liveness is tested, not proved. The property tests (views that grow
 *    to completion through partitions, stale and delayed gossip, slow
 *    members) end with every member in the one cluster; removing adoption or
 *    release makes them find stranded members. A member of a committed set
 *    that dies for good before the set forms strands the set's other members
 *    (they wait; they join any cluster that forms; with no other cluster an
 *    operator must intervene). The hash-order rule can also leave a released
 *    member unable to commit to the set everyone else proposes (its hash is
 *    not smaller); the others then need another set to form without it.
 *    Suspect members stay in the candidate set so transient suspicion does
 *    not change it; commit and bootstrap need every member of the set alive.
 */
import { MemberState, type Tags } from '../../gossip/messages.js';
import { assert } from '../../util/assert.js';
import { adoptSearchMaxHashes, findAdoptableSet } from './adopt.js';
import { candidateHash, clusterIdFor } from './hash.js';
import { TAG_BOOT, clusterIdOf, formatBootTag, isVoterEligible, parseBootTag } from './tags.js';

export interface BootstrapMember {
  name: string;
  state: MemberState;
  tags: Tags;
}

/**
 * This member's commitment state, persisted by the caller BEFORE it advertises
 * a committed tag. `released`: the set can never form (see release rule) and
 * the member is free again, but only for sets whose hash is smaller.
 */
export interface BootCommitment {
  candidate: string[];
  released: boolean;
}

export interface BootstrapInput {
  self: string;
  selfEligible: boolean;
  hasRaftState: boolean;
  bootstrapExpect: number;
  /** The gossip member table (self may be in it; its entry is ignored). */
  members: readonly BootstrapMember[];
  /** This member's commitment, if it ever made one (from persistent state). */
  commitment?: BootCommitment | undefined;
}

export type BootstrapDecision =
  | { action: 'already-bootstrapped' }
  /** `otherClusterIds`: further ids seen at the same time (a split brain to report), usually empty. */
  | { action: 'join-existing'; clusterId: string; otherClusterIds: string[] }
  /** Advertise no shoal.boot; persist `commitment` if it changed. */
  | { action: 'wait'; reason: string; commitment: BootCommitment | undefined }
  /** Persist `commitment` if it changed, THEN advertise `bootTag`. */
  | {
      action: 'propose';
      candidate: string[];
      candidateHash: string;
      committed: boolean;
      bootTag: string;
      reason: string;
      commitment: BootCommitment | undefined;
    }
  /** Bootstrap Raft with `voters`; keep advertising `bootTag` and now also shoal.cluster = clusterId. */
  | { action: 'bootstrap'; voters: string[]; clusterId: string; bootTag: string };

const isUp = (s: MemberState): boolean => s === MemberState.Alive || s === MemberState.Suspect;

export function decideBootstrap(input: BootstrapInput): BootstrapDecision {
  assert(input.self.length > 0, 'self must be a non-empty name');
  assert(Number.isSafeInteger(input.bootstrapExpect) && input.bootstrapExpect >= 1, 'bootstrapExpect must be >= 1');
  if (input.hasRaftState) return { action: 'already-bootstrapped' };

  const others = new Map<string, BootstrapMember>();
  for (const m of input.members) {
    if (m.name === input.self) continue;
    assert(!others.has(m.name), `duplicate member ${m.name}`);
    others.set(m.name, m);
  }

  const joined = visibleClusterIds(others);
  if (joined.length > 0) return { action: 'join-existing', clusterId: joined[0]!, otherClusterIds: joined.slice(1) };

  let prior = input.commitment;
  if (prior !== undefined && !prior.released) {
    const candidate = [...prior.candidate].sort();
    assert(candidate.includes(input.self), 'a member only commits to a candidate set it belongs to');
    if (!canNeverForm(candidate, others)) return decideCommitted(input.self, candidate, others);
    prior = { candidate, released: true };
  }
  // Commitments only ever go to smaller hashes than any earlier one (the release rule needs it).
  const bound = prior === undefined ? undefined : candidateHash(prior.candidate);
  const mayCommit = (hash: string): boolean => bound === undefined || hash < bound;
  const released = prior;

  if (!input.selfEligible) {
    return { action: 'wait', reason: 'not eligible to be a voter; waiting for a cluster to join', commitment: released };
  }
  const eligibleUp = [input.self];
  for (const m of others.values()) if (isUp(m.state) && isVoterEligible(m.tags)) eligibleUp.push(m.name);
  const adopted = adoptCommittedSet(input.self, input.bootstrapExpect, others, eligibleUp, mayCommit);
  if (adopted !== undefined) return proposal(adopted, true, 'adopting a set others committed to', released);
  if (eligibleUp.length < input.bootstrapExpect) {
    const reason = `${eligibleUp.length} of ${input.bootstrapExpect} eligible members visible`;
    return { action: 'wait', reason, commitment: released };
  }
  const candidate = eligibleUp.sort().slice(0, input.bootstrapExpect);
  const hash = candidateHash(candidate);
  if (!candidate.includes(input.self)) return proposal(candidate, false, 'not in the candidate set; proposing it', released);
  const missing = candidate.filter((n) => n !== input.self && !advertises(others.get(n), hash, false));
  if (missing.length > 0) {
    return proposal(candidate, false, `waiting for ${missing.join(', ')} to propose the same set`, released);
  }
  if (!mayCommit(hash)) return proposal(candidate, false, 'released an earlier set; may only commit to smaller hashes', released);
  return proposal(candidate, true, 'every candidate proposes this set: committing to it', released);
}

function proposal(candidate: string[], committed: boolean, reason: string, prior: BootCommitment | undefined): BootstrapDecision {
  const hash = candidateHash(candidate);
  return {
    action: 'propose',
    candidate,
    candidateHash: hash,
    committed,
    bootTag: formatBootTag({ candidateHash: hash, committed }),
    reason,
    commitment: committed ? { candidate, released: false } : prior,
  };
}

function decideCommitted(self: string, candidate: string[], others: Map<string, BootstrapMember>): BootstrapDecision {
  const hash = candidateHash(candidate);
  const missing = candidate.filter((n) => n !== self && !advertises(others.get(n), hash, true));
  if (missing.length === 0) {
    const bootTag = formatBootTag({ candidateHash: hash, committed: true });
    return { action: 'bootstrap', voters: candidate, clusterId: clusterIdFor(candidate), bootTag };
  }
  const prior = { candidate, released: false };
  return proposal(candidate, true, `committed; waiting for ${missing.join(', ')} to commit`, prior);
}

/**
 * Release rule: a member of `candidate` advertises a commitment to a SMALLER
 * hash. Commitments only move to smaller hashes, so that member never
 * advertises a commitment to this set afterwards, nor did before (it would
 * have had to release this set first; the first release of a set is always
 * caused by someone else, so induction holds): the set can never form.
 */
function canNeverForm(candidate: readonly string[], others: Map<string, BootstrapMember>): boolean {
  const hash = candidateHash(candidate);
  return candidate.some((n) => {
    const m = others.get(n);
    const tag = m === undefined ? undefined : parseBootTag(m.tags[TAG_BOOT]);
    return tag !== undefined && tag.committed && tag.candidateHash < hash;
  });
}

/** The set this member should adopt: the committed hash with the most alive advertisers that names a set containing self. */
function adoptCommittedSet(
  self: string,
  setSize: number,
  others: Map<string, BootstrapMember>,
  eligibleUp: readonly string[],
  mayCommit: (hash: string) => boolean,
): string[] | undefined {
  const committedBy = new Map<string, string[]>();
  const uncommitted = new Set(eligibleUp);
  for (const m of others.values()) {
    const tag = parseBootTag(m.tags[TAG_BOOT]);
    if (tag === undefined || !tag.committed || !isUp(m.state)) continue;
    uncommitted.delete(m.name);
    if (m.state !== MemberState.Alive || !mayCommit(tag.candidateHash)) continue;
    const names = committedBy.get(tag.candidateHash) ?? [];
    names.push(m.name);
    committedBy.set(tag.candidateHash, names);
  }
  uncommitted.delete(self);
  const byAdvertisers = [...committedBy.entries()].sort(
    (a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1),
  );
  for (const [hash, committed] of byAdvertisers.slice(0, adoptSearchMaxHashes)) {
    const found = findAdoptableSet({ self, setSize, hash, committed, pool: [...uncommitted] });
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Alive (not merely suspect) and advertising `hash`; committed only if `mustBeCommitted`. */
function advertises(m: BootstrapMember | undefined, hash: string, mustBeCommitted: boolean): boolean {
  if (m === undefined || m.state !== MemberState.Alive) return false;
  const tag = parseBootTag(m.tags[TAG_BOOT]);
  return tag !== undefined && tag.candidateHash === hash && (tag.committed || !mustBeCommitted);
}

/** Cluster ids advertised by alive or suspect members, most advertised first, ties by id. */
function visibleClusterIds(others: Map<string, BootstrapMember>): string[] {
  const counts = new Map<string, number>();
  for (const m of others.values()) {
    const id = clusterIdOf(m.tags);
    if (id !== undefined && isUp(m.state)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
}
