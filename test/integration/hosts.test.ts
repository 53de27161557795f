/**
 * Agents on separate hosts, deployed as an operator would: a network-namespace
 * lab (test/support/netns-lab.ts) gives each of four hosts its own loopback and
 * one address on a private /24; each host runs one `shoal agent` with every
 * default left alone (gossip on 0.0.0.0:7946, HTTP API on the host's own
 * 127.0.0.1:7947; only --preset local to shorten failure detection), and the
 * CLI on each host talks to its own agent with its defaults.
 *
 *   h1  10.213.k.1  first agent
 *   h2  10.213.k.2  --join 10.213.k.1:7946
 *   h3  10.213.k.3  --join 10.213.k.1:7946
 *   h4  10.213.k.4  --join 10.213.k.1:7946 --voter false
 *
 * Checks, from every host: four members, all alive, each at its lab address
 * (never 127.0.0.1 or 0.0.0.0); config put then get (the non-voter forwards its
 * write); one leader named by all; after SIGKILL of the leader's agent, writes
 * from every other host succeed again in bounded time.
 *
 * Needs root and iproute2 (skipped with the reason otherwise) and `npm run build`.
 */
import { formatKey, generateKey } from '../../src/wire/crypto.js';
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { NetnsLab, type ExecResult, type LabProcess } from '../support/netns-lab.js';
import { waitUntil } from './wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/shoal');
const labModule = path.join(root, 'test/support/netns-lab.ts');
const built = existsSync(path.join(root, 'dist/src/cli/main.js'));

const gossipPort = 7946;
const hostNames = ['h1', 'h2', 'h3', 'h4'] as const;
const nonVoterIndex = 3;
/** One CLI run: node start-up plus one HTTP request; the agent's own request timeouts are shorter. */
const cliTimeoutMs = 10_000;
/** The first agent's HTTP API answers (node start-up, bind, Raft storage open). */
const startTimeoutMs = 15_000;
/** Four members alive everywhere: a join plus a few gossip rounds at --preset local (about 1 s here). */
const convergeTimeoutMs = 20_000;
/** bootstrap-expect 3 seen through gossip, one election, the non-voter learns the leader. */
const leaderTimeoutMs = 20_000;
/** A write on a healthy cluster: retried while it fails, for this long. */
const putTimeoutMs = 10_000;
/** Leader SIGKILLed: failure detection, election, the forwarding target updated. */
const recoverTimeoutMs = 20_000;
/** The sum of the waits above (85 s) plus start-up and teardown. */
const scenarioTimeoutMs = 110_000;
const pollMs = 250;

const reason = NetnsLab.available() ?? (built ? undefined : 'dist/ is not built: run `npm run build`');
const run = reason === undefined ? test.serial : test.serial.skip;
const skipNote = reason === undefined ? '' : ` [skipped: ${reason}]`;
if (reason === undefined) NetnsLab.cleanupStale();

interface MemberJson {
  name: string;
  addr: string;
  state: string;
  tags?: Record<string, string>;
}

interface RaftStatusJson {
  leader: string;
  term: number;
  role: string;
  voters: string[];
  learners: string[];
}

function parseJson<T>(r: ExecResult): T | undefined {
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    return undefined;
  }
}

/** One CLI result in one line, for a failure message. */
function brief(r: ExecResult | undefined): string {
  if (r === undefined) return 'not run';
  const why = r.timedOut ? `timed out after ${r.durationMs} ms` : `exit ${r.code ?? r.signal}`;
  const err = r.stderr.trim().split('\n').slice(-2).join(' / ');
  return `${why}${err === '' ? '' : `: ${err}`}`;
}

/** Four agents on four lab hosts, and the CLI on each. */
class HostsCluster {
  readonly agents: (LabProcess | undefined)[] = [];

  constructor(
    readonly lab: NetnsLab,
    readonly dataDir: string,
    readonly extraAgentArgs: string[],
  ) {}

  agentArgs(i: number): string[] {
    const name = hostNames[i]!;
    const args = [process.execPath, bin, 'agent', '--name', name, '--data-dir', path.join(this.dataDir, name), '--preset', 'local', ...this.extraAgentArgs];
    if (i > 0) args.push('--join', `${this.lab.ip(0)}:${gossipPort}`);
    if (i === nonVoterIndex) args.push('--voter', 'false');
    return args;
  }

  start(i: number): void {
    this.agents[i] = this.lab.spawn(i, this.agentArgs(i), { label: `${hostNames[i]} agent` });
  }

