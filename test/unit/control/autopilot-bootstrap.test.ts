/** decideBootstrap: hand scenarios, then a round-based simulation of gossip views checked by fast-check. */
import test from 'ava';
import fc from 'fast-check';
import { MemberState, type Tags } from '../../../src/gossip/messages.js';
import { decideBootstrap, type BootCommitment, type BootstrapDecision, type BootstrapMember } from '../../../src/control/autopilot/bootstrap.js';
import { candidateHash, clusterIdFor } from '../../../src/control/autopilot/hash.js';
import { findAdoptableSet } from '../../../src/control/autopilot/adopt.js';
import { TAG_BOOT, TAG_CLUSTER, TAG_VOTER, formatBootTag, parseBootTag } from '../../../src/control/autopilot/tags.js';

const alive = (name: string, tags: Tags = {}): BootstrapMember => ({ name, state: MemberState.Alive, tags });
const proposing = (name: string, set: string[], committed = false): BootstrapMember =>
  alive(name, { [TAG_BOOT]: formatBootTag({ candidateHash: candidateHash(set), committed }) });

const decide = (
  self: string,
  members: BootstrapMember[],
  extra: { expect?: number; commitment?: BootCommitment; eligible?: boolean; raft?: boolean } = {},
): BootstrapDecision =>
  decideBootstrap({
    self,
    selfEligible: extra.eligible ?? true,
    hasRaftState: extra.raft ?? false,
    bootstrapExpect: extra.expect ?? 3,
    members,
    commitment: extra.commitment,
  });

test('a member with Raft state never bootstraps again', (t) => {
  const abc = ['a', 'b', 'c'];
  const d = decide('a', [proposing('b', abc, true), proposing('c', abc, true)], { raft: true, commitment: { candidate: abc, released: false } });
  t.deepEqual(d, { action: 'already-bootstrapped' });
});

test('waits until bootstrapExpect eligible members are visible', (t) => {
  const d = decide('a', [alive('b'), alive('c', { [TAG_VOTER]: 'false' }), { name: 'd', state: MemberState.Dead, tags: {} }]);
  t.is(d.action, 'wait');
  t.regex((d as { reason: string }).reason, /2 of 3 eligible/);
});

test('proposes the bootstrapExpect smallest eligible names, suspects included', (t) => {
  const d = decide('c', [alive('e'), { name: 'b', state: MemberState.Suspect, tags: {} }, alive('a', { [TAG_VOTER]: 'false' }), alive('d')]);
  t.like(d, { action: 'propose', candidate: ['b', 'c', 'd'], committed: false });
  t.is((d as { bootTag: string }).bootTag, `p:${candidateHash(['b', 'c', 'd'])}`);
});

test('a member outside its candidate set proposes but never commits', (t) => {
  const abc = ['a', 'b', 'c'];
  const d = decide('d', [proposing('a', abc), proposing('b', abc), proposing('c', abc)]);
  t.like(d, { action: 'propose', candidate: abc, committed: false });
});

test('commits once every candidate proposes the same hash, bootstraps once every candidate committed', (t) => {
  const abc = ['a', 'b', 'c'];
  t.like(decide('a', [proposing('b', abc), alive('c')]), { action: 'propose', committed: false });
  t.like(decide('a', [proposing('b', abc), proposing('c', abc)]), { action: 'propose', committed: true, candidate: abc });
  const waiting = decide('a', [proposing('b', abc, true), proposing('c', abc)], { commitment: { candidate: abc, released: false } });
  t.like(waiting, { action: 'propose', committed: true });
  t.regex((waiting as { reason: string }).reason, /waiting for c to commit/);
  const boot = decide('a', [proposing('b', abc, true), proposing('c', abc, true)], { commitment: { candidate: abc, released: false } });
  t.deepEqual(boot, { action: 'bootstrap', voters: abc, clusterId: clusterIdFor(abc), bootTag: `c:${candidateHash(abc)}` });
});

test('a commitment is kept whatever the view later shows', (t) => {
  const bcd = ['b', 'c', 'd'];
  // 'a' appears: the fresh candidate would be {a, b, c}, but b stays committed to {b, c, d}.
  const d = decide('b', [alive('a'), proposing('c', ['a', 'b', 'c']), proposing('d', bcd, true)], { commitment: { candidate: bcd, released: false } });
  t.like(d, { action: 'propose', committed: true, candidate: bcd });
});

