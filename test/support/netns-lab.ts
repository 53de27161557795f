/**
 * A network-namespace lab: N "hosts" on one private L2 segment, so agents run
 * as an operator deploys them (one per host, every default left alone: gossip
 * on 0.0.0.0:7946, HTTP API on the host's own 127.0.0.1:7947).
 *
 * Topology, all created by `new NetnsLab({ hosts })` and removed by `destroy()`:
 *   - one namespace per host, `shoal-lab-<id>-h<i>`, with `lo` up (127.0.0.1
 *     works inside) and `eth0` at 10.213.<k>.<i+1>/24;
 *   - one veth pair per host: `eth0` inside the namespace, `slv<id>h<i>` on the
 *     bridge in the root namespace;
 *   - one Linux bridge `slb<id>` in the root namespace, with no address (not
 *     even IPv6 link-local) and no route: the /24 exists only inside the lab,
 *     so no lab packet can leave it and nothing outside can reach it.
 * `<id>` is the creating process's pid in base 36, `x`, and a per-process
 * counter in base 36: unique per lab, and `cleanupStale()` can tell a lab of a
 * dead process (remove it) from one of a live process (leave it alone).
 *
 * Needs root and iproute2. `NetnsLab.available()` says why the lab cannot run,
 * so a test skips with the reason instead of failing. Every process the lab
 * starts is killed by `destroy()`; a process 'exit' handler and SIGINT/SIGTERM
 * handlers destroy every lab still open, so a crashed test leaves nothing behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** Pid in base 36 is at most 5 characters (pid_max 4194304 = "2ihbk"). */
const namespacePrefix = 'shoal-lab-';
const bridgePrefix = 'slb';
const vethPrefix = 'slv';
/** Linux interface names: IFNAMSIZ 16 including the NUL. */
const ifNameBytesMax = 15;
/** Hosts get .1 .. .hostsMax in their /24; kept small, a lab is a handful of hosts. */
const hostsMax = 32;
/** Second octet of the lab subnets: 10.213.<k>.0/24. */
const subnetOctet = 213;
/** One `ip` command takes milliseconds; a hung one is a broken environment. */
const ipCommandTimeoutMs = 10_000;
/** Log lines kept per spawned process (stdout and stderr interleaved); older lines are dropped. */
const logLinesMax = 200;
/** A longer line is cut to this many characters. */
const lineCharsMax = 2_000;
/** `exec` keeps at most this many bytes of each of stdout and stderr; the rest is counted, not kept. */
const execOutputBytesMax = 1 << 20;
const execTimeoutMsDefault = 10_000;
const killTimeoutMsDefault = 5_000;

const namespacePattern = /^shoal-lab-([0-9a-z]+)x([0-9a-z]+)-h(\d+)$/;
const linkPattern = /^sl[bv]([0-9a-z]+)x([0-9a-z]+)(h\d+)?$/;

export interface LabOptions {
  /** Number of hosts, 1..32. */
  hosts: number;
}

export interface LabHost {
  /** 0-based. */
  index: number;
  /** The namespace name. */
  ns: string;
  /** The host's address on the lab segment (no prefix length). */
  ip: string;
  /** The root-namespace end of the host's veth pair (on the bridge). */
  veth: string;
}

export interface SpawnOptions {
  /** A label for diagnostics (default: the first argument). */
  label?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ExecOptions {
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  /** Exit code, or null when killed by a signal (including the timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running process inside a host, with its last log lines. */
export class LabProcess {
  /** Last lines of stdout and stderr ("out| " / "err| "), at most logLinesMax. */
  readonly lines: string[] = [];
  linesDropped = 0;
  exitStatus: ExitStatus | undefined;
  /** Set by NetnsLab.kill / destroy: an exit after this was asked for. */
  killRequested = false;
  readonly exited: Promise<ExitStatus>;

  constructor(
    readonly host: LabHost,
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('error', (e) => {
        this.push('lab', `spawn error: ${e.message}`);
        if (this.exitStatus === undefined) {
          this.exitStatus = { code: null, signal: null };
          resolve(this.exitStatus);
        }
      });
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        this.push('lab', `exited code=${code} signal=${signal}`);
        resolve(this.exitStatus);
      });
    });
    if (child.stdout) splitLines(child.stdout, (l) => this.push('out', l));
    if (child.stderr) splitLines(child.stderr, (l) => this.push('err', l));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** The last n log lines, one per line, for a failure message. */
  tail(n = 10): string {
    return this.lines.slice(-n).join('\n');
  }

  private push(stream: string, line: string): void {
    this.lines.push(`${stream}| ${line.length > lineCharsMax ? `${line.slice(0, lineCharsMax)}…` : line}`);
    if (this.lines.length > logLinesMax) {
      this.lines.shift();
      this.linesDropped++;
    }
  }
}

