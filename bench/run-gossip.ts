#!/usr/bin/env -S node --import tsx
/**
 * Runs the gossip benchmarks: bench/gossip-sim.ts (simulated, virtual time)
 * and, if present, bench/gossip-udp.ts (real sockets). Each runs in its own
 * node process with a large heap (10,000 simulated members need ~GBs).
 *
 *   bench/run-gossip.ts [sim options] [-- udp options]
 *   bench/run-gossip.ts --n 100,1000 --loss 0,5,10 -- --n 5
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const split = args.indexOf('--');
const simArgs = split < 0 ? args : args.slice(0, split);
const udpArgs = split < 0 ? [] : args.slice(split + 1);
const heapMiB = process.env.SHOAL_BENCH_HEAP_MIB ?? '20480';

function run(script: string, scriptArgs: string[]): number {
  // A large young generation: the simulation allocates many short-lived messages (about 1.5x faster).
  const nodeArgs = [`--max-old-space-size=${heapMiB}`, '--max-semi-space-size=64', '--import', 'tsx'];
  const r = spawnSync(process.execPath, [...nodeArgs, join(here, script), ...scriptArgs], {
    stdio: 'inherit',
  });
  return r.status ?? 1;
}

let status = run('gossip-sim.ts', simArgs);
if (existsSync(join(here, 'gossip-udp.ts'))) status = run('gossip-udp.ts', udpArgs) || status;
else console.error('bench/gossip-udp.ts not present: skipped');
process.exit(status);
