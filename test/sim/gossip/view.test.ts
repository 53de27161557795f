import test from 'ava';
import { MembershipView, Seen } from '../../../src/sim/gossip-view.js';
import { GossipEventLog } from '../../../src/sim/gossip-events.js';

test('view counts follow every change, and closing a row removes its beliefs', (t) => {
  const v = new MembershipView(2); // tiny capacity: forces grow()
  for (let o = 0; o < 40; o++) v.openRow(o);
  for (let o = 0; o < 40; o++) for (let s = 0; s < 40; s++) v.set(o, `s${s}`, Seen.Alive);
  t.is(v.countSeeing('s7', Seen.Alive), 40);
  v.set(3, 's7', Seen.Suspect);
  v.set(4, 's7', Seen.Dead);
  v.set(4, 's7', Seen.Dead); // idempotent
  t.is(v.countSeeing('s7', Seen.Alive), 38);
  t.is(v.countSeeing('s7', Seen.Suspect), 1);
  t.is(v.countSeeing('s7', Seen.Dead), 1);
  v.closeRow(4);
  t.is(v.countSeeing('s7', Seen.Dead), 0);
  t.is(v.get(4, 's7'), Seen.Unknown);
  v.set(4, 's7', Seen.Alive); // closed rows ignore updates
  t.is(v.countSeeing('s7', Seen.Alive), 38);
  v.set(5, 's7', Seen.Unknown); // reaped
  t.is(v.countSeeing('s7', Seen.Alive), 37);
  t.deepEqual(v.subjectsSeenBy(3, Seen.Suspect), ['s7']);
});

test('event log is bounded, counts and digests everything', (t) => {
  const a = new GossipEventLog(3);
  const b = new GossipEventLog(0);
  for (let i = 0; i < 10; i++) {
    const e = { atMs: i, observer: 'o', type: i % 2 ? 'member-join' : 'member-failed', subject: `s${i}` };
    a.add(e);
    b.add(e);
  }
  t.is(a.entries().length, 3);
  t.is(a.dropped, 7);
  t.deepEqual(a.entries().map((e) => e.atMs), [7, 8, 9]);
  t.is(b.entries().length, 0);
  t.is(a.digest(), b.digest());
  t.is(a.count('member-join'), 5);
  const c = new GossipEventLog(10);
  c.add({ atMs: 0, observer: 'o', type: 'member-join', subject: 'x' });
  t.not(c.digest(), a.digest());
});
