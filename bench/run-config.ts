/**
 * `npm run bench:config` (tsx bench/run-config.ts): the config store
 * benchmarks of config-put.ts on a fresh 3-voter process cluster, one JSON
 * line each. Needs `npm run build` (it spawns bin/shoal).
 *
 *   SHOAL_BENCH_MS=5000   measured time per level (after a 1 s warm-up)
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchGet, benchPut, benchWatchLatency, startBenchCluster } from './config-put.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/shoal');
if (!existsSync(path.join(root, 'dist/src/agent/control-shell.js'))) {
  console.error('run `npm run build` first: the benchmark spawns bin/shoal');
  process.exit(2);
}
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
