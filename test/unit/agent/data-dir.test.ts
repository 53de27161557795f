/**
 * The data directory: a persistent default (never a temporary one), a lock
 * that keeps a second agent out while the first lives and is taken over
 * after a crash, and a node id that is the directory's for good.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Agent } from '../../../src/agent/agent.js';
import { defaultDataDir, lockDataDir, lockFileName } from '../../../src/agent/data-dir.js';
import { ErrorCode, isShoalError } from '../../../src/util/errors.js';
import { tempDataDirs } from '../../support/temp-dirs.js';

test('the default data directory is persistent: /var/lib/shoal/NAME for root, XDG data home otherwise', (t) => {
  t.is(defaultDataDir('n1', {}, 0), '/var/lib/shoal/n1');
  t.is(defaultDataDir('n1', { XDG_DATA_HOME: '/home/u/.data' }, 1000), '/home/u/.data/shoal/n1');
  t.regex(defaultDataDir('n/1', {}, 1000), /\.local\/share\/shoal\/n_1$/);
  t.false(defaultDataDir('x', {}, 0).startsWith('/tmp'));
});

test('a live lock refuses a second owner; a lock left by a dead process is taken over', async (t) => {
  const dir = tempDataDirs(t)('d');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const first = await lockDataDir(dir);
  const e = await t.throwsAsync(lockDataDir(dir));
  t.true(isShoalError(e, ErrorCode.DataDirLocked), String(e));
  await first.release();
  t.false(existsSync(path.join(dir, lockFileName)));
  // A crashed agent's lock: its pid no longer runs.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  await writeFile(path.join(dir, lockFileName), `${dead.stdout}\n`);
  const second = await lockDataDir(dir);
  await second.release();
});

test('two agents never share a data directory; the node id stays with the directory', async (t) => {
  const dir = tempDataDirs(t)('shared');
  const a = await Agent.start({ name: 'a', bind: '127.0.0.1:0', dataDir: dir });
  const e = await t.throwsAsync(Agent.start({ name: 'b', bind: '127.0.0.1:0', dataDir: dir }));
  t.true(isShoalError(e, ErrorCode.DataDirLocked), String(e));
  t.regex((e as Error).message, /in use by another agent/);
  const id = a.nodeId;
  await a.stop({ leave: false });
  const again = await Agent.start({ name: 'a', bind: '127.0.0.1:0', dataDir: dir });
  t.teardown(() => again.stop({ leave: false }));
  t.is(again.nodeId, id, 'the same directory, the same node id');
});

test('a throwing event listener is reported and never halts the control plane', async (t) => {
  const dataDir = tempDataDirs(t);
  const a = await Agent.start({ name: 'solo', bind: '127.0.0.1:0', http: '127.0.0.1:0', preset: 'local', dataDir: dataDir('solo'), control: { bootstrapExpect: 1 } });
  t.teardown(() => a.stop({ leave: false }));
  const reported: string[] = [];
  a.on('config-changed', () => {
    throw new Error('listener bug');
  });
  a.on('listener-error', ({ event, error }) => reported.push(`${event}: ${(error as Error).message}`));
  for (let i = 0; i < 100 && (a.raftStatus()?.leader ?? '') === ''; i++) await new Promise((r) => setTimeout(r, 50));
  await a.config.put('k', 'v1');
  await a.config.put('k', 'v2');
  t.is((await a.config.get('k'))?.value, 'v2', 'the control plane still serves');
  t.is(a.health().status, 'ok');
  t.true(reported.length >= 2 && reported.every((r) => r === 'config-changed: listener bug'), reported.join(', '));
  t.true(a.listenerErrors >= 2);
});