test('a suspect candidate blocks commit and bootstrap', (t) => {
  const abc = ['a', 'b', 'c'];
  const suspectC: BootstrapMember = { ...proposing('c', abc, true), state: MemberState.Suspect };
  t.like(decide('a', [proposing('b', abc), suspectC]), { action: 'propose', committed: false });
  t.like(decide('a', [proposing('b', abc, true), suspectC], { commitment: { candidate: abc, released: false } }), { action: 'propose', committed: true });
});

test('a visible cluster id is joined, never bootstrapped over', (t) => {
  const abc = ['a', 'b', 'c'];
  const members = [proposing('b', abc, true), proposing('c', abc, true), alive('x', { [TAG_CLUSTER]: 'cluster-1' })];
  t.deepEqual(decide('a', members, { commitment: { candidate: abc, released: false } }), {
    action: 'join-existing',
    clusterId: 'cluster-1',
    otherClusterIds: [],
  });
  // A dead member's cluster id is not a cluster to join.
  const dead: BootstrapMember = { name: 'x', state: MemberState.Dead, tags: { [TAG_CLUSTER]: 'cluster-1' } };
  t.is(decide('a', [proposing('b', abc, true), proposing('c', abc, true), dead], { commitment: { candidate: abc, released: false } }).action, 'bootstrap');
});

test('two visible cluster ids: the most advertised is joined and the other reported', (t) => {
  const members = [alive('x', { [TAG_CLUSTER]: 'z1' }), alive('y', { [TAG_CLUSTER]: 'a1' }), alive('w', { [TAG_CLUSTER]: 'z1' })];
  t.deepEqual(decide('a', members), { action: 'join-existing', clusterId: 'z1', otherClusterIds: ['a1'] });
});

test('an ineligible member waits for a cluster', (t) => {
  t.like(decide('a', [alive('b'), alive('c'), alive('d')], { eligible: false }), { action: 'wait' });
});

test('stale proposals cannot make two clusters: the scenario the commit phase exists for', (t) => {
  // B proposed {b,c,d}; D saw b, c, d all at H(bcd). Without commit D would bootstrap now.
  const bcd = ['b', 'c', 'd'];
  const dView = decide('d', [proposing('b', bcd), proposing('c', bcd)]);
  t.like(dView, { action: 'propose', committed: true }); // D commits, it does not bootstrap
  // B meanwhile met A and moved to {a,b,c}; A sees b, c at H(abc): A commits too.
  const abc = ['a', 'b', 'c'];
  t.like(decide('a', [proposing('b', abc), proposing('c', abc), proposing('d', bcd, true)]), { action: 'propose', committed: true });
  // B and C are each committed to at most one of the two sets, so at most one set ever sees all commits.
});

test('adoption: a member whose candidate moved on joins a set the others committed to', (t) => {
  const bcd = ['b', 'c', 'd'];
  // c now sees a: its fresh candidate is {a,b,c}, but b and d committed to {b,c,d}.
  const d = decide('c', [alive('a'), proposing('b', bcd, true), proposing('d', bcd, true)]);
  t.like(d, { action: 'propose', committed: true, candidate: bcd });
  // With only b committed, the search finds the set through the uncommitted pool.
  t.like(decide('d', [alive('a'), proposing('b', bcd, true), proposing('c', ['a', 'b', 'c'])]), { candidate: bcd, committed: true });
  t.is(findAdoptableSet({ self: 'q', setSize: 3, hash: candidateHash(bcd), committed: ['b'], pool: ['a', 'c', 'd'] }), undefined);
});

test('release: a commitment is dropped when a member of its set commits to a smaller hash, never to a larger one', (t) => {
  const abc = ['a', 'b', 'c'];
  const bcd = ['b', 'c', 'd'];
  const [small, big] = candidateHash(abc) < candidateHash(bcd) ? [abc, bcd] : [bcd, abc];
  // self 'b' committed to `big`; 'c' (in both sets) committed to `small`: `big` can never form.
  const released = decide('b', [proposing('c', small, true)], { commitment: { candidate: big, released: false } });
  t.like(released, { action: 'wait' });
  t.deepEqual((released as { commitment: unknown }).commitment, { candidate: big, released: true });
  // With the rest of `small` in view, 'b' releases `big` and adopts `small` in the same decision.
  const adopted = decide('b', [alive('a'), proposing('c', small, true), alive('d')], { commitment: { candidate: big, released: false } });
  t.like(adopted, { action: 'propose', committed: true, candidate: small, commitment: { candidate: small, released: false } });
  // The other way round the commitment holds: `small` may still form.
  const held = decide('b', [alive('a'), proposing('c', big, true), alive('d')], { commitment: { candidate: small, released: false } });
  t.like(held, { action: 'propose', committed: true, candidate: small });
  // Released from `small`, a member may not commit to `big`, even when everyone proposes it.
  const everyoneBig = big.filter((n) => n !== 'b').map((n) => proposing(n, big));
  const refused = decide('b', everyoneBig, { commitment: { candidate: small, released: true } });
  t.like(refused, { action: 'propose', candidate: big, committed: false });
  t.regex((refused as { reason: string }).reason, /may only commit to smaller hashes/);
});