  /** `shoal ARGS` on host i, with the CLI's defaults (so --http 127.0.0.1:7947, the host's own agent). */
  shoal(i: number, args: string[], timeoutMs = cliTimeoutMs): Promise<ExecResult> {
    return this.lab.exec(i, [process.execPath, bin, ...args], { timeoutMs });
  }

  /** Throws, with its log, if an agent exited that nobody killed: waiting on it would only time out. */
  assertAgentsUp(): void {
    for (const a of this.agents) {
      if (a !== undefined && !a.running && !a.killRequested) {
        throw new Error(`${a.label} on ${a.host.ns} (${a.host.ip}) exited on its own (${JSON.stringify(a.exitStatus)}):\n${a.tail(15)}`);
      }
    }
  }

  /** The last log lines of every agent. */
  logs(lines = 8): string {
    return this.agents
      .map((a, i) => (a === undefined ? `${hostNames[i]}: not started` : `--- ${a.label} ${a.host.ns} ${a.host.ip}${a.running ? '' : ` (exited ${JSON.stringify(a.exitStatus)})`}\n${a.tail(lines)}`))
      .join('\n');
  }

  async members(i: number): Promise<{ r: ExecResult; view: MemberJson[] | undefined }> {
    const r = await this.shoal(i, ['members', '--json']);
    return { r, view: parseJson<MemberJson[]>(r) };
  }

  async raftStatus(i: number): Promise<{ r: ExecResult; status: RaftStatusJson | undefined }> {
    const r = await this.shoal(i, ['raft', 'status', '--json']);
    return { r, status: parseJson<RaftStatusJson>(r) };
  }

  /** `config put` on host i until it succeeds or timeoutMs passes. */
  async putUntil(i: number, key: string, value: string, timeoutMs: number): Promise<{ ok: boolean; attempts: number; tookMs: number; last: ExecResult | undefined }> {
    const started = Date.now();
    let attempts = 0;
    let last: ExecResult | undefined;
    const ok = await waitUntil(
      async () => {
        this.assertAgentsUp();
        attempts++;
        last = await this.shoal(i, ['config', 'put', key, value], Math.min(cliTimeoutMs, Math.max(1_000, started + timeoutMs - Date.now())));
        return last.code === 0;
      },
      timeoutMs,
      pollMs,
    );
    return { ok, attempts, tookMs: Date.now() - started, last };
  }
}

/**
 * Every check of a scenario, logged PASS/FAIL as it is made and asserted at the
 * end: an ava assertion ends the test at its first failure, and one run here
 * should report every host and every step.
 */
class Verdicts {
  readonly failed: string[] = [];
  passed = 0;

  constructor(private readonly t: ExecutionContext) {}

  check(ok: boolean, what: string, detail = ''): boolean {
    this.t.log(`${ok ? 'PASS' : 'FAIL'} ${what}${detail === '' ? '' : ` (${detail})`}`);
    if (ok) this.passed++;
    else this.failed.push(detail === '' ? what : `${what} (${detail})`);
    return ok;
  }

