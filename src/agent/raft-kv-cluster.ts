/**
 * A local cluster of Raft KV node processes on loopback (raft-kv-main.js), for
 * the integration tests, the benchmarks and demos: free ports, a temporary
 * data directory, start / kill / restart by node id, leader discovery through
 * GET /status. Node ids are n1..nN; a restarted node keeps its ports and data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { formatHostPort, type HostPort } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { RaftKvClient } from './raft-kv-client.js';

export interface LocalRaftClusterOptions {
  size: number;
  /** The compiled raft-kv-main.js to run with `node`. */
  mainPath: string;
  /** Flags for node itself, before the script (e.g. ['--cpu-prof']). */
  nodeFlags?: string[];
  /** Extra arguments for every node (e.g. ['--tick-ms', '10']). */
  nodeArgs?: string[];
  /** Parent of the data directories; a fresh temporary directory by default (removed on close). */
  dataDir?: string;
  startupTimeoutMs?: number;
}

interface NodeProc {
  proc: ChildProcess;
  /** The exit code, or null when killed by a signal. */
  exited: Promise<number | null>;
}

export interface NodeStatusView {
  id: string;
  role: string;
  term: number;
  leader: string;
  commit: number;
  applied: number;
  voters: string[];
  profile?: Record<string, number>;
}

const host = '127.0.0.1';
/** Lines of a node's stderr kept for diagnostics. */
const stderrLinesMax = 200;

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, host, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export class LocalRaftCluster {
  readonly ids: string[];
  readonly stderr = new Map<string, string[]>();
  private readonly procs = new Map<string, NodeProc>();
  private readonly client = new RaftKvClient({ timeoutMs: 1000 });

  private constructor(
    private readonly options: LocalRaftClusterOptions,
    private readonly raftAddrs: Map<string, HostPort>,
    private readonly httpAddrs: Map<string, HostPort>,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
  ) {
    this.ids = [...raftAddrs.keys()];
  }

  static async start(options: LocalRaftClusterOptions): Promise<LocalRaftCluster> {
    const ports = await freePorts(options.size * 2);
    const ids = Array.from({ length: options.size }, (_, i) => `n${i + 1}`);
    const raft = new Map(ids.map((id, i) => [id, { host, port: ports[i] }]));
    const http = new Map(ids.map((id, i) => [id, { host, port: ports[options.size + i] }]));
    const dir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'raft-kv-')));
    const c = new LocalRaftCluster(options, raft, http, dir, options.dataDir === undefined);
    try {
      await Promise.all(ids.map((id) => c.startNode(id)));
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  http(id: string): HostPort {
    return this.httpAddrs.get(id)!;
  }

  isRunning(id: string): boolean {
    return this.procs.has(id);
  }

  running(): string[] {
    return this.ids.filter((id) => this.procs.has(id));
  }

  pid(id: string): number | undefined {
    return this.procs.get(id)?.proc.pid;
  }

  /** Spawn a node and wait for its ready line. */
  async startNode(id: string): Promise<void> {
    if (this.procs.has(id)) return;
    const peers = [...this.raftAddrs].map(([pid, a]) => `${pid}=${formatHostPort(a)}`).join(',');
    const args = [
      ...(this.options.nodeFlags ?? []),
      this.options.mainPath,
      '--id',
      id,
      '--peers',
      peers,
      '--http',
      formatHostPort(this.http(id)),
      '--data-dir',
      path.join(this.dataDir, id),
      ...(this.options.nodeArgs ?? []),
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const node: NodeProc = { proc, exited };
    this.procs.set(id, node);
    void exited.then(() => {
      if (this.procs.get(id) === node) this.procs.delete(id);
    });
    const lines: string[] = [];
    this.stderr.set(id, lines);
    const rl = readline.createInterface({ input: proc.stderr! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ShoalError(ErrorCode.Timeout, `${id} did not start: ${lines.join('\n')}`)),
        this.options.startupTimeoutMs ?? 15_000,
      );
      rl.on('line', (line) => {
        lines.push(line);
        if (lines.length > stderrLinesMax) lines.shift();
        if (/^raft-kv: \S+ raft=\S+ http=\S+ ready$/.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new ShoalError(ErrorCode.NotRunning, `${id} exited during startup: ${lines.join('\n')}`));
      });
    });
  }

  /** Send a signal and wait for the process to exit; resolves with its exit code (null: killed by the signal). */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const node = this.procs.get(id);
    if (node === undefined) return null;
    node.proc.kill(signal);
    return node.exited;
  }

  async status(id: string): Promise<NodeStatusView | undefined> {
    const r = await this.client.status<NodeStatusView>(this.http(id));
    return r.ok ? r.value : undefined;
  }

  /**
   * The leader the running nodes agree on: a running node that reports itself
   * leader, at the highest term seen, and a majority of the cluster reports the
   * same leader. Undefined if there is none right now.
   */
  async currentLeader(): Promise<{ id: string; term: number } | undefined> {
    const views = (await Promise.all(this.running().map((id) => this.status(id)))).filter((v): v is NodeStatusView => v !== undefined);
    const maxTerm = Math.max(0, ...views.map((v) => v.term));
    const leader = views.find((v) => v.role === 'leader' && v.term === maxTerm);
    if (leader === undefined) return undefined;
    const agree = views.filter((v) => v.leader === leader.id && v.term === maxTerm).length;
    return agree > this.ids.length / 2 ? { id: leader.id, term: leader.term } : undefined;
  }

  /** Poll until a leader is agreed on (optionally other than `not`); pollMs between rounds. */
  async waitForLeader(timeoutMs: number, not?: string, pollMs = 20): Promise<{ id: string; term: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = await this.currentLeader();
      if (l !== undefined && l.id !== not) return l;
      if (Date.now() > deadline) throw new ShoalError(ErrorCode.Timeout, `no leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Kill every node (SIGKILL) and remove the data directory if it was created here. */
  async close(): Promise<void> {
    await Promise.all([...this.procs.keys()].map(async (id) => this.kill(id, 'SIGKILL')));
    this.client.close();
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}