test('boot tags round-trip and malformed tags read as nothing', (t) => {
  t.deepEqual(parseBootTag(formatBootTag({ candidateHash: 'ab12', committed: true })), { candidateHash: 'ab12', committed: true });
  t.deepEqual(parseBootTag('p:ff'), { candidateHash: 'ff', committed: false });
  for (const bad of [undefined, '', 'x:ab', 'c', 'cab', 'p:']) t.is(parseBootTag(bad), undefined);
});

test('cluster ids depend on the set only, not its order', (t) => {
  t.is(clusterIdFor(['c', 'a', 'b']), clusterIdFor(['a', 'b', 'c']));
  t.not(clusterIdFor(['a', 'b', 'c']), clusterIdFor(['a', 'b', 'd']));
  t.not(clusterIdFor(['a', 'b', 'c']), candidateHash(['a', 'b', 'c']));
  t.is(candidateHash(['a,b', 'c']) === candidateHash(['a', 'b,c']), false);
});

// ---------------------------------------------------------------------------
// Simulation: members with partial, growing views and stale tags, in rounds.

interface SimMember {
  name: string;
  eligible: boolean;
  raft: boolean;
  commitment: BootCommitment | undefined;
  tagHistory: Tags[]; // tags advertised at the end of each round
}

interface Scenario {
  names: string[];
  ineligible: number;
  expect: number;
  /** Per viewer, per other member: the round from which it is visible (views only grow). */
  visibleFrom: number[][];
  /** Per viewer, per other member, per round: gossip delay in rounds (stale tags). */
  delaySeeds: number[];
  suspectSeeds: number[];
  /** Before fullRound a member skips its turn now and then (a slow process). */
  activeSeeds: number[];
  fullRound: number;
}

const maxDelayRounds = 5;
const settleRounds = 25;

const lateOrNot = (fullRound: number): fc.Arbitrary<number> =>
  fullRound === 0
    ? fc.constant(0)
    : fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.integer({ min: 1, max: fullRound }), weight: 1 });

/** Independent growing views: mostly visible at once, some late (late small names move candidate sets). */
const randomViews = (n: number, fullRound: number): fc.Arbitrary<number[][]> =>
  fc.array(fc.array(lateOrNot(fullRound), { minLength: n, maxLength: n }), { minLength: n, maxLength: n });

/**
 * A partition at bootstrap time: sides 0 and 1 do not see each other until it
 * heals at fullRound; members on side 2 bridge it (see both, some late).
 */
const partitionedViews = (n: number, fullRound: number): fc.Arbitrary<number[][]> =>
  fc
    .record({
      sides: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
      late: fc.array(fc.array(lateOrNot(fullRound), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
    })
    .map(({ sides, late }) =>
      late.map((row, i) => row.map((from, j) => (sides[i]! + sides[j]! === 1 ? fullRound : from))),
    );

function scenarioArb(expect: number, eligibleMax: number): fc.Arbitrary<Scenario> {
  return fc
    .record({
      eligibleCount: fc.oneof(fc.constant(eligibleMax), fc.integer({ min: expect, max: eligibleMax })),
      ineligible: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 })),
      fullRound: fc.integer({ min: 0, max: 16 }),
    })
    .chain(({ eligibleCount, ineligible, fullRound }) => {
      const n = eligibleCount + ineligible;
      return fc.record({
        names: fc.uniqueArray(fc.stringMatching(/^[a-e]{1,2}$/), { minLength: n, maxLength: n }),
        ineligible: fc.constant(ineligible),
        expect: fc.constant(expect),
        visibleFrom: fc.oneof(randomViews(n, fullRound), partitionedViews(n, fullRound)),
        delaySeeds: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 1 }),
        suspectSeeds: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 1 }),
        activeSeeds: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 1 }),
        fullRound: fc.constant(fullRound),
      });
    });
}

/** Deterministic pseudo-random in [0, mod) from integers (a small hash, no shared state). */
function mix(mod: number, ...xs: number[]): number {
  let h = 2166136261;
  for (const x of xs) h = Math.imul(h ^ x, 16777619) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0x5bd1e995) >>> 0;
  return (h >>> 0) % mod;
}

interface SimResult {
  bootstrapped: Map<string, string[]>; // member -> voters
  clusterIds: Set<string>;
  members: SimMember[];
  decisions: BootstrapDecision[][];
}

