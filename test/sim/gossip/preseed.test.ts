import test from 'ava';
import { GossipCluster } from '../../../src/sim/gossip-cluster.js';
import { MemberState } from '../../../src/gossip/messages.js';

/**
 * Pre-seeding (how benchmarks start large clusters): every member knows every
 * member at once, and the quiet mode leaves no Alive storm behind, so the
 * traffic right after is the steady state (probes: a ping and an ack per
 * member per second) while the protocol still works (a crash is detected).
 */
test('pre-seeded cluster is converged, quiet, and still detects a crash', (t) => {
  const n = 300;
  const c = new GossipCluster({ seed: 5, roundTrip: false, expectedNodes: n });
  for (let i = 0; i < n; i++) {
    c.addNode();
    c.runFor(1_000 / n);
  }
  c.preseed();
  t.true(c.converged());
  t.is(c.membersSeenBy('n00123').filter((m) => m.state === MemberState.Alive).length, n);
  const alive0 = c.traffic.snapshot().msgsSent.Alive ?? 0;
  const msgs0 = c.traffic.msgsSent;
  c.runFor(10_000);
  const alives = (c.traffic.snapshot().msgsSent.Alive ?? 0) - alive0;
  const perMemberPerSec = (c.traffic.msgsSent - msgs0) / n / 10;
  t.true(alives < n, `${alives} Alive messages sent after pre-seeding: the queues were not emptied`);
  t.true(perMemberPerSec < 3, `${perMemberPerSec} msgs per member per second`);
  c.crash('n00042');
  t.true(c.runUntil(() => c.allSee('n00042', 'dead'), 60_000));
});

test('without quiet, the merged Alives are re-gossiped (what quiet avoids)', (t) => {
  const n = 100;
  const c = new GossipCluster({ seed: 5, roundTrip: false });
  for (let i = 0; i < n; i++) c.addNode();
  c.preseed(undefined, { quiet: false });
  const alive0 = c.traffic.snapshot().msgsSent.Alive ?? 0;
  c.runFor(2_000);
  t.true((c.traffic.snapshot().msgsSent.Alive ?? 0) - alive0 > n * 10);
});
