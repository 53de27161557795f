/**
 * Disk full on the leader (a small tmpfs as its data directory, as root):
 * its WAL write fails with ENOSPC, the control plane halts, `/v1/health`
 * answers 503 with the reason, the agent leaves and exits non-zero; another
 * member leads, and no acknowledged write is lost.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalControlCluster } from '../support/control-cluster.js';
import { waitUntil } from './wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/shoal');
const built = existsSync(path.join(root, 'dist/src/cli/main.js'));

/** A 4 MiB tmpfs, or the reason there is none (not root, no mount). */
function smallDisk(): { dir: string; remove(): void } | string {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shoal-enospc-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${(e as Error).message.split('\n')[0]}`;
  }
  return {
    dir,
    remove: () => {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const disk = built ? smallDisk() : 'run `npm run build` first';
const maybe = typeof disk === 'string' ? test.skip : test.serial;

maybe(`ENOSPC on the leader: health 503, a non-zero exit, a new leader, no acknowledged write lost${typeof disk === 'string' ? ` (skipped: ${disk})` : ''}`, async (t) => {
  if (typeof disk === 'string') return;
  t.teardown(() => disk.remove());
  const cluster = new LocalControlCluster({ bin, size: 3, argsFor: (i) => (i === 0 ? ['--data-dir', path.join(disk.dir, 'n0')] : []) });
  t.teardown(() => cluster.stopAll());
  await cluster.start();
  const statusOf = (name: string) => cluster.client(name).raftStatus({ signal: AbortSignal.timeout(1000) }).catch(() => undefined);
  t.true(await waitUntil(async () => ((await statusOf('n1'))?.voters.length ?? 0) === 3 && (await statusOf('n1'))?.leader !== '', 20_000), 'formed');
  // The leader must be the member with the small disk.
  if ((await statusOf('n1'))!.leader !== 'n0') await cluster.client('n1').transferLeader('n0').catch(() => undefined);
  t.true(await waitUntil(async () => (await statusOf('n1'))?.leader === 'n0', 10_000), 'n0 leads');
  const value = 'x'.repeat(64 * 1024);
  const acked: string[] = [];
  const health503: string[] = [];
  const n0 = cluster.node('n0');
  for (let i = 0; i < 400 && n0.proc !== undefined; i++) {
    const key = `big/${i}`;
    const ok = await cluster.client('n0').put({ key, value }).then(() => true, () => false);
    if (ok) acked.push(key);
    const h = await fetch(`http://${n0.http}/v1/health`).catch(() => undefined);
    if (h?.status === 503) health503.push(((await h.json()) as { reason?: string }).reason ?? '');
  }
  t.true(await waitUntil(() => n0.proc === undefined, 20_000), `n0 exited: ${n0.log.slice(-3).join(' | ')}`);
  t.not(n0.exitCode, 0, `a non-zero exit (${String(n0.exitCode)})`);
  t.true(n0.log.some((l) => /control plane halted/.test(l)), n0.log.slice(-5).join(' | '));
  t.log(`acknowledged ${acked.length} writes of 64 KiB; health 503 seen ${health503.length} times (${health503[0] ?? '-'})`);
  // Another member leads; every acknowledged write is there.
  t.true(await waitUntil(async () => ['n1', 'n2'].includes((await statusOf('n1'))?.leader ?? ''), 20_000), 'a new leader');
  for (const key of acked) t.is((await cluster.client('n1').get(key))?.value.length, value.length, `${key} kept`);
  t.truthy(await cluster.client('n2').put({ key: 'after', value: 'ok' }), 'writes work again');
});