  equal(actual: unknown, expected: unknown, what: string): boolean {
    const ok = isDeepStrictEqual(actual, expected);
    return this.check(ok, what, ok ? '' : `got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

/** waitUntil, recorded as one verdict naming what was awaited, how long it took or the last observation. */
async function awaitVerdict(v: Verdicts, cluster: HostsCluster, what: string, timeoutMs: number, cond: () => Promise<string | true>): Promise<boolean> {
  let detail = '';
  const started = Date.now();
  const ok = await waitUntil(
    async () => {
      cluster.assertAgentsUp();
      const r = await cond();
      if (r === true) return true;
      detail = r;
      return false;
    },
    timeoutMs,
    pollMs,
  );
  return v.check(ok, `${what} within ${timeoutMs} ms`, ok ? `${Date.now() - started} ms` : `last: ${detail}`);
}

async function scenario(t: ExecutionContext, extraAgentArgs: string[]): Promise<void> {
  t.timeout(scenarioTimeoutMs, 'the hosts scenario hung: the log shows the last step and the agents');
  const wallStart = Date.now();
  const lab = new NetnsLab({ hosts: hostNames.length });
  t.teardown(() => lab.destroy());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'shoal-hosts-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const cluster = new HostsCluster(lab, dataDir, extraAgentArgs);
  // Every wait below is bounded; this only names the step and the agents' logs if the whole still hangs.
  const watchdog = setTimeout(() => t.log(`still running after ${scenarioTimeoutMs - 5_000} ms:\n${cluster.logs()}`), scenarioTimeoutMs - 5_000);
  t.teardown(() => clearTimeout(watchdog));
  const v = new Verdicts(t);
  t.log(`lab ${lab.id}: ${lab.hosts.map((h, i) => `${hostNames[i]}=${h.ns}/${h.ip}`).join(' ')}; ${hostNames[nonVoterIndex]}: ${cluster.agentArgs(nonVoterIndex).slice(2).join(' ')}`);
  const all = hostNames.map((_, i) => i);
  const expectedAddrs = Object.fromEntries(hostNames.map((n, i) => [n, `${lab.ip(i)}:${gossipPort}`]));
  const label = (i: number): string => `${hostNames[i]}${i === nonVoterIndex ? ' (--voter false)' : ''}`;

  try {
    // h1 first; the others join it once its API answers (a join at start that finds no seed fails the agent).
    cluster.start(0);
    let first: ExecResult | undefined;
    const h1Up = await awaitVerdict(v, cluster, 'h1: `shoal members` reaches its agent on 127.0.0.1:7947', startTimeoutMs, async () =>
      (first = await cluster.shoal(0, ['members', '--json'])).code === 0 ? true : brief(first),
    );
    if (!h1Up) return;
    for (const i of all.slice(1)) cluster.start(i);

    // Membership: every host sees four members, alive, at their lab addresses. Awaited per host, so a
    // host that never gets there does not stop the others' verdicts.
    const views: (MemberJson[] | undefined)[] = [];
    const results: ExecResult[] = [];
    const convergedBy = Date.now() + convergeTimeoutMs;
    await Promise.all(
      all.map((i) =>
        waitUntil(
          async () => {
            cluster.assertAgentsUp();
            const g = await cluster.members(i);
            views[i] = g.view;
            results[i] = g.r;
            return g.view !== undefined && g.view.length === 4 && g.view.every((m) => m.state === 'alive');
          },
          Math.max(0, convergedBy - Date.now()),
          pollMs,
        ),
      ),
    );
    for (const i of all) {
      const view = views[i];
      if (!v.check(view !== undefined, `${label(i)}: \`shoal members --json\` answers`, view === undefined ? brief(results[i]) : '')) continue;
      v.equal(view!.map((m) => m.name).sort(), [...hostNames], `${label(i)}: four members`);
      v.equal(Object.fromEntries(view!.map((m) => [m.name, m.state])), Object.fromEntries(hostNames.map((n) => [n, 'alive'])), `${label(i)}: all alive`);
      v.equal(Object.fromEntries(view!.map((m) => [m.name, m.addr])), expectedAddrs, `${label(i)}: every member at its 10.213 lab address`);
      v.equal(
        view!.filter((m) => m.addr.startsWith('127.') || m.addr.startsWith('0.0.0.0')).map((m) => `${m.name}=${m.addr}`),
        [],
        `${label(i)}: no member at a loopback or wildcard address`,
      );
    }
    const seen = views.find((x) => x !== undefined) ?? [];
    t.log(`members advertise: ${seen.map((m) => `${m.name}=${m.addr} http=${m.tags?.['shoal.http'] ?? '?'}`).join(' ')}`);

    // One leader, named by every host (the non-voter included).
    const statuses: (RaftStatusJson | undefined)[] = [];
    const statusResults: ExecResult[] = [];
    await awaitVerdict(v, cluster, 'all four hosts name one leader', leaderTimeoutMs, async () => {
      const got = await Promise.all(all.map((i) => cluster.raftStatus(i)));
      got.forEach((g, i) => ((statuses[i] = g.status), (statusResults[i] = g.r)));
      const leaders = got.map((g) => g.status?.leader ?? '');
      return leaders[0] !== '' && leaders.every((l) => l === leaders[0])
        ? true
        : got.map((g, i) => `${hostNames[i]}: ${g.status === undefined ? brief(g.r) : `leader=${g.status.leader || '-'} role=${g.status.role}`}`).join('; ');
    });
    // The leader as the voters see it, so the later steps still run when a host disagrees or does not answer.
    const leader = statuses.slice(0, nonVoterIndex).find((s) => s !== undefined && s.leader !== '')?.leader ?? '';
    for (const i of all) {
      const s = statuses[i];
      v.check(leader !== '' && s?.leader === leader, `${label(i)}: \`raft status\` names the leader`, s === undefined ? brief(statusResults[i]) : `leader ${s.leader || '-'}, role ${s.role}, term ${s.term}; voters say ${leader || '-'}`);
    }
    const voterView = statuses.find((s) => s !== undefined && s.voters.length > 0);
    if (voterView !== undefined) t.log(`leader ${leader}; voters ${voterView.voters.join(',')}; learners ${voterView.learners.join(',') || '-'}`);

    // config put, then get, on every host through its own agent.
    const puts = await Promise.all(all.map((i) => cluster.putUntil(i, `lab/${hostNames[i]}`, `from-${hostNames[i]}`, putTimeoutMs)));
    for (const i of all) {
      const p = puts[i]!;
      if (!v.check(p.ok, `${label(i)}: \`config put\` succeeds within ${putTimeoutMs} ms`, `${p.attempts} attempts in ${p.tookMs} ms; last: ${brief(p.last)}`)) continue;
      const get = await cluster.shoal(i, ['config', 'get', `lab/${hostNames[i]}`, '--json']);
      v.equal(parseJson<{ value: string }>(get)?.value, `from-${hostNames[i]}`, `${label(i)}: \`config get --json\` reads back the value (${brief(get)})`);
    }

    // SIGKILL the leader's agent; writes from every other host succeed again.
    const leaderIndex = hostNames.indexOf(leader as (typeof hostNames)[number]);
    if (!v.check(leaderIndex >= 0, 'a leader to SIGKILL', `leader "${leader}"`)) return;
    await lab.kill(leaderIndex, 'SIGKILL');
    t.log(`SIGKILLed leader ${leader}'s agent on ${lab.host(leaderIndex).ns}`);
    const others = all.filter((i) => i !== leaderIndex);
    const after = await Promise.all(others.map((i) => cluster.putUntil(i, `lab/after-kill/${hostNames[i]}`, 'x', recoverTimeoutMs)));
    others.forEach((i, j) => {
      const p = after[j]!;
      v.check(p.ok, `${label(i)}: \`config put\` succeeds again within ${recoverTimeoutMs} ms of the leader's SIGKILL`, `${p.attempts} attempts in ${p.tookMs} ms; last: ${brief(p.last)}`);
    });
    const survivors = await Promise.all(others.map((i) => cluster.raftStatus(i)));
    t.log(`after the kill: ${survivors.map((s, j) => `${hostNames[others[j]!]} leader=${s.status?.leader || '-'} term=${s.status?.term ?? '?'}`).join('; ')}`);
  } finally {
    if (v.failed.length > 0) t.log(`agent logs (last lines):\n${cluster.logs(12)}`);
    await lab.destroy();
    v.equal(lab.leftovers(), [], 'destroy() leaves no namespace, veth or bridge');
    t.log(`${v.passed} checks passed, ${v.failed.length} failed; wall time ${Date.now() - wallStart} ms`);
    t.deepEqual(v.failed, [], 'every check passes');
  }
}

