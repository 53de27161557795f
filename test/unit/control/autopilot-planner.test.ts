/** planVoterChange and AutopilotConfig: hand scenarios, then the autopilot loop simulated under fast-check. */
import test from 'ava';
import fc from 'fast-check';
import { MemberState, type Tags } from '../../../src/gossip/messages.js';
import { applyConfChange } from '../../../src/raft/conf-change.js';
import { ConfChangeType } from '../../../src/raft/types.js';
import { autopilotConfigDefaults, validateAutopilotConfig, voterTargetFor, type AutopilotConfig } from '../../../src/control/autopilot/config.js';
import { planVoterChange, type PlannerMember, type VoterPlan } from '../../../src/control/autopilot/planner.js';
import { TAG_VOTER, TAG_ZONE } from '../../../src/control/autopilot/tags.js';
import { isShoalError } from '../../../src/util/errors.js';

const config = validateAutopilotConfig();
const graceMs = config.deadVoterGraceMs;

/** A cluster as the leader sees it; `plan()` asks the planner, `apply()` applies its answer. */
class World {
  nowMs = 100_000;
  lastIndex = 1_000;
  voters: string[];
  learners: string[] = [];
  progress: Record<string, { match: number }> = {};
  members = new Map<string, PlannerMember>();
  constructor(
    public leader: string,
    voters: string[],
    public cfg: AutopilotConfig = config,
  ) {
    this.voters = [...voters];
    for (const v of voters) this.progress[v] = { match: this.lastIndex };
  }
  member(name: string, opts: { zone?: string; eligible?: boolean; state?: MemberState; sinceMs?: number } = {}): this {
    const tags: Record<string, string> = {};
    if (opts.zone !== undefined) tags[TAG_ZONE] = opts.zone;
    if (opts.eligible === false) tags[TAG_VOTER] = 'false';
    this.members.set(name, { name, state: opts.state ?? MemberState.Alive, tags, stateChangeMs: opts.sinceMs ?? 0 });
    return this;
  }
  setState(name: string, state: MemberState): this {
    const m = this.members.get(name)!;
    this.members.set(name, { ...m, state, stateChangeMs: this.nowMs });
    return this;
  }
  setTags(name: string, tags: Tags): this {
    const m = this.members.get(name)!;
    this.members.set(name, { ...m, tags });
    return this;
  }
  plan(): VoterPlan {
    return planVoterChange({
      nowMs: this.nowMs,
      leader: this.leader,
      voters: this.voters,
      learners: this.learners,
      progress: this.progress,
      leaderLastIndex: this.lastIndex,
      members: [...this.members.values()],
      config: this.cfg,
    });
  }
  apply(p: VoterPlan): void {
    if (p === null) return;
    if ('transferLeadershipTo' in p) {
      this.leader = p.transferLeadershipTo;
      return;
    }
    const next = applyConfChange({ voters: this.voters, learners: this.learners }, p.change);
    this.voters = next.voters;
    this.learners = next.learners;
    if (p.change.type === ConfChangeType.AddLearner) this.progress[p.change.node] = { match: 0 };
  }
  catchUp(name: string): this {
    this.progress[name] = { match: this.lastIndex };
    return this;
  }
}

const three = (): World =>
  new World('a', ['a', 'b', 'c']).member('a', { zone: 'z1' }).member('b', { zone: 'z2' }).member('c', { zone: 'z3' });

const changeOf = (p: VoterPlan): { type: number; node: string } | undefined => (p !== null && 'change' in p ? p.change : undefined);

test('a healthy cluster at target needs nothing', (t) => {
  t.is(three().member('d', { zone: 'z1' }).plan(), null);
});

test('dead, left and unknown learners are removed first', (t) => {
  for (const state of [MemberState.Dead, MemberState.Left]) {
    const w = three().member('d', { state });
    w.learners = ['d'];
    t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.RemoveNode, node: 'd' });
  }
  const w = three();
  w.learners = ['ghost'];
  w.setState('b', MemberState.Left); // a left voter ranks below a failed learner
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.RemoveNode, node: 'ghost' });
});

test('a voter that left is removed at once, before any grace', (t) => {
  const w = three().member('d', { zone: 'z2' });
  w.setState('b', MemberState.Left);
  const p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.RemoveNode, node: 'b' });
  w.apply(p);
  // Then a replacement is added, in the zone left without a voter.
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.AddLearner, node: 'd' });
});

