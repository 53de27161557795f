/**
 * The deterministic simulator: virtual time, a faulty network, seeds.
 * (Disks that lose unsynced writes: src/sim/raft-storage.ts for Raft, src/sim/control-disk.ts for the
 * control shell, src/sim/crash-fs.ts for the WAL. The cluster transport's twin: src/sim/cluster-net.ts;
 * the real shells on it: src/sim/control-cluster.ts, run with async-run.ts.) A scenario in outline:
 *
 *   const simTest = makeSimTest(test);
 *   simTest('three nodes agree', [1, 2, 3], (t, seed) => {
 *     const rng = new SeededRng(seed);
 *     const sched = new Scheduler();
 *     const net = new SimNetwork<Msg>(sched, rng.fork(), { defaultLink: { lossPercent: 1 } });
 *     for (const a of addrs) net.register(a, (from, msg, via) => node(a).step(from, msg));
 *     sched.after(100, tick, 'n1');           // timers owned by a node: paused/slowed/cancelled with it
 *     net.partition(['n1'], ['n2', 'n3']);    // faults at any point
 *     t.true(sched.runUntilCondition(() => agreed(), 60_000));
 *   });
 *
 * Failures are reported as "TITLE seed=N" with `SHOAL_SEED=N npx ava FILE -m "TITLE seed=N"`.
 */
export { Scheduler, SchedulerLimits } from './scheduler.js';
export {
  SimNetwork,
  SimNetworkDefaults,
  DropReason,
  defaultLinkOptions,
  newNetStats,
  sampleLatencyMs,
  validateLinkOptions,
  chance,
} from './network.js';
export type {
  Via,
  MessageHandler,
  DeliveryTap,
  LatencyDistribution,
  LinkOptions,
  NetStats,
  SimNetworkOptions,
} from './network.js';
export {
  seedFromEnv,
  seedsFromEnv,
  replayCommand,
  withSeed,
  makeSimTest,
  SeedFailure,
  SeedLimits,
} from './seed.js';
export type { TestRegistrar, LoggingContext, SimTestFn } from './seed.js';
