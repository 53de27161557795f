/**
 * Gossip over real UDP/TCP on loopback: N agents in one process with LAN
 * parameters. For each N prints one JSON line:
 *   {"bench":"gossip-udp","n","joinConvergeMs","failDetectMs","msgsPerMemberPerSec",
 *    "bytesPerMemberPerSec","cpuSecPerAgentPerMin","rssMbPerAgent"}
 *
 *   npx tsx bench/gossip-udp.ts --n 50,200 [--steady-sec 60] [--preset lan]
 *
 * joinConvergeMs: from the first join until every agent sees N alive.
 * failDetectMs: one agent closes its sockets without leaving; until every other marks it dead.
 * Between convergence and the steady window the join's broadcasts drain (settleMs: until the
 * send rate over 5 s windows stops falling, at most --settle-max-sec).
 * msgs/bytes: gossip messages and bytes sent (UDP + TCP) over the steady-state window, per member per second.
 * cpu: process.cpuUsage (user + system) over the steady-state window, per agent, scaled to a minute.
 * rss: (rss after convergence - rss before starting agents) / N.
 */
import { Agent } from '../src/agent/agent.js';
import { PRESET_NAMES, type PresetName } from '../src/agent/config.js';

interface Args {
  ns: number[];
  steadySec: number;
  preset: PresetName;
  timeoutSec: number;
  settleMaxSec: number;
}

const SETTLE_WINDOW_MS = 5_000;

function parseArgs(argv: string[]): Args {
  const args: Args = { ns: [50, 200], steadySec: 60, preset: 'lan', timeoutSec: 180, settleMaxSec: 120 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--n':
        args.ns = v.split(',').map((x) => Number(x));
        i++;
        break;
      case '--steady-sec':
        args.steadySec = Number(v);
        i++;
        break;
      case '--settle-max-sec':
        args.settleMaxSec = Number(v);
        i++;
        break;
      case '--timeout-sec':
        args.timeoutSec = Number(v);
        i++;
        break;
      case '--preset':
        if (!(PRESET_NAMES as readonly string[]).includes(v)) throw new Error(`unknown preset ${v}`);
        args.preset = v as PresetName;
        i++;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (args.ns.some((n) => !Number.isInteger(n) || n < 2)) throw new Error('--n takes integers >= 2');
  return args;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, timeoutMs: number, pollMs = 50): Promise<number | undefined> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (cond()) return performance.now() - start;
    await sleep(pollMs);
  }
  return cond() ? performance.now() - start : undefined;
}

function sentTotals(agents: Agent[]): { msgs: number; bytes: number; probeFailures: number; suspicions: number; refutes: number } {
  const t = { msgs: 0, bytes: 0, probeFailures: 0, suspicions: 0, refutes: 0 };
  for (const a of agents) {
    const s = a.stats;
    t.msgs += s.shell.msgsSent;
    t.bytes += s.shell.bytesSent;
    t.probeFailures += s.gossip.probeFailures;
    t.suspicions += s.gossip.suspicions;
    t.refutes += s.gossip.refutes;
  }
  return t;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}

async function runOne(n: number, args: Args): Promise<Record<string, number | string | null>> {
  gc();
  const rssBefore = process.memoryUsage().rss;
  const agents: Agent[] = [];
  try {
    const seed = await Agent.start({ name: 'bench-0', bind: '127.0.0.1:0', preset: args.preset });
    agents.push(seed);
    for (let i = 1; i < n; i++) {
      agents.push(await Agent.start({ name: `bench-${i}`, bind: '127.0.0.1:0', preset: args.preset }));
    }
    // Everyone joins through agent 0, in batches so the seed's TCP accept queue stays sane.
    const joinStart = performance.now();
    const batch = 25;
    for (let i = 1; i < n; i += batch) {
      await Promise.all(agents.slice(i, i + batch).map((a) => a.join([seed.addr])));
    }
    const convergedAfter = await waitUntil(() => agents.every((a) => a.numAlive() === n), args.timeoutSec * 1000);
    const joinConvergeMs = convergedAfter === undefined ? null : Math.round(performance.now() - joinStart);
    gc();
    const rssAfter = process.memoryUsage().rss;

    // Let the join's broadcasts drain: steady state is when the send rate stops falling.
    const settleStart = performance.now();
    let prevRate = Infinity;
    while (performance.now() - settleStart < args.settleMaxSec * 1000) {
      const before = sentTotals(agents).msgs;
      await sleep(SETTLE_WINDOW_MS);
      const rate = (sentTotals(agents).msgs - before) / n / (SETTLE_WINDOW_MS / 1000);
      if (rate > prevRate * 0.9) break;
      prevRate = rate;
    }
    const settleMs = Math.round(performance.now() - settleStart);

    // Steady state.
    const sent0 = sentTotals(agents);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(args.steadySec * 1000);
    const elapsedSec = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const sent1 = sentTotals(agents);
    const cpuSec = (cpu.user + cpu.system) / 1e6;

    // Failure detection: the last agent vanishes without a word.
    const victim = agents[n - 1];
    const survivors = agents.slice(0, -1);
    await victim.stop({ leave: false });
    const detectedAfter = await waitUntil(
      () => survivors.every((a) => a.members().find((m) => m.name === victim.name)?.state === 'dead'),
      args.timeoutSec * 1000,
    );

    return {
      bench: 'gossip-udp',
      n,
      preset: args.preset,
      joinConvergeMs,
      failDetectMs: detectedAfter === undefined ? null : Math.round(detectedAfter),
      msgsPerMemberPerSec: round((sent1.msgs - sent0.msgs) / n / elapsedSec),
      bytesPerMemberPerSec: round((sent1.bytes - sent0.bytes) / n / elapsedSec),
      cpuSecPerAgentPerMin: round((cpuSec / n) * (60 / elapsedSec), 4),
      rssMbPerAgent: round((rssAfter - rssBefore) / n / (1024 * 1024), 3),
      steadySec: round(elapsedSec, 1),
      settleMs,
      // Diagnostics of the steady window: on a loaded machine, late acks cause probe failures and refutes.
      probeFailuresPerMin: round(((sent1.probeFailures - sent0.probeFailures) * 60) / elapsedSec),
      suspicionsPerMin: round(((sent1.suspicions - sent0.suspicions) * 60) / elapsedSec),
      refutesPerMin: round(((sent1.refutes - sent0.refutes) * 60) / elapsedSec),
    };
  } finally {
    await Promise.all(agents.map((a) => a.stop({ leave: false })));
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const args = parseArgs(process.argv.slice(2));
for (const n of args.ns) {
  const result = await runOne(n, args);
  console.log(JSON.stringify(result));
}