test('a leaving leader transfers leadership to the most caught-up voter instead of removing itself', (t) => {
  const w = three();
  w.progress['b'] = { match: 900 };
  w.progress['c'] = { match: 990 };
  w.setState('a', MemberState.Left);
  t.deepEqual(w.plan(), { transferLeadershipTo: 'c', reason: 'the leader is leaving: transferring leadership to c' });
  w.apply(w.plan());
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.RemoveNode, node: 'a' });
});

test('a crashed voter is replaced: learner, promotion once caught up and stable, removal after the grace', (t) => {
  const w = three().member('d', { zone: 'z1' }).member('e', { zone: 'z3' }).member('f', { zone: 'z3', eligible: false });
  w.setState('c', MemberState.Dead);
  const crashMs = w.nowMs;
  // e is in z3, the zone the dead voter leaves empty; d sorts first but z1 already has a voter.
  let p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.AddLearner, node: 'e' });
  w.apply(p);
  t.is(w.plan(), null, 'the learner is not caught up yet and c is within its grace');
  w.progress['e'] = { match: w.lastIndex - config.catchUpMaxLagEntries - 1 };
  t.is(w.plan(), null, 'one entry too far behind');
  w.progress['e'] = { match: w.lastIndex - config.catchUpMaxLagEntries };
  p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.AddVoter, node: 'e' });
  w.apply(p);
  w.nowMs = crashMs + graceMs - 1;
  t.is(w.plan(), null, 'no shrink while a voter is within its grace');
  w.nowMs = crashMs + graceMs;
  p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.RemoveNode, node: 'c' });
  w.apply(p);
  t.deepEqual(w.voters, ['a', 'b', 'e']);
  t.is(w.plan(), null);
});

test('a voter that recovers within its grace keeps its seat; the replacement stays a learner', (t) => {
  const w = three().member('d', { zone: 'z3' });
  w.setState('c', MemberState.Dead);
  w.apply(w.plan()); // AddLearner(d)
  t.deepEqual(w.learners, ['d']);
  w.nowMs += graceMs / 2;
  w.setState('c', MemberState.Alive);
  w.catchUp('d');
  t.is(w.plan(), null);
  t.deepEqual(w.voters, ['a', 'b', 'c']);
  // The spare is promoted at once if a voter fails again.
  w.nowMs += config.learnerStableMs;
  w.setState('b', MemberState.Dead);
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.AddVoter, node: 'd' });
});

test('a learner that just turned alive is not promoted before learnerStableMs', (t) => {
  const w = three().member('d', { zone: 'z3', sinceMs: 100_000 });
  w.setState('c', MemberState.Dead);
  w.learners = ['d'];
  w.catchUp('d');
  t.is(w.plan(), null);
  w.nowMs += config.learnerStableMs;
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.AddVoter, node: 'd' });
});

test('a dead voter with no replacement is removed after the grace when the rest keep a quorum', (t) => {
  const w = three();
  w.setState('c', MemberState.Dead);
  w.nowMs += graceMs - 1;
  t.is(w.plan(), null);
  w.nowMs += 1;
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.RemoveNode, node: 'c' });
});

test('a dead voter is kept when the remaining alive voters would not be a quorum of the new config', (t) => {
  const w = three();
  w.setState('c', MemberState.Dead);
  w.setState('b', MemberState.Suspect);
  w.nowMs += graceMs;
  t.is(w.plan(), null, '{a, b suspect}: both must answer');
  w.setState('b', MemberState.Alive);
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.RemoveNode, node: 'c' });
});

test('a voter unknown to gossip is removed (no clock to wait on) when a quorum remains', (t) => {
  const w = three();
  w.members.delete('c');
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.RemoveNode, node: 'c' });
});

test('nothing is planned while the leader is missing from its own member table', (t) => {
  const w = three();
  w.members.delete('a');
  w.members.delete('c');
  t.is(w.plan(), null);
});

