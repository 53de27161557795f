/**
 * Config store benchmarks against a real 3-voter cluster of `shoal agent`
 * processes on loopback (run `npm run build` first):
 *
 *  - config-put: PUT /v1/config/{key} with N concurrent keep-alive HTTP
 *    clients, 16-byte keys, 100-byte values, to the leader;
 *  - config-get: linearizable (ReadIndex) and serializable reads per second;
 *  - config-watch-latency: from a write's acknowledgement (and from its send)
 *    to its event on a watch stream opened on another member.
 *
 * Each prints one JSON line.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalControlCluster } from '../test/support/control-cluster.js';
import type { RaftStatusView } from '../src/api/config-types.js';
import { percentile } from './stats.js';

export interface BenchLine {
  bench: string;
  [k: string]: unknown;
}

const value100 = 'v'.repeat(100);
const key16 = (client: number, n: number): string => `b${client.toString(36).padStart(3, '0')}${(n % 1e12).toString(36).padStart(12, '0')}`.slice(0, 16);

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** One HTTP request on a keep-alive agent; resolves with the status. */
export function request(agent: http.Agent, hostPort: string, method: string, path: string, body?: string): Promise<number> {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host, port, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** N closed-loop clients for durationMs; latencies of successful requests. */
export async function closedLoop(
  clients: number,
  durationMs: number,
  op: (agent: http.Agent, client: number, n: number) => Promise<number>,
): Promise<{ ok: number; failed: number; latenciesMs: number[]; elapsedMs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latenciesMs: number[] = [];
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let n = 0;
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const status = await op(agent, c, n++);
          if (status === 200 || status === 404) {
            ok++;
            latenciesMs.push(performance.now() - t0);
          } else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  agent.destroy();
  return { ok, failed, latenciesMs: latenciesMs.sort((a, b) => a - b), elapsedMs };
}

/** bin/shoal; exits with status 2 if the build it runs is missing (the benchmarks spawn agents). */
export function builtAgentBin(): string {
  // SHOAL_BIN runs another build of the agent (e.g. the previous commit's) under the same load generator, for same-run ratios.
  if (process.env.SHOAL_BIN !== undefined) return path.resolve(process.env.SHOAL_BIN);
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  if (!existsSync(path.join(root, 'dist/src/cli/main.js'))) {
    console.error('run `npm run build` first: the benchmark spawns bin/shoal');
    process.exit(2);
  }
  return path.join(root, 'bin/shoal');
}

/** GET /v1/raft/status of each named agent (default: every running one); undefined where it does not answer within 1 s. */
export function raftStatuses(cluster: LocalControlCluster, names = cluster.running().map((n) => n.name)): Promise<(RaftStatusView | undefined)[]> {
  return Promise.all(names.map((name) => cluster.client(name).raftStatus({ signal: AbortSignal.timeout(1000) }).catch(() => undefined)));
}

/** Polls until every running agent reports the same leader and 3 voters; that leader's status, or undefined at the deadline. */
export async function waitForAgreedLeader(cluster: LocalControlCluster, timeoutMs: number, pollMs = 200): Promise<RaftStatusView | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await raftStatuses(cluster);
    const leader = all[0]?.leader ?? '';
    const own = all.find((s) => s?.name === leader);
    if (own !== undefined && all.every((s) => s?.leader === leader && s.voters.length === 3)) return own;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export async function startBenchCluster(
  bin: string,
  extraArgs: string[] = [],
  argsFor?: (index: number) => string[],
): Promise<{ cluster: LocalControlCluster; leader: string; follower: string }> {
  const cluster = new LocalControlCluster({ bin, size: 3, startTimeoutMs: 30_000, extraArgs, ...(argsFor === undefined ? {} : { argsFor }) });
  await cluster.start();
  const status = await waitForAgreedLeader(cluster, 60_000);
  if (status === undefined) {
    await cluster.stopAll();
    throw new Error('bench cluster did not elect a leader within 60 s');
  }
  const follower = cluster.nodes.find((n) => n.name !== status.leader)!.name;
  return { cluster, leader: status.leader, follower };
}

/** PUTs through `member`'s API (the leader, or a follower that forwards to it). */
/** User + system CPU seconds a process has used so far (Linux /proc), or undefined where it cannot be read. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th (clock ticks, 100 per second on Linux).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return undefined;
  }
}

/** CPU seconds of each running agent (by name) between two samples, per 1,000 operations. */
function cpuPer1k(cluster: LocalControlCluster, before: Map<string, number | undefined>, ops: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of cluster.running()) {
    const a = before.get(n.name);
    const b = cpuSeconds(n.proc?.pid);
    if (a !== undefined && b !== undefined && ops > 0) out[n.name] = round(((b - a) / ops) * 1000, 3);
  }
  return out;
}

