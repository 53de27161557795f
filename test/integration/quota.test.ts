/**
 * The space quota end to end, with real processes: three agents with
 * --quota-bytes 1 MiB; a 64 KiB value rewritten past the quota. Writes are
 * then refused with ERR_NO_SPACE and the NOSPACE alarm shows in health and
 * raft status; reads and compaction work, and compaction clears the alarm.
 * Every voter, killed with SIGKILL and restarted, serves the latest value.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalControlCluster } from '../support/control-cluster.js';
import { ErrorCode, isShoalError } from '../../src/util/errors.js';
import { waitUntil } from './wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/shoal');
const built = existsSync(path.join(root, 'dist/src/cli/main.js'));

(built ? test.serial : test.skip)('a 64 KiB value rewritten past a 1 MiB quota: ERR_NO_SPACE, alarm, reads and compaction work; every voter restarts from its disk', async (t) => {
  const cluster = new LocalControlCluster({ bin, size: 3, extraArgs: ['--quota-bytes', String(1024 * 1024)] });
  t.teardown(() => cluster.stopAll());
  await cluster.start();
  const status = () => cluster.client('n0').raftStatus({ signal: AbortSignal.timeout(1000) }).catch(() => undefined);
  t.true(await waitUntil(async () => ((await status())?.voters.length ?? 0) === 3 && (await status())?.leader !== '', 20_000), 'formed');
  const client = cluster.client('n0');
  let latest = '';
  let refused: unknown;
  for (let i = 0; i < 200; i++) {
    const value = `${i}:`.padEnd(64 * 1024, 'x');
    try {
      await client.put({ key: 'doc', value });
      latest = value;
    } catch (e) {
      refused = e;
      break;
    }
  }
  t.true(isShoalError(refused, ErrorCode.NoSpace), `refused with ERR_NO_SPACE: ${String(refused)}`);
  t.truthy(latest, 'some writes were accepted first');
  const health = (await (await fetch(`http://${cluster.node('n0').http}/v1/health`)).json()) as { alarms?: string[] };
  t.deepEqual(health.alarms, ['NOSPACE'], 'the alarm shows in health');
  t.deepEqual((await status())?.alarms, ['NOSPACE'], 'and in raft status');
  t.is((await client.get('doc'))?.value, latest, 'reads work');
  // Compaction frees the history: the alarm clears and writes resume.
  const rev = (await client.get('doc', { serializable: false }))!.modRevision;
  await client.compact(rev);
  t.true(await waitUntil(async () => ((await status())?.alarms as string[] | undefined)?.length === 0, 10_000), 'alarm cleared');
  await client.put({ key: 'doc', value: 'after compaction' });
  latest = 'after compaction';
  // Power loss on every voter; each comes back from its own disk with the latest value.
  for (const n of cluster.nodes) await cluster.kill(n.name, 'SIGKILL');
  // The seed first (the others --join it at start, and `--join` gives up when no seed answers).
  cluster.spawn(cluster.node('n0'));
  t.true(await waitUntil(async () => (await cluster.client('n0').health({ signal: AbortSignal.timeout(500) }).catch(() => undefined)) !== undefined, 20_000), 'n0 is back');
  for (const n of cluster.nodes.slice(1)) cluster.spawn(n);
  for (const n of cluster.nodes) {
    let seen = '';
    const ok = await waitUntil(async () => {
      const kv = await cluster.client(n.name).get('doc', { serializable: true }).catch((e: unknown) => String(e));
      seen = typeof kv === 'string' ? kv : (kv?.value ?? '(absent)').slice(0, 40);
      return typeof kv !== 'string' && kv?.value === latest;
    }, 30_000);
    t.true(ok, `${n.name} serves the latest value after a restart (last seen: ${seen}; ${n.log.slice(-3).join(' | ')})`);
  }
});