test('zones: voters concentrated in one zone move to another through learner, promotion, removal', (t) => {
  const w = new World('a', ['a', 'b', 'c']).member('a', { zone: 'z1' }).member('b', { zone: 'z1' }).member('c', { zone: 'z1' });
  w.member('d', { zone: 'z1' }).member('e', { zone: 'z2' });
  w.progress['b'] = { match: 500 };
  let p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.AddLearner, node: 'e' });
  w.apply(p);
  t.is(w.plan(), null, 'waits for the learner to catch up');
  w.catchUp('e');
  p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.AddVoter, node: 'e' });
  w.apply(p);
  p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.RemoveNode, node: 'b' }, 'z1, lowest match, never the leader');
  w.apply(p);
  t.deepEqual(w.voters, ['a', 'c', 'e']);
  t.is(w.plan(), null, 'z1 has 2, z2 has 1: within one, stable');
});

test('shrink removes from the most represented zone, never the leader', (t) => {
  const w = new World('a', ['a', 'b', 'c', 'd', 'e']);
  w.member('a', { zone: 'z1' }).member('b', { zone: 'z1' }).member('c', { zone: 'z1' }).member('d', { zone: 'z2' }).member('e', { zone: 'z3' });
  let p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.RemoveNode, node: 'b' });
  w.apply(p);
  p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.RemoveNode, node: 'c' });
  w.apply(p);
  t.deepEqual(w.voters, ['a', 'd', 'e']);
  t.is(w.plan(), null);
});

test('seven eligible members raise the target to five voters', (t) => {
  const w = three();
  for (const [n, z] of [['d', 'z1'], ['e', 'z2'], ['f', 'z3'], ['g', 'z1']] as const) w.member(n, { zone: z });
  const p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.AddLearner, node: 'd' });
  w.apply(p);
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.AddLearner, node: 'e' }, 'z2 has fewer voters+learners than z1 now');
});

test('an ineligible voter is replaced, then removed; an ineligible leader hands over first', (t) => {
  const w = three().member('d', { zone: 'z2' });
  w.setTags('b', { [TAG_ZONE]: 'z2', [TAG_VOTER]: 'false' });
  let p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.AddLearner, node: 'd' });
  w.apply(p);
  w.catchUp('d');
  p = w.plan();
  t.deepEqual(changeOf(p), { type: ConfChangeType.AddVoter, node: 'd' });
  w.apply(p);
  t.deepEqual(changeOf(w.plan()), { type: ConfChangeType.RemoveNode, node: 'b' });

  const l = three().member('d', { zone: 'z1' });
  l.setTags('a', { [TAG_ZONE]: 'z1', [TAG_VOTER]: 'false' });
  l.learners = ['d'];
  l.catchUp('d');
  l.apply(l.plan()); // promote d
  t.deepEqual(l.voters, ['a', 'b', 'c', 'd']);
  t.like(l.plan(), { transferLeadershipTo: 'b' });
});

test('config: defaults, voterTargetFor and validation errors', (t) => {
  t.deepEqual(validateAutopilotConfig(), { ...autopilotConfigDefaults });
  t.is(voterTargetFor(config, 6), 3);
  t.is(voterTargetFor(config, 7), 5);
  const custom = validateAutopilotConfig({ voterTarget: 1, largeClusterVoterTarget: 3, largeClusterMinEligible: 4 });
  t.is(voterTargetFor(custom, 3), 1);
  t.is(voterTargetFor(custom, 4), 3);
  const bad: [Partial<AutopilotConfig>, RegExp][] = [
    [{ voterTarget: 0 }, /voterTarget must be an integer >= 1, got 0/],
    [{ deadVoterGraceMs: -1 }, /deadVoterGraceMs/],
    [{ catchUpMaxLagEntries: 1.5 }, /catchUpMaxLagEntries/],
    [{ bootstrapExpect: 0 }, /bootstrapExpect/],
    [{ voterTarget: 5, largeClusterVoterTarget: 3 }, /largeClusterVoterTarget \(3\) must be at least voterTarget \(5\)/],
    [{ largeClusterMinEligible: 5 }, /largeClusterMinEligible \(5\) must exceed largeClusterVoterTarget \(5\)/],
  ];
  for (const [input, message] of bad) {
    const err = t.throws(() => validateAutopilotConfig(input));
    t.true(isShoalError(err, 'ERR_INVALID_CONFIG'));
    t.regex(err!.message, message);
  }
});

// ---------------------------------------------------------------------------
// The autopilot loop under fast-check: random clusters, a crash and a leave,
// each plan applied, learners catching up a few steps after they are added.

interface LoopScenario {
  members: { zone: string | undefined; eligible: boolean }[];
  initialVoters: number[];
  leaderIndex: number;
  crashVoter: boolean;
  leaveVoter: boolean;
  crashOther: boolean;
}

