/**
 * WAL durability throughput on this disk.
 *   npx tsx bench/wal-fsync.ts [phaseMs=1500] [concurrency=64]
 * Prints one JSON line:
 *   rawFsyncPerSec           plain writeSync + fdatasyncSync loop (the disk's ceiling)
 *   fsyncPerSec              WAL appends one at a time, each awaited (one fdatasync each)
 *   entriesPerSecGroupCommit `concurrency` appenders looping append(1 entry); group commit batches them
 *   meanBatchEntries         entries per fdatasync in the group-commit phase
 *   eventLoopDelayP99Ms / MaxMs  event-loop delay during the group-commit phase
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Entry } from '../src/raft/types.js';
import { NodeFs } from '../src/storage/fs.js';
import { Wal } from '../src/storage/wal.js';

const durationMs = Number(process.argv[2] ?? 1500);
const concurrency = Number(process.argv[3] ?? 64);
const ENTRY_DATA_BYTES = 100;
const data = new Uint8Array(ENTRY_DATA_BYTES).fill(7);
const entry = (index: number): Entry => ({ index, term: 1, type: 0, data });

function rawFsyncPerSec(dir: string): number {
  const fd = openSync(join(dir, 'raw.bin'), 'w');
  const buf = Buffer.alloc(ENTRY_DATA_BYTES + 26, 1);
  let n = 0;
  let pos = 0;
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    writeSync(fd, buf, 0, buf.length, pos);
    pos += buf.length;
    fdatasyncSync(fd);
    n++;
  }
  const elapsedS = (performance.now() - start) / 1000;
  closeSync(fd);
  return n / elapsedS;
}

async function sequentialPerSec(dir: string): Promise<number> {
  const wal = await Wal.open(new NodeFs(), join(dir, 'seq'));
  let index = 1;
  const start = performance.now();
  while (performance.now() - start < durationMs) await wal.append(undefined, [entry(index++)]);
  const elapsedS = (performance.now() - start) / 1000;
  const perSec = wal.metrics.batches / elapsedS;
  await wal.close();
  return perSec;
}

async function groupCommit(dir: string): Promise<{ entriesPerSec: number; meanBatch: number; p99Ms: number; maxMs: number }> {
  const wal = await Wal.open(new NodeFs(), join(dir, 'group'));
  const h = monitorEventLoopDelay({ resolution: 1 });
  let next = 1;
  let stop = false;
  h.enable();
  const start = performance.now();
  const appender = async (): Promise<void> => {
    while (!stop) await wal.append(undefined, [entry(next++)]);
  };
  const timer = setTimeout(() => (stop = true), durationMs);
  await Promise.all(Array.from({ length: concurrency }, appender));
  clearTimeout(timer);
  const elapsedS = (performance.now() - start) / 1000;
  h.disable();
  const m = wal.metrics;
  await wal.close();
  return {
    entriesPerSec: m.batchAppends / elapsedS,
    meanBatch: m.batchAppends / m.batches,
    p99Ms: h.percentile(99) / 1e6,
    maxMs: h.max / 1e6,
  };
}

const ROUNDS = 3;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number): number => Math.round(x * 10) / 10;

// The disk is shared with other processes and its fsync rate drifts; phases are interleaved over
// ROUNDS rounds and medians reported, with the spread of each figure.
const dir = await mkdtemp(join(tmpdir(), 'shoal-wal-bench-'));
try {
  const raw: number[] = [];
  const seq: number[] = [];
  const groups: Awaited<ReturnType<typeof groupCommit>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const sub = join(dir, `round-${r}`);
    await mkdir(sub);
    raw.push(rawFsyncPerSec(sub));
    seq.push(await sequentialPerSec(sub));
    groups.push(await groupCommit(sub));
  }
  const g = groups.map((x) => x.entriesPerSec);
  console.log(
    JSON.stringify({
      bench: 'wal-fsync',
      fsyncPerSec: round(median(seq)),
      rawFsyncPerSec: round(median(raw)),
      entriesPerSecGroupCommit: round(median(g)),
      concurrency,
      meanBatchEntries: round(median(groups.map((x) => x.meanBatch))),
      eventLoopDelayP99Ms: round(median(groups.map((x) => x.p99Ms))),
      eventLoopDelayMaxMs: round(Math.max(...groups.map((x) => x.maxMs))),
      spread: { fsyncPerSec: seq.map(round), rawFsyncPerSec: raw.map(round), entriesPerSecGroupCommit: g.map(round) },
      entryDataBytes: ENTRY_DATA_BYTES,
      phaseMs: durationMs,
      rounds: ROUNDS,
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
