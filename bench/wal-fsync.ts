/**
 * WAL durability throughput on this disk.
 *   npx tsx bench/wal-fsync.ts [durationMs=2000] [concurrency=64]
 * Prints one JSON line:
 *   rawFsyncPerSec           plain writeSync + fdatasyncSync loop (the disk's ceiling)
 *   fsyncPerSec              WAL appends one at a time, each awaited (one fdatasync each)
 *   entriesPerSecGroupCommit `concurrency` appenders looping append(1 entry); group commit batches them
 *   meanBatchEntries         entries per fdatasync in the group-commit phase
 *   eventLoopDelayP99Ms / MaxMs  event-loop delay during the group-commit phase
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Entry } from '../src/raft/types.js';
import { NodeFs } from '../src/storage/fs.js';
import { Wal } from '../src/storage/wal.js';

const durationMs = Number(process.argv[2] ?? 2000);
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

const dir = await mkdtemp(join(tmpdir(), 'shoal-wal-bench-'));
try {
  const raw = rawFsyncPerSec(dir);
  const seq = await sequentialPerSec(dir);
  const group = await groupCommit(dir);
  const round = (x: number): number => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      bench: 'wal-fsync',
      fsyncPerSec: round(seq),
      rawFsyncPerSec: round(raw),
      entriesPerSecGroupCommit: round(group.entriesPerSec),
      concurrency,
      meanBatchEntries: round(group.meanBatch),
      eventLoopDelayP99Ms: round(group.p99Ms),
      eventLoopDelayMaxMs: round(group.maxMs),
      entryDataBytes: ENTRY_DATA_BYTES,
      durationMs,
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