const loopArb: fc.Arbitrary<LoopScenario> = fc
  .integer({ min: 3, max: 9 })
  .chain((n) =>
    fc.record({
      members: fc.array(
        fc.record({ zone: fc.option(fc.constantFrom('z1', 'z2', 'z3'), { nil: undefined, freq: 4 }), eligible: fc.boolean() }),
        { minLength: n, maxLength: n },
      ),
      initialVoters: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 3, maxLength: Math.min(n, 5) }),
      leaderIndex: fc.nat(),
      crashVoter: fc.boolean(),
      leaveVoter: fc.boolean(),
      crashOther: fc.boolean(),
    }),
  );

const stepMs = 2_000;
const catchUpSteps = 3;
const loopSteps = 80;

function runLoop(s: LoopScenario): { world: World; events: string[]; crashed?: string; left?: string; crashMs: number } {
  const names = s.members.map((_, i) => `n${i}`);
  const voters = s.initialVoters.map((i) => names[i]!);
  // Initial voters are eligible (they were chosen as voters); others as generated.
  const leader = voters[s.leaderIndex % voters.length]!;
  const w = new World(leader, voters);
  s.members.forEach((m, i) =>
    w.member(names[i]!, { ...(m.zone === undefined ? {} : { zone: m.zone }), eligible: voters.includes(names[i]!) || m.eligible }),
  );
  const nonLeaderVoters = voters.filter((v) => v !== leader);
  const crashed = s.crashVoter ? nonLeaderVoters[0] : undefined;
  const left = s.leaveVoter ? nonLeaderVoters[1] : undefined;
  if (crashed !== undefined) w.setState(crashed, MemberState.Dead);
  if (left !== undefined) w.setState(left, MemberState.Left);
  const other = names.find((n) => !voters.includes(n));
  if (s.crashOther && other !== undefined) w.setState(other, MemberState.Dead);
  const crashMs = w.nowMs;
  const events: string[] = [];
  const addedAt = new Map<string, number>();
  for (let step = 0; step < loopSteps; step++) {
    for (const l of w.learners) if (step - (addedAt.get(l) ?? 0) >= catchUpSteps) w.catchUp(l);
    const p = w.plan();
    if (p !== null) {
      const keys = Object.keys(p).sort().join();
      if (keys !== 'change,reason' && keys !== 'reason,transferLeadershipTo') throw new Error(`malformed plan ${JSON.stringify(p)}`);
      if ('change' in p) {
        if (p.change.type === ConfChangeType.RemoveNode && p.change.node === w.leader) throw new Error('removed the leader');
        if (p.change.type === ConfChangeType.AddLearner) addedAt.set(p.change.node, step);
        const kind = ['AddVoter', 'AddLearner', 'RemoveNode'][p.change.type]!;
        events.push(`${w.nowMs}:${kind}(${p.change.node})`);
      } else {
        const to = w.members.get(p.transferLeadershipTo);
        if (!w.voters.includes(p.transferLeadershipTo) || p.transferLeadershipTo === w.leader || to?.state !== MemberState.Alive) {
          throw new Error(`bad transfer ${JSON.stringify(p)}`);
        }
        events.push(`${w.nowMs}:Transfer(${p.transferLeadershipTo})`);
      }
      w.apply(p);
    }
    if (w.voters.length === 0 || !w.voters.includes(w.leader)) throw new Error('lost the leader');
    w.nowMs += stepMs;
    w.lastIndex += 10;
    for (const v of w.voters) w.progress[v] = { match: w.lastIndex };
  }
  return { world: w, events, crashMs, ...(crashed === undefined ? {} : { crashed }), ...(left === undefined ? {} : { left }) };
}

