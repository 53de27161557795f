#!/usr/bin/env -S node --import tsx
/**
 * Runs the Raft benchmarks, each in its own node process, one JSON line per
 * figure on stdout:
 *   bench/raft-commit.ts         config PUTs through 3 `shoal agent` processes, TCP, fsync (needs `npm run build`)
 *   bench/raft-election-real.ts  3 `shoal agent` processes, SIGKILL the leader (needs `npm run build`)
 *   bench/raft-election-sim.ts   simulated (if present)
 *   bench/wal-fsync.ts           the disk's fsync ceiling and WAL group commit (if present)
 *
 * Options after a section marker go to that benchmark:
 *   npx tsx bench/run-raft.ts --commit --duration 3 --clients 1,16 --election --trials 10 --sim --trials 200 --wal 1000 64
 * `--only commit,election` runs a subset.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const sections = {
  commit: 'raft-commit.ts',
  election: 'raft-election-real.ts',
  sim: 'raft-election-sim.ts',
  wal: 'wal-fsync.ts',
} as const;
type Section = keyof typeof sections;
const isSection = (s: string): s is Section => s.startsWith('--') && s.slice(2) in sections;

const passThrough: Record<Section, string[]> = { commit: [], election: [], sim: [], wal: [] };
let only: Section[] = Object.keys(sections) as Section[];
let current: Section | undefined;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (current === undefined && a === '--only') {
    only = (argv[++i] ?? '').split(',').filter((s): s is Section => s in sections);
  } else if (isSection(a)) {
    current = a.slice(2) as Section;
  } else if (current === undefined) {
    console.error(`run-raft: option ${a} before any section (--commit, --election, --sim, --wal)`);
    process.exit(2);
  } else {
    passThrough[current].push(a);
  }
}

let status = 0;
for (const section of only) {
  const script = join(here, sections[section]);
  if (!existsSync(script)) {
    console.error(`run-raft: ${sections[section]} not present: skipped`);
    continue;
  }
  console.error(`run-raft: ${sections[section]} ${passThrough[section].join(' ')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...passThrough[section]], { stdio: 'inherit' });
  if ((r.status ?? 1) !== 0) status = r.status ?? 1;
}
process.exit(status);
