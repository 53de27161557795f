/**
 * `npm run bench:config` (tsx bench/run-config.ts): the config store
 * benchmarks of config-put.ts on a fresh 3-voter process cluster, one JSON
 * line each. Needs `npm run build` (it spawns bin/shoal).
 *
 *   SHOAL_BENCH_MS=5000   measured time per level (after a 1 s warm-up)
 */
import { benchGet, benchPut, benchWatchLatency, builtAgentBin, startBenchCluster } from './config-put.js';

const bin = builtAgentBin();
const durationMs = Number(process.env.SHOAL_BENCH_MS ?? 5000);
const { cluster, leader, follower } = await startBenchCluster(bin);
try {
  for (const clients of [1, 16, 64]) console.log(JSON.stringify(await benchPut(cluster, leader, clients, durationMs)));
  console.log(JSON.stringify(await benchGet(cluster, leader, 'linearizable', 64, durationMs)));
  console.log(JSON.stringify(await benchGet(cluster, leader, 'serializable', 64, durationMs)));
  console.log(JSON.stringify(await benchWatchLatency(cluster, leader, follower, 300)));
} finally {
  await cluster.stopAll();
}
