import test from 'ava';
import { MemberState, type Tags } from '../../../src/gossip/messages.js';
import type { MemberInfo } from '../../../src/gossip/events.js';
import { ConfChangeType } from '../../../src/raft/types.js';
import { AutopilotDriver, controlAutopilotConfig, learnerSparesMax, type AutopilotView } from '../../../src/control/autopilot-driver.js';

const config = controlAutopilotConfig({ deadVoterGraceMs: 5000, learnerStableMs: 1000 }, 3);

function m(name: string, state: MemberState = MemberState.Alive, tags: Tags = {}, stateChangeMs = 0): MemberInfo {
  return { name, addr: `${name}:1`, state, incarnation: 1, tags, stateChangeMs };
}

function view(over: Partial<AutopilotView> = {}): AutopilotView {
  return {
    leader: 'a',
    voters: ['a', 'b', 'c'],
    learners: [],
    progress: { a: { match: 10, recentActive: true }, b: { match: 10, recentActive: true }, c: { match: 10, recentActive: true } },
    lastIndex: 10,
    ...over,
  };
}

test('the voter target is never below bootstrapExpect', (t) => {
  t.is(controlAutopilotConfig({}, 5).voterTarget, 5);
  const seven = controlAutopilotConfig({}, 7);
  t.is(seven.voterTarget, 7);
  t.true(seven.largeClusterMinEligible > seven.largeClusterVoterTarget);
  t.is(controlAutopilotConfig({}, 1).voterTarget, 3, 'a smaller bootstrap still grows to the default target');
});

test('a learner the leader does not hear from is not promoted, even when gossip says it is alive and its match looks caught up', (t) => {
  const d = new AutopilotDriver(config, 500, 3000);
  d.onMembership([m('a'), m('b'), m('c', MemberState.Dead, {}, 1000), m('d')]);
  const silent = view({ learners: ['d'], progress: { ...view().progress, c: { match: 5, recentActive: false }, d: { match: 0, recentActive: false } } });
  t.true(d.due(20_000));
  const none = d.plan(20_000, silent);
  t.not(none?.kind === 'change' ? none.cc.type : undefined, ConfChangeType.AddVoter);
  const heard = view({ learners: ['d'], progress: { ...view().progress, c: { match: 5, recentActive: false }, d: { match: 10, recentActive: true } } });
  const promote = d.plan(30_000, heard);
  t.deepEqual(promote?.kind === 'change' ? promote.cc : undefined, { type: ConfChangeType.AddVoter, node: 'd' });
});

test('spare learners: eligible alive members are added up to learnerSparesMax, ineligible ones never', (t) => {
  const d = new AutopilotDriver(config, 500, 3000);
  d.onMembership([m('a'), m('b'), m('c'), m('d'), m('e'), m('f'), m('z', MemberState.Alive, { voter: 'false' })]);
  const first = d.plan(0, view());
  t.deepEqual(first?.kind === 'change' ? first.cc : undefined, { type: ConfChangeType.AddLearner, node: 'd' });
  t.is(learnerSparesMax, 2);
  t.is(d.plan(1000, view({ learners: ['d', 'e'] })), undefined, 'enough spares');
  const d2 = new AutopilotDriver(config, 500, 3000);
  d2.onMembership([m('a'), m('b'), m('c'), m('z', MemberState.Alive, { voter: 'false' })]);
  t.is(d2.plan(0, view()), undefined, 'the ineligible member stays out');
});

test('one change at a time: nothing is planned until the change is applied, dropped, or timed out', (t) => {
  const d = new AutopilotDriver(config, 500, 3000);
  d.onMembership([m('a'), m('b'), m('c'), m('d'), m('e')]);
  t.true(d.due(0));
  const a = d.plan(0, view());
  t.is(a?.kind, 'change');
  t.false(d.due(1000), 'in flight');
  if (a?.kind === 'change') d.onConfChangeApplied(a.cc);
  t.true(d.due(1000), 'applied: the next may be planned');
  d.plan(1000, view({ learners: ['d'] }));
  t.false(d.due(1500));
  d.onProposalDropped();
  t.true(d.due(1500));
  d.plan(1500, view({ learners: ['d'] }));
  t.false(d.due(4000));
  t.true(d.due(4500), 'forgotten after the timeout');
});

test('a voter that left is removed at once; the leader leaving transfers leadership instead', (t) => {
  const d = new AutopilotDriver(config, 500, 3000);
  d.onMembership([m('a'), m('b', MemberState.Left), m('c'), m('d')]);
  const p = d.plan(0, view());
  t.deepEqual(p?.kind === 'change' ? p.cc : undefined, { type: ConfChangeType.RemoveNode, node: 'b' });
  const d2 = new AutopilotDriver(config, 500, 3000);
  d2.onMembership([m('a', MemberState.Left), m('b'), m('c')]);
  const q = d2.plan(0, view());
  t.is(q?.kind, 'transfer');
});
