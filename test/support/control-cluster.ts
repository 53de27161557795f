/**
 * A local cluster of `shoal agent` processes on loopback, for integration
 * tests and benchmarks (run `npm run build` first: it spawns bin/shoal).
 * Each agent gets free ports (gossip, HTTP) and its own data dir; the first
 * is the others' seed. spawn() (re)starts an agent from its data dir; kill()
 * sends a signal; stopAll() kills every child still running and removes the
 * data dirs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigClient } from '../../src/api/config-client.js';
import type { ApiClientOptions } from '../../src/api/http-transport.js';
import { ErrorCode, ShoalError } from '../../src/util/errors.js';

export interface ControlNodeProc {
  name: string;
  gossip: string;
  http: string;
  dataDir: string;
  proc: ChildProcess | undefined;
  /** The last lines the agent wrote to stderr (bounded), for failure messages. */
  log: string[];
  /** How the last process exited (code, or null after a signal); undefined while it runs or before it ran. */
  exitCode?: number | null;
}

export interface LocalControlClusterOptions {
  /** Path of bin/shoal. */
  bin: string;
  size: number;
  bootstrapExpect?: number;
  /** Extra `shoal agent` flags for every node. */
  extraArgs?: string[];
  /** How long start() waits for every HTTP API to answer. */
  startTimeoutMs?: number;
  /** Extra `shoal agent` flags for node i alone (after extraArgs). */
  argsFor?: (index: number) => string[];
  /** How clients reach the agents (token, TLS): used by client() and the start-up wait. */
  clientOptions?: ApiClientOptions;
}

const logLinesMax = 200;

/** A port free on 127.0.0.1 right now (TCP). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class LocalControlCluster {
  readonly nodes: ControlNodeProc[] = [];
  private root = '';

  constructor(readonly options: LocalControlClusterOptions) {}

  async start(): Promise<void> {
    this.root = await mkdtemp(path.join(os.tmpdir(), 'shoal-ctl-'));
    const ports = new Set<number>();
    const take = async (): Promise<number> => {
      for (;;) {
        const p = await freePort();
        if (!ports.has(p)) {
          ports.add(p);
          return p;
        }
      }
    };
    for (let i = 0; i < this.options.size; i++) {
      this.nodes.push({
        name: `n${i}`,
        gossip: `127.0.0.1:${await take()}`,
        http: `127.0.0.1:${await take()}`,
        dataDir: path.join(this.root, `n${i}`),
        proc: undefined,
        log: [],
      });
    }
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 20_000);
    // The seed first: the others join it at start.
    this.spawn(this.nodes[0]!);
    await this.waitHttp(this.nodes[0]!, deadline);
    for (const n of this.nodes.slice(1)) this.spawn(n);
    for (const n of this.nodes.slice(1)) await this.waitHttp(n, deadline);
  }

  spawn(n: ControlNodeProc): void {
    const seed = this.nodes[0]!;
    const args = [
      this.options.bin,
      'agent',
      '--name', n.name,
      '--bind', n.gossip,
      '--http', n.http,
      '--data-dir', n.dataDir,
      '--preset', 'local',
      '--bootstrap-expect', String(this.options.bootstrapExpect ?? 3),
      // --retry-join: agents restarted together (after SIGKILL) need no order; a plain --join gives up when the seed is not up yet.
      ...(n === seed ? [] : ['--retry-join', seed.gossip]),
      ...(this.options.extraArgs ?? []),
      ...(this.options.argsFor?.(this.nodes.indexOf(n)) ?? []),
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    n.proc = proc;
    let partial = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      n.log.push(...lines);
      if (n.log.length > logLinesMax) n.log.splice(0, n.log.length - logLinesMax);
    });
    n.exitCode = undefined;
    proc.once('exit', (code) => {
      if (n.proc === proc) {
        n.proc = undefined;
        n.exitCode = code;
      }
    });
  }

  private async waitHttp(n: ControlNodeProc, deadline: number): Promise<void> {
    const client = new ConfigClient(n.http, this.options.clientOptions);
    for (;;) {
      try {
        await client.health({ signal: AbortSignal.timeout(1000) });
        return;
      } catch {
        if (Date.now() > deadline || n.proc === undefined) {
          throw new ShoalError(ErrorCode.Timeout, `agent ${n.name} did not start: ${n.log.slice(-5).join(' | ')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  node(name: string): ControlNodeProc {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new ShoalError(ErrorCode.NotFound, `no node ${name}`);
    return n;
  }

  running(): ControlNodeProc[] {
    return this.nodes.filter((n) => n.proc !== undefined);
  }

  client(name: string): ConfigClient {
    return new ConfigClient(this.node(name).http, this.options.clientOptions);
  }

  /** Send a signal and wait for the process to exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.node(name);
    const proc = n.proc;
    if (proc === undefined) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
    n.proc = undefined;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.name, 'SIGKILL')));
    if (this.root !== '') await rm(this.root, { recursive: true, force: true });
  }
}
