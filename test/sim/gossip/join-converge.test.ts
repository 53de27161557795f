import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { GossipCluster } from '../../../src/sim/gossip-cluster.js';
import { MemberState } from '../../../src/gossip/messages.js';
import { cluster, summary } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test);

/**
 * Small clusters with every packet and frame encoded and decoded: every member
 * sees every member alive, and the harness's event-tracked view equals what
 * each core reports (a missing or wrong member event is caught here).
 * Bound 45 s: usually ~3 s, but a joiner that synced with a seed which had not
 * yet heard of another concurrent joiner may miss that one's Alive gossip and
 * then learns it at the next push-pull (every 30 s at n <= 32), plus slack.
 */
simTest('32 members joining one by one converge, events match the cores', [1, 2, 3], (t, seed) => {
  const c = cluster(seed, { roundTrip: true });
  const names = c.addAndJoin(32, { spreadMs: 2_000 });
  const ok = c.runUntil(() => c.liveNodeCount === 32 && c.converged(), 45_000, { checkEveryMs: 100 });
  t.true(ok, `not converged: ${summary(c)}`);
  for (const n of names) t.is(c.membersSeenBy(n).length, 32, `${n} knows ${c.membersSeenBy(n).length} members`);
  t.deepEqual(c.checkViewAgainstCores(), []);
  t.true(c.traffic.packetsSent > 0 && c.traffic.framesSent >= 31, 'joins use push-pull frames');
  t.log(`converged at ${c.nowMs} ms; ${JSON.stringify(c.traffic.snapshot().msgsSent)}`);
});

/**
 * 1,000 members, each joining one random earlier member, joins spread over
 * 5 s. Bound: every member sees all 1,000 alive within 60 s of virtual time
 * after the last join. Reasoning: each Alive is piggybacked 4*ceil(log10 1001)
 * = 16 times by every member that learns it, a gossip round (200 ms) carries
 * ~3 packets of ~40 Alives, so draining 1,000 joins takes ~1000*16/(3*5*40)
 * = 27 s even if push-pull did not help; 60 s leaves 2x slack.
 */
simTest('1,000 members converge after join', [7], (t, seed) => {
  const n = 1_000;
  const spreadMs = 5_000;
  const boundMs = 60_000;
  const c = new GossipCluster({ seed, preset: 'lan', roundTrip: false, expectedNodes: n, eventLogMax: 0, eventDigest: false });
  c.addAndJoin(n, { spreadMs });
  c.runFor(spreadMs);
  const ok = c.runUntil(() => c.converged(), boundMs, { checkEveryMs: 250 });
  t.true(ok, `1,000 members not converged ${boundMs} ms after the last join: ${summary(c)}`);
  const convergedAfterLastJoinMs = c.nowMs - spreadMs;
  t.log(`converged ${convergedAfterLastJoinMs} ms after the last join; traffic ${JSON.stringify(c.traffic.snapshot())}`);
  t.is(c.liveNodeCount, n);
  // Spot-check ground truth on a few cores (members() is O(n)).
  for (const name of ['n00000', 'n00500', 'n00999']) {
    t.is(c.membersSeenBy(name).filter((m) => m.state === MemberState.Alive).length, n, `${name} sees all alive`);
  }
});