test('property: the loop converges to the target with voters spread over zones, never removing the leader', (t) => {
  fc.assert(
    fc.property(loopArb, (s) => {
      const { world: w, events, crashed, left, crashMs } = runLoop(s);
      const trace = `events: ${events.join(' ')}`;
      const final = w.plan();
      if (final !== null) throw new Error(`not converged: ${JSON.stringify(final)}; ${trace}`);
      const members = [...w.members.values()];
      const eligibleAlive = members.filter((m) => m.state === MemberState.Alive && m.tags[TAG_VOTER] !== 'false');
      const target = voterTargetFor(config, members.filter((m) => m.state !== MemberState.Left && m.tags[TAG_VOTER] !== 'false').length);
      if (w.voters.length !== Math.min(target, eligibleAlive.length)) {
        throw new Error(`${w.voters.length} voters, target ${target}, ${eligibleAlive.length} eligible alive; ${trace}`);
      }
      for (const v of w.voters) {
        const m = w.members.get(v);
        if (m?.state !== MemberState.Alive) throw new Error(`voter ${v} is not alive; ${trace}`);
      }
      // Spread: no zone with a spare eligible member has 2+ fewer voters than the fullest zone.
      const zone = (n: string): string => w.members.get(n)!.tags[TAG_ZONE] ?? '';
      const counts = new Map<string, number>();
      for (const v of w.voters) counts.set(zone(v), (counts.get(zone(v)) ?? 0) + 1);
      const most = Math.max(...counts.values());
      for (const m of eligibleAlive) {
        if (!w.voters.includes(m.name) && most - (counts.get(zone(m.name)) ?? 0) >= 2) {
          throw new Error(`zone '${zone(m.name)}' under-represented; voters ${w.voters.join()}; ${trace}`);
        }
      }
      // A left voter goes first thing; a crashed one only after its grace.
      if (left !== undefined && !events[0]!.endsWith(`RemoveNode(${left})`)) throw new Error(`left voter not removed first; ${trace}`);
      if (crashed !== undefined) {
        const removal = events.find((e) => e.endsWith(`RemoveNode(${crashed})`));
        if (removal === undefined) throw new Error(`crashed voter ${crashed} never removed; ${trace}`);
        if (Number(removal.split(':')[0]) < crashMs + graceMs) throw new Error(`crashed voter removed before its grace; ${trace}`);
      }
    }),
    { numRuns: 400 },
  );
  t.pass();
});

test('property: for any input, at most one change, never removing the leader', (t) => {
  const stateArb = fc.constantFrom(MemberState.Alive, MemberState.Suspect, MemberState.Dead, MemberState.Left);
  fc.assert(
    fc.property(
      fc.array(fc.record({ state: stateArb, zone: fc.constantFrom('z1', 'z2'), eligible: fc.boolean(), known: fc.boolean(), role: fc.constantFrom('voter', 'learner', 'none'), match: fc.nat(1_100), sinceMs: fc.nat(100_000) }), {
        minLength: 1,
        maxLength: 9,
      }),
      fc.nat(),
      (rows, leaderPick) => {
        const names = rows.map((_, i) => `n${i}`);
        let voters = names.filter((_, i) => rows[i]!.role === 'voter');
        if (voters.length === 0) voters = [names[0]!];
        const leader = voters[leaderPick % voters.length]!;
        const learners = names.filter((n, i) => rows[i]!.role === 'learner' && !voters.includes(n));
        const members: PlannerMember[] = [];
        rows.forEach((r, i) => {
          if (!r.known && names[i] !== leader) return;
          const tags: Record<string, string> = { [TAG_ZONE]: r.zone };
          if (!r.eligible) tags[TAG_VOTER] = 'false';
          members.push({ name: names[i]!, state: names[i] === leader ? MemberState.Alive : r.state, tags, stateChangeMs: r.sinceMs });
        });
        const progress = Object.fromEntries(rows.map((r, i) => [names[i]!, { match: r.match }]));
        const p = planVoterChange({ nowMs: 150_000, leader, voters, learners, progress, leaderLastIndex: 1_000, members, config });
        if (p === null) return;
        if ('change' in p) {
          if (p.change.type === ConfChangeType.RemoveNode && p.change.node === leader) throw new Error('removes the leader');
          if (p.change.type === ConfChangeType.AddVoter && !learners.includes(p.change.node)) throw new Error('promotes a non-learner');
          const next = applyConfChange({ voters, learners }, p.change);
          const moved = names.filter((n) => next.voters.includes(n) !== voters.includes(n) || next.learners.includes(n) !== learners.includes(n));
          if (moved.length !== 1) throw new Error(`changes ${moved.length} nodes`);
        } else if (p.transferLeadershipTo === leader || !voters.includes(p.transferLeadershipTo)) {
          throw new Error(`bad transfer ${JSON.stringify(p)}`);
        }
      },
    ),
    { numRuns: 1_000 },
  );
  t.pass();
});