export async function benchPut(cluster: LocalControlCluster, member: string, clients: number, durationMs: number): Promise<BenchLine> {
  const at = cluster.node(member).http;
  const body = JSON.stringify({ value: value100 });
  await closedLoop(clients, Math.min(1000, durationMs), (agent, c, n) => request(agent, at, 'PUT', `/v1/config/${key16(c, n)}`, body)); // warm-up
  const before = new Map(cluster.running().map((n) => [n.name, cpuSeconds(n.proc?.pid)] as const));
  const r = await closedLoop(clients, durationMs, (agent, c, n) => request(agent, at, 'PUT', `/v1/config/${key16(c, n)}`, body));
  return {
    bench: 'config-put',
    voters: 3,
    clients,
    opsPerSec: Math.round((r.ok / r.elapsedMs) * 1000),
    p50Ms: round(percentile(r.latenciesMs, 50)),
    p99Ms: round(percentile(r.latenciesMs, 99)),
    failed: r.failed,
    /** CPU seconds per 1,000 writes of each agent process (the one written to is `member`). */
    cpuSecPer1kWrites: cpuPer1k(cluster, before, r.ok),
    target: member,
  };
}

export async function benchGet(cluster: LocalControlCluster, member: string, mode: 'linearizable' | 'serializable', clients: number, durationMs: number): Promise<BenchLine> {
  const at = cluster.node(member).http;
  const q = mode === 'serializable' ? '?serializable=true' : '';
  const r = await closedLoop(clients, durationMs, (agent, c, n) => request(agent, at, 'GET', `/v1/config/${key16(c, n % 1000)}${q}`));
  return {
    bench: 'config-get',
    mode,
    voters: 3,
    clients,
    member: member,
    opsPerSec: Math.round((r.ok / r.elapsedMs) * 1000),
    p50Ms: round(percentile(r.latenciesMs, 50)),
    p99Ms: round(percentile(r.latenciesMs, 99)),
    failed: r.failed,
  };
}

/** Sequential writes to the leader; a watch on another member timestamps each event. */
export async function benchWatchLatency(cluster: LocalControlCluster, leader: string, watcher: string, writes: number): Promise<BenchLine> {
  const seenAt = new Map<string, number>();
  const ac = new AbortController();
  const lines = cluster.client(watcher).watch('wl/', { signal: ac.signal });
  await lines.next(); // created
  const reading = (async () => {
    for await (const line of lines) if (line.type === 'put') seenAt.set(line.kv.key, performance.now());
  })();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const at = cluster.node(leader).http;
  const fromAck: number[] = [];
  const fromSend: number[] = [];
  const body = JSON.stringify({ value: value100 });
  for (let i = 0; i < writes; i++) {
    const key = `wl/${i.toString().padStart(13, '0')}`;
    const t0 = performance.now();
    await request(agent, at, 'PUT', `/v1/config/${key}`, body);
    const acked = performance.now();
    const deadline = acked + 5000;
    while (!seenAt.has(key) && performance.now() < deadline) await new Promise((r) => setImmediate(r));
    const seen = seenAt.get(key);
    if (seen === undefined) continue;
    fromAck.push(seen - acked);
    fromSend.push(seen - t0);
  }
  ac.abort();
  await reading.catch(() => undefined);
  agent.destroy();
  fromAck.sort((a, b) => a - b);
  fromSend.sort((a, b) => a - b);
  return {
    bench: 'config-watch-latency',
    voters: 3,
    writes,
    events: fromAck.length,
    p50Ms: round(percentile(fromAck, 50)),
    p99Ms: round(percentile(fromAck, 99)),
    fromSendP50Ms: round(percentile(fromSend, 50)),
    fromSendP99Ms: round(percentile(fromSend, 99)),
  };
}
