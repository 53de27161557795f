import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { MemberView } from '../../src/api/types.js';
import { waitUntil } from './wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/shoal');
const built = path.join(root, 'dist/src/cli/main.js');
const STARTUP_TIMEOUT_MS = 15_000;
const CONVERGE_TIMEOUT_MS = 45_000;
const DETECT_TIMEOUT_MS = 60_000;

interface Child {
  name: string;
  proc: ChildProcess;
  gossip: string;
  http: string;
  stderr: string[];
  exited: Promise<number | null>;
}

/** One temporary root for the agents' data directories (a default data directory would persist across runs). */
const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'shoal-procs-'));
process.once('exit', () => rmSync(dataRoot, { recursive: true, force: true }));

/** Start `shoal agent` on free ports (port 0) and learn them from its startup line. */
async function startAgent(name: string, join: string[], children: Child[]): Promise<Child> {
  const args = [bin, 'agent', '--name', name, '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--preset', 'local', '--data-dir', path.join(dataRoot, name)];
  for (const j of join) args.push('--join', j);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const child: Child = { name, proc, gossip: '', http: '', stderr, exited };
  children.push(child);
  const lines = readline.createInterface({ input: proc.stderr! });
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${stderr.join('\n')}`)), STARTUP_TIMEOUT_MS);
    lines.on('line', (line) => {
      if (stderr.length < 1000) stderr.push(line);
      const m = /^shoal: agent \S+ gossip=(\S+) http=(\S+)/.exec(line);
      if (m) {
        child.gossip = m[1];
        child.http = m[2];
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${stderr.join('\n')}`));
    });
  });
  await started;
  return child;
}

async function members(c: Child): Promise<MemberView[] | undefined> {
  try {
    const res = await fetch(`http://${c.http}/v1/members`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as MemberView[]) : undefined;
  } catch {
    return undefined;
  }
}

async function allSee(observers: Child[], pred: (view: MemberView[]) => boolean): Promise<boolean> {
  const views = await Promise.all(observers.map(members));
  return views.every((v) => v !== undefined && pred(v));
}

const stateOf = (view: MemberView[], name: string): string | undefined => view.find((m) => m.name === name)?.state;

test('4 agent processes converge; SIGKILL is seen as dead, SIGTERM as left', async (t) => {
  t.true(existsSync(built), 'dist/src/cli/main.js is missing: run `npm run build` first');
  if (!existsSync(built)) return;
  const children: Child[] = [];
  t.teardown(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
  });

  const p0 = await startAgent('p0', [], children);
  const rest = await Promise.all(['p1', 'p2', 'p3'].map((n) => startAgent(n, [p0.gossip], children)));
  const all = [p0, ...rest];
  const converged = await waitUntil(
    () => allSee(all, (v) => v.length === 4 && v.every((m) => m.state === 'alive')),
    CONVERGE_TIMEOUT_MS,
  );
  t.true(converged, 'four processes converge on four alive members');
  const view = (await members(p0))!;
  t.deepEqual(view.map((m) => m.name).sort(), ['p0', 'p1', 'p2', 'p3']);
  t.true(view.every((m) => /^127\.0\.0\.1:\d+$/.test(m.addr)));

  // SIGKILL: no goodbye, so the others must detect the failure.
  const [p1, p2, p3] = rest;
  p3.proc.kill('SIGKILL');
  await p3.exited;
  const dead = await waitUntil(() => allSee([p0, p1, p2], (v) => stateOf(v, 'p3') === 'dead'), DETECT_TIMEOUT_MS);
  t.true(dead, `p3 marked dead by p0, p1, p2 (p0 log: ${p0.stderr.slice(-5).join(' | ')})`);

  // SIGTERM: a graceful leave, then exit code 0.
  p2.proc.kill('SIGTERM');
  t.is(await p2.exited, 0, `p2 exits 0 after leaving: ${p2.stderr.slice(-3).join(' | ')}`);
  const left = await waitUntil(() => allSee([p0, p1], (v) => stateOf(v, 'p2') === 'left'), CONVERGE_TIMEOUT_MS);
  t.true(left, 'p2 seen as left, not dead');
  t.true(p0.stderr.some((l) => / member-leave p2 /.test(l)), 'p0 logged the leave event');
  t.true(p0.stderr.some((l) => / member-failed p3 /.test(l)), 'p0 logged the failure event');
});