run(`netns lab: hosts on one private /24 with their own loopback, no default route, nothing left behind (also after a crash or SIGKILL)${skipNote}`, async (t) => {
  t.timeout(60_000);
  const lab = new NetnsLab({ hosts: 2 });
  t.teardown(() => lab.destroy());
  for (const i of [0, 1]) {
    const h = lab.host(i);
    const routes = await lab.exec(i, ['ip', '-4', 'route']);
    t.deepEqual(
      routes.stdout.trim().split('\n').map((l) => l.split(' ')[0]),
      [`10.213.${lab.subnet}.0/24`],
      `${h.ns}: only the lab subnet is routable (${routes.stdout.trim()})`,
    );
    const addrs = await lab.exec(i, ['ip', '-4', '-o', 'addr']);
    t.regex(addrs.stdout, /\blo\s+inet 127\.0\.0\.1\/8/, `${h.ns}: lo is up with 127.0.0.1`);
    t.regex(addrs.stdout, new RegExp(`\\beth0\\s+inet ${h.ip.replaceAll('.', '\\.')}/24`), `${h.ns}: eth0 has ${h.ip}/24`);
  }
  // The root namespace holds the bridge and the veths, with no address and no route to the lab.
  const rootAddrs = execFileSync('ip', ['-o', 'addr', 'show', 'dev', lab.bridge], { encoding: 'utf8' });
  t.is(rootAddrs.trim(), '', `bridge ${lab.bridge} has no address`);
  const rootRoutes = execFileSync('ip', ['route', 'show', 'dev', lab.bridge], { encoding: 'utf8' });
  t.is(rootRoutes.trim(), '', `no route via ${lab.bridge} in the root namespace`);
  // Host 2 reaches host 1 over the segment; host 1's loopback is its own.
  const server = lab.spawn(0, [process.execPath, '-e', `require('node:net').createServer((s) => s.end('hello from h1')).listen(7000, '0.0.0.0', () => console.log('listening'))`]);
  t.true(await waitUntil(() => server.lines.some((l) => l.includes('listening')), 10_000), `echo server on h1 started: ${server.tail()}`);
  const client = (host: string): string[] => [process.execPath, '-e', `const s = require('node:net').connect(7000, '${host}'); let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => console.log(d)); s.on('error', (e) => { console.log(e.code); });`];
  t.is((await lab.exec(1, client(lab.ip(0)))).stdout.trim(), 'hello from h1', 'h2 reaches h1 over the lab segment');
  t.is((await lab.exec(1, client('127.0.0.1'))).stdout.trim(), 'ECONNREFUSED', "h2's 127.0.0.1 is its own loopback, not h1's");
  await lab.kill(0, 'SIGKILL');
  t.false(server.running, 'kill() waits for the exit');
  await lab.destroy();
  t.deepEqual(lab.leftovers(), [], 'destroy() leaves nothing');
  await lab.destroy(); // idempotent

  // A process that builds a lab, starts a process in it, and dies of an uncaught exception: the exit handler cleans up.
  const child = (mode: 'throw' | 'hang'): Promise<{ id: string; sleeperPid: number; code: number | null; signal: NodeJS.Signals | null }> =>
    new Promise((resolve, reject) => {
      const script = `import { NetnsLab } from ${JSON.stringify(labModule)};
const lab = new NetnsLab({ hosts: 2 });
const sleeper = lab.spawn(0, ['sleep', '600']);
console.log(lab.id + ' ' + sleeper.pid);
${mode === 'throw' ? "setTimeout(() => { throw new Error('crash'); }, 200);" : 'setInterval(() => {}, 1000);'}`;
      const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (mode === 'hang' && out.includes('\n')) p.kill('SIGKILL');
      });
      p.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
      const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
      p.once('error', reject);
      p.once('close', (code, signal) => {
        clearTimeout(timer);
        const m = /^([0-9a-z]+x[0-9a-z]+) (\d+)$/m.exec(out);
        if (m === null) reject(new Error(`child (${mode}) printed no lab id: ${out} ${err}`));
        else resolve({ id: m[1]!, sleeperPid: Number(m[2]), code, signal });
      });
    });
  const labNames = (id: string): string[] =>
    [
      ...execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n'),
      ...execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').map((l) => l.split(':')[1]?.trim() ?? ''),
    ].filter((n) => n.includes(id));
  /** Running (a zombie waiting for a reaper that is not ours does not count). */
  const alive = (pid: number): boolean => {
    try {
      return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  const crashed = await child('throw');
  t.not(crashed.code, 0, 'the child crashed');
  t.deepEqual(labNames(crashed.id), [], `the 'exit' handler of a crashed process removed lab ${crashed.id}`);
  t.true(await waitUntil(() => !alive(crashed.sleeperPid), 5_000), `the crashed process's sleep ${crashed.sleeperPid} was killed`);

  // SIGKILL leaves the lab behind (no handler runs); cleanupStale() removes it, and the process inside.
  const killed = await child('hang');
  t.is(killed.signal, 'SIGKILL');
  t.true(labNames(killed.id).length > 0, `a SIGKILLed process leaves lab ${killed.id} behind`);
  const removed = NetnsLab.cleanupStale();
  t.log(`cleanupStale removed ${removed.join(' ')}`);
  t.deepEqual(labNames(killed.id), [], `cleanupStale() removed lab ${killed.id}`);
  t.true(await waitUntil(() => !alive(killed.sleeperPid), 5_000), `cleanupStale() killed sleep ${killed.sleeperPid} inside the stale lab`);
});

run(`4 hosts, every default (0.0.0.0:7946, API on each host's 127.0.0.1:7947): members at lab addresses, config put/get on every host, one leader, writes survive the leader's SIGKILL${skipNote}`, async (t) => {
  await scenario(t, []);
});

run(`4 hosts with --bind 0.0.0.0:7946 given and no --advertise: members at lab addresses, the rest as with defaults${skipNote}`, async (t) => {
  await scenario(t, ['--bind', `0.0.0.0:${gossipPort}`]);
});

run(`4 hosts with gossip encryption (--encrypt, otherwise defaults): the same, every datagram and stream sealed between hosts${skipNote}`, async (t) => {
  await scenario(t, ['--encrypt', formatKey(generateKey())]);
});
