import test from 'ava';
import fc from 'fast-check';
import { GossipCore } from '../../../src/gossip/core.js';
import { presets, validateGossipConfig } from '../../../src/gossip/config.js';
import { MemberStore, SELF_SLOT } from '../../../src/gossip/members.js';
import { MemberState, MessageType, type GossipMessage, type PushNodeState, type Tags } from '../../../src/gossip/messages.js';
import { PUSH_STATES_MAX } from '../../../src/gossip/pushpull.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { SeededRng } from '../../../src/util/rng.js';
import { addrOf } from './harness.js';

const id = (name: string) => ({ name, addr: `${name}:1`, tags: {} });

test('member store: slots follow add and swap-remove (NameSet order), every name found, absent ones not', (t) => {
  // Few distinct names, many operations: removals, re-adds and long probe runs in the index.
  const op = fc.oneof(
    fc.record({ add: fc.integer({ min: 0, max: 300 }) }),
    fc.record({ remove: fc.integer({ min: 0, max: 1_000 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
      const store = new MemberStore();
      const model: string[] = ['self'];
      store.add(id('self'), MemberState.Alive, 0, 0);
      for (const o of ops) {
        if ('add' in o) {
          const name = `m${o.add}`;
          if (model.includes(name)) continue;
          t.is(store.add(id(name), MemberState.Suspect, o.add, o.add + 0.5), model.length);
          model.push(name);
        } else if (model.length > 1) {
          const slot = 1 + (o.remove % (model.length - 1));
          store.remove(slot);
          const last = model.pop() as string;
          if (slot < model.length) model[slot] = last;
        }
      }
      if (store.size !== model.length) return false;
      for (let slot = 0; slot < model.length; slot++) {
        if (store.slotOf(model[slot]) !== slot || store.name(slot) !== model[slot]) return false;
        const n = Number(model[slot].slice(1));
        if (slot !== SELF_SLOT && (store.incarnation(slot) !== n || store.stateChangeMs(slot) !== n + 0.5)) return false;
      }
      for (let k = 0; k <= 300; k++) if (!model.includes(`m${k}`) && store.slotOf(`m${k}`) !== -1) return false;
      return true;
    }),
    { seed: 42, numRuns: 200 },
  );
});

test('member store: the self row cannot be removed and a name cannot be added twice', (t) => {
  const store = new MemberStore();
  store.add(id('self'), MemberState.Alive, 0, 0);
  store.add(id('a'), MemberState.Alive, 0, 0);
  t.throws(() => store.remove(SELF_SLOT));
  t.throws(() => store.add(id('a'), MemberState.Alive, 1, 0));
  t.throws(() => store.setIdentity(1, id('b')));
});

/** Runs the core's timers up to untilMs; returns the packets it sent. */
function runTimers(core: GossipCore, untilMs: number): { to: string; msgs: GossipMessage[] }[] {
  const out: { to: string; msgs: GossipMessage[] }[] = [];
  for (let at = core.nextTickAtMs(); at <= untilMs; at = core.nextTickAtMs()) {
    core.tick(at);
    out.push(...core.ready().packets);
  }
  return out;
}

function seededCore(n: number): { core: GossipCore; states: PushNodeState[] } {
  const config = validateGossipConfig(presets.local('n0', addrOf('n0')));
  const core = new GossipCore(config, new SeededRng(3), 0);
  const states: PushNodeState[] = [];
  for (let i = 0; i < n; i++) {
    const tags: Tags = i === 0 ? {} : { i: String(i) }; // n0's as in its config
    states.push({ name: `n${i}`, addr: addrOf(`n${i}`), incarnation: i === 0 ? 0 : i % 3, state: MemberState.Alive, tags });
  }
  return { core, states };
}

test('seedMembers loads the table with join events, queues no broadcast, and drops our own pending Alive', (t) => {
  const { core, states } = seededCore(200);
  core.seedMembers(states, 10);
  const ready = core.ready();
  t.is(ready.events.filter((e) => e.type === 'member-join').length, 199);
  t.is(core.numAlive(), 200);
  t.like(core.member('n7'), { state: MemberState.Alive, incarnation: 1, addr: addrOf('n7'), tags: { i: '7' }, stateChangeMs: 10 });
  t.is(core.stats.broadcastsQueued, 1, 'only the Alive queued at start');
  // Probing works (unanswered here), and no Alive rides on the probes: none was queued.
  const pings = runTimers(core, 3_000);
  t.true(pings.length >= 1);
  t.true(pings.some((p) => p.msgs[0].type === MessageType.Ping));
  t.false(pings.some((p) => p.msgs.some((m) => m.type === MessageType.Alive)));
  t.true(pings.every((p) => states.some((s) => s.addr === p.to && s.name !== 'n0')));
});

test('seedMembers keeps our own Alive queued when the snapshot does not list us at our incarnation', (t) => {
  const { core, states } = seededCore(50);
  core.seedMembers(states.slice(1), 10);
  core.ready();
  const msgs = runTimers(core, 1_000).flatMap((p) => p.msgs);
  t.true(msgs.some((m) => m.type === MessageType.Alive && m.name === 'n0'));
});

test('seedMembers still refutes a snapshot that has us suspect, and announces it', (t) => {
  const { core, states } = seededCore(50);
  states[0] = { ...states[0], state: MemberState.Suspect, incarnation: 4 };
  core.seedMembers(states, 10);
  t.is(core.localMember().incarnation, 5);
  core.ready();
  const alives = runTimers(core, 1_000).flatMap((p) => p.msgs).filter((m) => m.type === MessageType.Alive);
  t.deepEqual(alives.map((m) => (m.type === MessageType.Alive ? [m.name, m.incarnation] : [])), alives.map(() => ['n0', 5]));
  t.true(alives.length >= 1);
});

test('seedMembers refuses more than PUSH_STATES_MAX entries, and after leave', (t) => {
  const { core, states } = seededCore(3);
  const many = Array.from({ length: PUSH_STATES_MAX + 1 }, (_, i) => ({ ...states[1], name: `x${i}` }));
  const err = t.throws(() => core.seedMembers(many, 1), { instanceOf: ShoalError });
  t.is(err?.code, ErrorCode.InvalidArgument);
  t.is(core.members().length, 1);
  core.leave(2);
  t.throws(() => core.seedMembers(states, 3), { instanceOf: ShoalError });
});
