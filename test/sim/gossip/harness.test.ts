import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { GossipCluster } from '../../../src/sim/gossip-cluster.js';
import { HeartbeatCore, deadAfterMs, heartbeatMs } from './heartbeat-core.js';

/**
 * The harness itself, driven by a trivially predictable stand-in core
 * (heartbeat to everyone, dead after 3 s of silence): timers re-armed, packets
 * and frames delivered (and round-tripped through the real codec), frame
 * failures reported, crash / pause / partition / leave applied, and the
 * event-tracked view equal to the cores' own tables.
 */
const simTest = makeSimTest<ExecutionContext>(test);

function heartbeatCluster(seed: number, roundTrip = true): GossipCluster {
  return new GossipCluster({ seed, roundTrip, coreFactory: (config, rng, nowMs) => new HeartbeatCore(config, rng, nowMs) });
}

simTest('joins by push-pull frames converge and the view matches the cores', [1, 2], (t, seed) => {
  const c = heartbeatCluster(seed);
  const names = c.addAndJoin(10, { spreadMs: 500, seeds: ['n00000'] });
  t.is(c.liveNodeCount, 0, 'nodes start at their join time');
  c.runFor(250);
  t.true(c.liveNodeCount > 0 && c.liveNodeCount < 10, `${c.liveNodeCount} started after 250 ms of a 500 ms spread`);
  t.true(c.runUntil(() => c.liveNodeCount === 10 && c.converged(), 5_000), `seed ${seed}`);
  t.deepEqual(c.checkViewAgainstCores(), []);
  t.is(c.traffic.framesSent, 9 * 2, 'one join push-pull and one reply per joiner');
  t.is(c.log.count('push-pull-complete'), 18);
  c.runFor(10_000);
  // Each node heartbeats 9 peers once a second: 10 * 9 per second.
  const before = c.traffic.packetsSent;
  c.runFor(10_000);
  t.is(c.traffic.packetsSent - before, 10 * 9 * 10);
  t.true(c.traffic.packetBytesSent > 0);
  t.is(c.membersSeenBy(names[0]).length, 10);
});

simTest('a crash is seen within the stand-in core timeout; frames to it fail', [3], (t, seed) => {
  const c = heartbeatCluster(seed);
  const names = c.addAndJoin(6, { seeds: ['n00000'] });
  c.runFor(3_000);
  t.true(c.converged());
  const crashAt = c.nowMs;
  c.crash(names[2]);
  t.false(c.isLive(names[2]));
  t.is(c.liveNodeCount, 5);
  t.true(c.runUntil(() => c.allSee(names[2], 'dead'), deadAfterMs + 2 * heartbeatMs + 10));
  t.true(c.nowMs - crashAt > deadAfterMs, 'not before the timeout');
  t.true(c.converged(), 'the others still see each other');
  // A join aimed at the crashed node fails like a refused connect.
  const late = c.addNode();
  c.join(late, [names[2]]);
  c.runFor(100);
  t.is((c.core(late) as HeartbeatCore).framesFailed, 1);
  t.is(c.traffic.framesFailed, 1);
  // Restart: same name and address, fresh core.
  c.restart(names[2], [names[0]]);
  // Everyone but `late` (which never joined anybody) sees it alive again.
  t.true(c.runUntil(() => c.countSeeing(names[2], 'alive') === c.liveNodeCount - 1, 5_000));
  t.is(c.stateOf(late, names[2]), 'unknown');
});

simTest('pause holds timers and buffers the inbox; partitions cut both ways and heal', [4], (t, seed) => {
  const c = heartbeatCluster(seed, false);
  const names = c.addAndJoin(8, { seeds: ['n00000'] });
  c.runFor(3_000);
  c.pause(names[1]);
  t.true(c.runUntil(() => c.countSeeing(names[1], 'dead') === 7, 6_000), 'paused node looks dead');
  const heldBeats = c.traffic.packetsSent;
  c.resume(names[1]);
  t.true(c.runUntil(() => c.converged(), 3_000), 'back after resume');
  t.true(c.traffic.packetsSent > heldBeats);

  const a = names.slice(0, 4);
  const b = names.slice(4);
  c.partition(a, b);
  t.true(c.runUntil(() => b.every((x) => c.countSeeing(x, 'dead') === 4) && a.every((x) => c.countSeeing(x, 'dead') === 4), 6_000));
  t.true(c.network.totals.dropped.partition > 0);
  c.heal();
  t.true(c.runUntil(() => c.converged(), 3_000));
});

simTest('leave stops the node after its Leave went out, seen as left', [5], (t, seed) => {
  const c = heartbeatCluster(seed);
  const names = c.addAndJoin(5, { seeds: ['n00000'] });
  c.runFor(3_000);
  c.leave(names[3]);
  t.false(c.isLive(names[3]), 'stopped once leaveComplete()');
  t.true(c.runUntil(() => c.allSee(names[3], 'left'), 100));
  t.is(c.log.count('member-leave'), 4);
  t.is(c.log.count('node-stopped'), 1);
});

test('slow node: its timers and inbound messages come late', (t) => {
  const c = heartbeatCluster(6, false);
  const names = c.addAndJoin(3, { seeds: ['n00000'] });
  c.runFor(3_000);
  c.setSlow(names[0], 5_000);
  t.true(c.runUntil(() => c.countSeeing(names[0], 'dead') === 2, 10_000), 'a node 5 s late looks dead');
  c.setSlow(names[0], 0);
  t.true(c.runUntil(() => c.converged(), 10_000));
});

test('same seed, same run; different seed, different run', (t) => {
  const run = (seed: number): string => {
    const c = new GossipCluster({
      seed,
      link: { lossPercent: 20, latency: { kind: 'uniform', minMs: 1, maxMs: 20 } },
      coreFactory: (config, rng, nowMs) => new HeartbeatCore(config, rng, nowMs),
    });
    const names = c.addAndJoin(8, { spreadMs: 1_000, seeds: ['n00000'] });
    c.runFor(20_000);
    c.crash(names[4]);
    c.runFor(10_000);
    return `${c.log.digest()} ${c.log.total} ${JSON.stringify(c.traffic.snapshot())}`;
  };
  t.is(run(9), run(9));
  t.not(run(9), run(10));
});