/** A commitment is only released (same set) or replaced by one with a smaller hash (releasing the old). */
function checkCommitmentStep(me: SimMember, next: BootCommitment | undefined): void {
  const prev = me.commitment;
  if (prev === undefined || next === undefined) {
    if (prev !== undefined) throw new Error(`${me.name} forgot its commitment`);
    return;
  }
  const same = JSON.stringify(prev.candidate) === JSON.stringify(next.candidate);
  if (same) {
    if (prev.released && !next.released) throw new Error(`${me.name} re-committed to a released set`);
    return;
  }
  // A different set: the old one was released (possibly in the same decision); hashes only go down.
  if (!(candidateHash(next.candidate) < candidateHash(prev.candidate))) throw new Error(`${me.name} committed to a larger hash`);
}

function simulate(s: Scenario): SimResult {
  const members: SimMember[] = s.names.map((name, i) => ({
    name,
    eligible: i >= s.ineligible, // the first `ineligible` names are tagged voter=false
    raft: false,
    commitment: undefined,
    tagHistory: [],
  }));
  const bootstrapped = new Map<string, string[]>();
  const clusterIds = new Set<string>();
  const decisions: BootstrapDecision[][] = [];
  const rounds = s.fullRound + settleRounds;
  for (let r = 0; r < rounds; r++) {
    const roundDecisions: BootstrapDecision[] = [];
    const next: Tags[] = [];
    members.forEach((me, i) => {
      if (r < s.fullRound && mix(3, s.activeSeeds[0]!, i, r) === 0) {
        roundDecisions.push({ action: 'wait', reason: 'skipped turn', commitment: me.commitment });
        next.push(me.tagHistory[me.tagHistory.length - 1] ?? (me.eligible ? {} : { [TAG_VOTER]: 'false' }));
        return;
      }
      const view: BootstrapMember[] = [];
      members.forEach((other, j) => {
        if (j === i || r < s.visibleFrom[i]![j]!) return;
        // A per-link latency plus per-round jitter: some links are slow throughout.
        const delay = mix(maxDelayRounds, s.delaySeeds[0]!, i, j) + mix(2, s.delaySeeds[0]!, i, j, r);
        const seenRound = Math.min(r - 1 - delay, other.tagHistory.length - 1);
        const tags = seenRound >= 0 ? other.tagHistory[seenRound]! : other.eligible ? {} : { [TAG_VOTER]: 'false' };
        // Transient suspicion before the views are complete.
        const suspect = r < s.fullRound && mix(10, s.suspectSeeds[0]!, i, j, r) === 0;
        view.push({ name: other.name, state: suspect ? MemberState.Suspect : MemberState.Alive, tags });
      });
      const d = decideBootstrap({
        self: me.name,
        selfEligible: me.eligible,
        hasRaftState: me.raft,
        bootstrapExpect: s.expect,
        members: view,
        commitment: me.commitment,
      });
      roundDecisions.push(d);
      const prev = me.tagHistory[me.tagHistory.length - 1] ?? (me.eligible ? {} : { [TAG_VOTER]: 'false' });
      const tags: Record<string, string> = { ...prev };
      switch (d.action) {
        case 'already-bootstrapped':
          break;
        case 'join-existing':
          me.raft = true;
          clusterIds.add(d.clusterId);
          tags[TAG_CLUSTER] = d.clusterId;
          break;
        case 'wait':
          checkCommitmentStep(me, d.commitment);
          me.commitment = d.commitment;
          delete tags[TAG_BOOT];
          break;
        case 'propose':
          checkCommitmentStep(me, d.commitment);
          me.commitment = d.commitment;
          tags[TAG_BOOT] = d.bootTag;
          break;
        case 'bootstrap':
          me.raft = true;
          bootstrapped.set(me.name, d.voters);
          clusterIds.add(d.clusterId);
          tags[TAG_CLUSTER] = d.clusterId;
          break;
      }
      next.push(tags);
    });
    members.forEach((m, i) => m.tagHistory.push(next[i]!));
    decisions.push(roundDecisions);
  }
  return { bootstrapped, clusterIds, members, decisions };
}