/** Calls onLine for every complete line; a partial line longer than lineCharsMax is flushed as is. */
function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      onLine(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
    if (partial.length > lineCharsMax) {
      onLine(partial);
      partial = '';
    }
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
  });
}

/** Run `ip ...` synchronously; throws with stderr on failure. */
function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', timeout: ipCommandTimeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`, { cause: e });
  }
}

/** Run `ip ...`, ignore failure (teardown of something that may already be gone). */
function ipQuiet(args: string[]): boolean {
  try {
    execFileSync('ip', args, { timeout: ipCommandTimeoutMs, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function listNamespaces(): string[] {
  let out: string;
  try {
    out = ip(['netns', 'list']);
  } catch {
    return [];
  }
  // "name (id: 3)" or "name"
  return out
    .split('\n')
    .map((l) => l.trim().split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

function listLinks(): string[] {
  // "7: slvabcx0h1@if2: <BROADCAST,..."
  let out: string;
  try {
    out = ip(['-o', 'link', 'show']);
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((n) => n !== '');
}

function pidsIn(ns: string): number[] {
  try {
    return ip(['netns', 'pids', ns])
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

function killQuiet(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Labs not yet destroyed, for the exit and signal handlers. */
const open = new Set<NetnsLab>();
let handlersInstalled = false;
let labCounter = 0;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const lab of [...open]) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      for (const lab of [...open]) lab.destroySync();
      // Default behaviour once cleaned up: die of the same signal, unless someone else also handles it.
      process.off(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

export class NetnsLab {
  readonly id: string;
  readonly bridge: string;
  /** Third octet of 10.213.<k>.0/24. */
  readonly subnet: number;
  readonly hosts: LabHost[];
  private readonly procs: LabProcess[] = [];
  private readonly execs = new Set<ChildProcess>();
  private destroyed = false;

  /**
   * Why the lab cannot run here, or undefined when it can. Probes by creating
   * (and removing) a namespace, a bridge and a veth pair.
   */
  static available(): string | undefined {
    if (process.platform !== 'linux') return `network namespaces need Linux (platform ${process.platform})`;
    if (process.getuid?.() !== 0) return `network namespaces need root (uid ${process.getuid?.()})`;
    try {
      execFileSync('ip', ['-V'], { timeout: ipCommandTimeoutMs, stdio: 'ignore' });
    } catch (e) {
      return `iproute2 \`ip\` is not usable: ${(e as Error).message}`;
    }
    const probe = `${process.pid.toString(36)}x${(labCounter++).toString(36)}`;
    const ns = `${namespacePrefix}${probe}-h0`;
    const bridge = `${bridgePrefix}${probe}`;
    const veth = `${vethPrefix}${probe}h0`;
    try {
      ip(['netns', 'add', ns]);
      ip(['link', 'add', bridge, 'type', 'bridge']);
      ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['link', 'set', veth, 'master', bridge]);
      return undefined;
    } catch (e) {
      return `cannot build a namespace lab: ${(e as Error).message}`;
    } finally {
      ipQuiet(['link', 'del', veth]);
      ipQuiet(['link', 'del', bridge]);
      ipQuiet(['netns', 'del', ns]);
    }
  }

  /**
   * Remove namespaces, veths and bridges of this naming scheme whose creating
   * process is gone (a run killed before its teardown). Labs of live processes,
   * including this one, are left alone. Returns what was removed.
   */
  static cleanupStale(): string[] {
    const removed: string[] = [];
    const stale = (pid36: string): boolean => {
      const pid = parseInt(pid36, 36);
      return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
    };
    for (const ns of listNamespaces()) {
      const m = namespacePattern.exec(ns);
      if (m === null || !stale(m[1]!)) continue;
      for (const pid of pidsIn(ns)) killQuiet(pid, 'SIGKILL');
      if (ipQuiet(['netns', 'del', ns])) removed.push(ns);
    }
    // Veths first (a bridge is removed with its ports attached, but be explicit), then bridges.
    const links = listLinks().filter((l) => {
      const m = linkPattern.exec(l);
      return m !== null && stale(m[1]!);
    });
    for (const l of links.sort((a, b) => (a.startsWith(vethPrefix) === b.startsWith(vethPrefix) ? 0 : a.startsWith(vethPrefix) ? -1 : 1))) {
      if (ipQuiet(['link', 'del', l])) removed.push(l);
    }
    return removed;
  }

  constructor(options: LabOptions) {
    if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > hostsMax) {
      throw new RangeError(`hosts must be an integer in 1..${hostsMax}, got ${options.hosts}`);
    }
    const n = labCounter++;
    this.id = `${process.pid.toString(36)}x${n.toString(36)}`;
    this.bridge = `${bridgePrefix}${this.id}`;
    // Any value works (the bridge isolates the lab); varying it keeps two labs' addresses apart in logs.
    this.subnet = ((process.pid + n) % 254) + 1;
    this.hosts = Array.from({ length: options.hosts }, (_, index) => ({
      index,
      ns: `${namespacePrefix}${this.id}-h${index}`,
      ip: `10.${subnetOctet}.${this.subnet}.${index + 1}`,
      veth: `${vethPrefix}${this.id}h${index}`,
    }));
    for (const name of [this.bridge, ...this.hosts.map((h) => h.veth)]) {
      if (Buffer.byteLength(name) > ifNameBytesMax) throw new Error(`interface name ${name} longer than ${ifNameBytesMax} bytes`);
    }
    installHandlers();
    open.add(this);
    try {
      ip(['link', 'add', this.bridge, 'type', 'bridge']);
      // No address of any kind on the root side: no IPv6 link-local either.
      ip(['link', 'set', this.bridge, 'addrgenmode', 'none']);
      ip(['link', 'set', this.bridge, 'up']);
      for (const h of this.hosts) {
        ip(['netns', 'add', h.ns]);
        ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
        ip(['link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
        ip(['link', 'set', h.veth, 'addrgenmode', 'none']);
        ip(['link', 'set', h.veth, 'master', this.bridge]);
        ip(['link', 'set', h.veth, 'up']);
        ip(['-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
        ip(['-n', h.ns, 'link', 'set', 'eth0', 'up']);
      }
    } catch (e) {
      this.destroySync();
      throw e;
    }
  }

  host(index: number): LabHost {
    const h = this.hosts[index];
    if (h === undefined) throw new RangeError(`no host ${index} in a lab of ${this.hosts.length}`);
    return h;
  }

  ip(index: number): string {
    return this.host(index).ip;
  }

  /** Start a long-running command inside a host: `ip netns exec NS args...`. */
  spawn(index: number, args: string[], options: SpawnOptions = {}): LabProcess {
    this.assertOpen();
    const h = this.host(index);
    if (args.length === 0) throw new Error('spawn needs a command');
    const child = spawn('ip', ['netns', 'exec', h.ns, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new LabProcess(h, options.label ?? args[0]!, child);
    this.procs.push(p);
    return p;
  }

  /** Processes spawned on a host, oldest first. */
  processes(index: number): LabProcess[] {
    return this.procs.filter((p) => p.host.index === index);
  }

  /**
   * Signal every running process spawned on a host and wait until they exit.
   * Rejects, naming the host and its last log lines, if one outlives timeoutMs.
   */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = killTimeoutMsDefault): Promise<void> {
    const running = this.processes(index).filter((p) => p.running);
    for (const p of running) {
      p.killRequested = true;
      p.child.kill(signal);
    }
    await Promise.all(
      running.map(async (p) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
        const r = await Promise.race([p.exited, timeout]);
        clearTimeout(timer);
        if (r === 'timeout') throw new Error(`host ${index} (${p.host.ns}) ${p.label} pid ${p.pid} still running ${timeoutMs} ms after ${signal}:\n${p.tail()}`);
      }),
    );
  }

  /** Run a command inside a host to completion, bounded by a timeout (SIGKILL on expiry). */
  exec(index: number, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.assertOpen();
    const h = this.host(index);
    const timeoutMs = options.timeoutMs ?? execTimeoutMsDefault;
    const started = performance.now();
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', h.ns, ...args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.execs.add(child);
      const out = collect(child.stdout!);
      const err = collect(child.stderr!);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.execs.delete(child);
        resolve({
          code,
          signal,
          stdout: out.text(),
          stderr: spawnError === undefined ? err.text() : `${err.text()}spawn error: ${spawnError.message}`,
          timedOut,
          durationMs: Math.round(performance.now() - started),
        });
      };
      child.once('error', (e) => finish(null, null, e));
      // 'close', not 'exit': stdout and stderr are complete.
      child.once('close', (code, signal) => finish(code, signal));
    });
  }

  /** Names (namespaces, links) of this lab still present; [] after destroy(). */
  leftovers(): string[] {
    const ns = new Set(this.hosts.map((h) => h.ns));
    const links = new Set([this.bridge, ...this.hosts.map((h) => h.veth)]);
    return [...listNamespaces().filter((n) => ns.has(n)), ...listLinks().filter((l) => links.has(l))];
  }

  /** Kill every process the lab started, wait (bounded) for them, then remove the topology. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    const running = this.procs.filter((p) => p.running);
    for (const p of running) {
      p.killRequested = true;
      p.child.kill('SIGKILL');
    }
    for (const c of this.execs) c.kill('SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running.map((p) => p.exited)), new Promise((r) => (timer = setTimeout(r, killTimeoutMsDefault)))]);
    clearTimeout(timer);
    this.destroySync();
  }

  /**
   * The synchronous teardown, safe in a process 'exit' handler and after a
   * partial construction: SIGKILL every process started here and anything
   * else still inside the lab's namespaces, delete the namespaces, the root
   * ends of the veths (deleting one end deletes the pair) and the bridge.
   */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    open.delete(this);
    for (const p of this.procs) {
      if (p.running) {
        p.killRequested = true;
        p.child.kill('SIGKILL');
      }
    }
    for (const c of this.execs) c.kill('SIGKILL');
    const present = new Set(listNamespaces());
    for (const h of this.hosts) {
      if (!present.has(h.ns)) continue;
      // Anything left inside (a grandchild of a spawned command) was started by this lab too.
      for (const pid of pidsIn(h.ns)) killQuiet(pid, 'SIGKILL');
      ipQuiet(['netns', 'del', h.ns]);
    }
    const links = new Set(listLinks());
    for (const h of this.hosts) if (links.has(h.veth)) ipQuiet(['link', 'del', h.veth]);
    if (links.has(this.bridge)) ipQuiet(['link', 'del', this.bridge]);
  }

  private assertOpen(): void {
    if (this.destroyed) throw new Error(`lab ${this.id} is destroyed`);
  }
}

function collect(stream: NodeJS.ReadableStream): { text: () => string } {
  const chunks: Buffer[] = [];
  let kept = 0;
  let dropped = 0;
  stream.on('data', (chunk: Buffer) => {
    const room = execOutputBytesMax - kept;
    if (room <= 0) {
      dropped += chunk.length;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    chunks.push(part);
    kept += part.length;
    dropped += chunk.length - part.length;
  });
  return { text: () => Buffer.concat(chunks).toString('utf8') + (dropped > 0 ? `\n[${dropped} bytes dropped]` : '') };
}