function checkOneCluster(s: Scenario): void {
  const res = simulate(s);
  const sets = new Set([...res.bootstrapped.values()].map((v) => JSON.stringify(v)));
  if (sets.size > 1) throw new Error(`two voter sets bootstrapped: ${[...sets].join(' ')}`);
  if (res.clusterIds.size > 1) throw new Error(`two cluster ids: ${[...res.clusterIds].join(' ')}`);
  for (const voters of res.bootstrapped.values()) {
    if (voters.length !== s.expect) throw new Error(`bootstrapped ${voters.length} voters, expected ${s.expect}`);
    for (const v of voters) {
      if (!res.members.find((m) => m.name === v)!.eligible) throw new Error(`ineligible voter ${v}`);
    }
  }
  // Liveness: views are complete and stable from fullRound on: everyone ends up in the one cluster.
  const stranded = res.members.filter((m) => !m.raft).map((m) => m.name);
  if (stranded.length > 0) throw new Error(`members never bootstrapped nor joined: ${stranded.join(', ')}`);
}

for (const expect of [3, 5]) {
  test(`property: partial and stale views bootstrap at most one cluster, and everyone ends up in it (expect ${expect})`, (t) => {
    // Fewer than 2 * expect eligible members: any two candidate sets intersect (see bootstrap.ts).
    fc.assert(fc.property(scenarioArb(expect, 2 * expect - 1), (s) => checkOneCluster(s)), { numRuns: expect === 3 ? 2000 : 500 });
    t.pass();
  });
}

test('property: with a cluster id visible nobody bootstraps', (t) => {
  const memberArb = fc.record({
    name: fc.stringMatching(/^[a-h]$/),
    state: fc.constantFrom(MemberState.Alive, MemberState.Suspect, MemberState.Dead, MemberState.Left),
    tags: fc.record(
      { [TAG_BOOT]: fc.constantFrom('p:x', 'c:x', formatBootTag({ candidateHash: candidateHash(['a', 'b', 'c']), committed: true })) },
      { requiredKeys: [] },
    ),
  });
  fc.assert(
    fc.property(
      fc.uniqueArray(memberArb, { selector: (m) => m.name, minLength: 1, maxLength: 8 }),
      fc.stringMatching(/^[a-h]$/),
      fc.boolean(),
      (members, withCluster, committed) => {
        const target = members.find((m) => m.name === withCluster) ?? members[0]!;
        const view = members.map((m) =>
          m === target ? { ...m, state: MemberState.Alive, tags: { ...m.tags, [TAG_CLUSTER]: 'the-cluster' } } : m,
        );
        const self = target.name === 'a' ? 'b' : 'a';
        for (const expect of [1, 3, 5]) {
          const d = decideBootstrap({
            self,
            selfEligible: true,
            hasRaftState: false,
            bootstrapExpect: expect,
            members: view,
            commitment: committed ? { candidate: [self], released: false } : undefined,
          });
          if (d.action !== 'join-existing' || d.clusterId !== 'the-cluster') throw new Error(`got ${JSON.stringify(d)}`);
        }
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('residual risk, documented: two groups of expect members that never hear of each other form two clusters', (t) => {
  // 6 eligible members, expect 3, partitioned {a,b,c} | {d,e,f} for the whole bootstrap.
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const side = (i: number): number => (i < 3 ? 0 : 1);
  const scenario: Scenario = {
    names,
    ineligible: 0,
    expect: 3,
    visibleFrom: names.map((_, i) => names.map((__, j) => (side(i) === side(j) ? 0 : 1_000))),
    delaySeeds: [1],
    suspectSeeds: [1],
    activeSeeds: [1],
    fullRound: 0,
  };
  const res = simulate(scenario);
  t.deepEqual([...new Set([...res.bootstrapped.values()].map((v) => v.join()))].sort(), ['a,b,c', 'd,e,f']);
});

test('a simulation with full views from the start bootstraps the smallest names in a few rounds', (t) => {
  const names = ['m5', 'm1', 'm4', 'm2', 'm3'];
  const res = simulate({
    names,
    ineligible: 0,
    expect: 3,
    visibleFrom: names.map(() => names.map(() => 0)),
    delaySeeds: [7],
    suspectSeeds: [7],
    activeSeeds: [7],
    fullRound: 0,
  });
  // Some of m1..m3 bootstrap (independently, with the same set); the rest see the id and join.
  t.true(res.bootstrapped.size >= 1);
  for (const [name, voters] of res.bootstrapped) {
    t.true(['m1', 'm2', 'm3'].includes(name));
    t.deepEqual(voters, ['m1', 'm2', 'm3']);
  }
  t.deepEqual([...res.clusterIds], [clusterIdFor(['m1', 'm2', 'm3'])]);
  t.true(res.members.every((m) => m.raft));
  const firstBoot = res.decisions.findIndex((round) => round.some((d) => d.action === 'bootstrap'));
  t.true(firstBoot >= 2 && firstBoot <= 2 + 2 * (maxDelayRounds + 1), `first bootstrap in round ${firstBoot}`);
});
