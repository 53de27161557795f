/**
 * The control shell: drives one pure ControlCore in the real world.
 *
 *  - a timer calls core.tick(now) every tickMs;
 *  - Raft messages travel over the cluster transport (StreamKind.Raft) to
 *    each member's gossip address (Raft node id = member name); a message
 *    whose `from` is not the name its connection proved is dropped;
 *  - the Ready loop, in the order the core requires: persist the bootstrap
 *    commitment and a new Raft start (control.json, RaftStorage under
 *    dataDir/raft), persist hard state, entries and snapshot (fsync), THEN
 *    send the messages; store local snapshots and compact the WAL; advance;
 *    answer waiting requests from the results; hand events and tags to the
 *    agent;
 *  - client requests (ControlBackend) become core.write/read calls with a
 *    request id; each promise settles exactly once: with the core's answer,
 *    with ERR_ABORTED when its signal fires, or ERR_NOT_RUNNING at close.
 *
 * Dedup: each write carries a request id (client, seq) from a pool of
 * "lanes", one outstanding request per lane as the store's sessions expect.
 * A storage failure is fatal (fail-stop, as etcd): the shell stops and
 * reports it through onFatal.
 *
 * What the shell takes from the world comes in through its options, with
 * the real ones as defaults: the clock, timers (ticks, the Ready loop's
 * defer, deadlines), the disk (control.json and Raft storage under dataDir)
 * and entropy (the core's rng seed, the lanes' client id). The simulator
 * passes virtual-time ones and runs this same shell (src/sim/control-member.ts).
 */
import { randomBytes } from 'node:crypto';
import type { RaftStatusView } from '../api/config-types.js';
import type { CommandBody } from '../api/config-views.js';
import { ControlCore } from '../control/control-core.js';
import type { ControlConfig } from '../control/control-config.js';
import type { ControlEvent, ControlReady, ReadQuery } from '../control/control-types.js';
import type { Command } from '../control/store/commands.js';
import type { ConfigStore } from '../control/store/config-store.js';
import type { RangeResult } from '../control/store/reads.js';
import type { KeyValue, StoreResponse } from '../control/store/types.js';
import type { MemberInfo } from '../gossip/events.js';
import { MemberState } from '../gossip/messages.js';
import type { HardState, Message, Ready } from '../raft/types.js';
import { mustSync, splitReadyMessages } from '../raft/ready-order.js';
import { ReadyLoop } from './ready-loop.js';
import type { ClusterTransport, PeerInfo } from '../cluster/transport.js';
import { StreamKind } from '../cluster/kinds.js';
import type { Address } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { SeededRng, cryptoSeed } from '../util/rng.js';
import { decodeRaftMessage, encodeRaftMessage } from '../wire/raft-codec.js';
import type { ControlBackend, WriteOutcome } from './control-api.js';
import type { ControlMeta } from './control-meta.js';
import { fileControlDisk, type ControlDisk, type ControlRaftStorage } from './control-disk.js';
import { LanePool } from './control-lanes.js';
import { nodeTimers, type CancelTimer, type ShellTimers } from './timers.js';

/** Where the shell's randomness comes from. */
export interface ControlEntropy {
  /** Seed of the core's rng (randomized election timeouts, autopilot choices). */
  seed(): Promise<number>;
  /** A short random tag that makes this run's lane client ids unique (a restart must not reuse old sessions). */
  clientTag(): string;
}

export const cryptoEntropy: ControlEntropy = {
  seed: cryptoSeed,
  clientTag: () => randomBytes(4).toString('hex'),
};

/**
 * Deliberately broken rules, for negative controls only: each one must make
 * a simulation fail (test/sim/control/negative-control.test.ts). Never set
 * outside a test.
 */
export interface ControlShellUnsafe {
  /** Send every Raft message of a Ready (votes and append acks too) before its fsync. */
  sendBeforeFsync?: boolean;
}

/** Idle watches hear the store's revision this often: a resumed watch starts past it, never below the compaction without cause. */
export const watchProgressIntervalMs = 5_000;

export interface ControlShellOptions {
  name: string;
  /** Raft storage goes to dataDir/raft, the cluster id to dataDir/control.json (unless `disk` is given). */
  dataDir?: string;
  /** The durable state (default: files under dataDir, fileControlDisk). */
  disk?: ControlDisk;
  /** Ticks, the Ready loop's defer and deadlines (default: Node's timers). */
  timers?: ShellTimers;
  /** Default: crypto. */
  entropy?: ControlEntropy;
  /** Negative controls only (see ControlShellUnsafe). */
  unsafe?: ControlShellUnsafe;
  /** The cluster transport: Raft rides on it (StreamKind.Raft); the agent owns and closes it. */
  transport: ClusterTransport;
  core: Partial<Omit<ControlConfig, 'name'>>;
  clock: () => number;
  onEvent(e: ControlEvent): void;
  /** The control tags to advertise (cluster id, boot, rev): the agent merges them with its own. */
  onTags(tags: Record<string, string>): void;
  onFatal(error: unknown): void;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: ShoalError): void;
}

export interface ControlShellStats {
  readyLoops: number;
  fsyncs: number;
  messagesSent: number;
  messagesRefused: number;
  messagesMisaddressed: number;
  /** Raft messages whose `from` is not the member their connection belongs to: dropped. */
  messagesForged: number;
  /** Raft frames that did not decode: dropped. */
  messagesGarbled: number;
  requestsAborted: number;
  /** Time spent persisting (fsync) and in whole Ready loops, in ms. */
  persistMs: number;
  readyMs: number;
}

export class ControlShell implements ControlBackend {
  readonly core: ControlCore;
  readonly stats: ControlShellStats = {
    readyLoops: 0,
    fsyncs: 0,
    messagesSent: 0,
    messagesRefused: 0,
    messagesMisaddressed: 0,
    messagesForged: 0,
    messagesGarbled: 0,
    requestsAborted: 0,
    persistMs: 0,
    readyMs: 0,
  };
  private storage: ControlRaftStorage | undefined;
  private meta: ControlMeta;
  private readonly disk: ControlDisk;
  private readonly timers: ShellTimers;
  /** Raft peers' cluster addresses, by member name, from the gossip view. */
  private readonly peerAddrs = new Map<string, Address>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly lanes: LanePool;
  private nextRequest = 0;
  private cancelTick: CancelTimer | undefined;
  private cancelProgress: CancelTimer | undefined;
  private readonly readyLoop: ReadyLoop;
  private stopped = false;
  private persistedHardState: HardState | undefined;
  private latestHardState: HardState | undefined;
  private leaderWaiters: ((leader: string) => void)[] = [];

  private constructor(
    private readonly options: ControlShellOptions,
    disk: ControlDisk,
    core: ControlCore,
    storage: ControlRaftStorage | undefined,
    meta: ControlMeta,
    clientBase: string,
  ) {
    this.disk = disk;
    this.timers = options.timers ?? nodeTimers;
    this.core = core;
    this.storage = storage;
    this.meta = meta;
    this.lanes = new LanePool(clientBase);
    this.readyLoop = new ReadyLoop(
      {
        hasReady: () => !this.stopped && this.core.hasReady(),
        handleNext: () => this.handleReady(this.core.ready()),
        onError: (e) => {
          if (this.stopped) return;
          this.halt(new ShoalError(ErrorCode.StorageIo, 'control plane stopped on a fatal error', { cause: e }));
          this.options.onFatal(e);
        },
      },
      this.timers,
    );
  }

  /** Load durable state, build the core, take Raft frames from the transport. Call start() to begin ticking. */
  static async open(options: ControlShellOptions): Promise<ControlShell> {
    const disk = options.disk ?? fileControlDisk(must(options.dataDir, 'ControlShell needs a dataDir or a disk'));
    const entropy = options.entropy ?? cryptoEntropy;
    const meta = await disk.readMeta();
    let storage: ControlRaftStorage | undefined;
    let raft;
    if (meta.clusterId !== undefined && meta.initialConf !== undefined) {
      storage = await disk.openRaft();
      raft = storage.load(meta.initialConf);
    }
    const seed = await entropy.seed();
    const core = new ControlCore(
      { ...options.core, name: options.name },
      {
        ...(raft === undefined ? {} : { raft }),
        ...(meta.clusterId === undefined ? {} : { clusterId: meta.clusterId }),
        ...(meta.bootCommitment === undefined ? {} : { bootCommitment: meta.bootCommitment }),
        ...(meta.fresh === true ? { fresh: true } : {}),
      },
      new SeededRng(seed),
      options.clock(),
    );
    const shell = new ControlShell(options, disk, core, storage, meta, `${options.name}.${entropy.clientTag()}`);
    shell.persistedHardState = raft?.hardState;
    if (meta.clusterId !== undefined) options.transport.setClusterId(meta.clusterId);
    options.transport.handle(StreamKind.Raft, { message: (peer, payload) => shell.receive(peer, payload) });
    return shell;
  }

  start(): void {
    const tickMs = this.core.config.tickMs;
    this.cancelTick = this.timers.every(tickMs, () => {
      if (this.stopped) return;
      this.core.tick(this.options.clock());
      this.kick();
    });
    // Watches that see nothing matching still learn how far they have got (etcd's progress notify).
    this.cancelProgress = this.timers.every(watchProgressIntervalMs, () => {
      if (!this.stopped) this.core.store.notifyWatchProgress();
    });
    this.kick();
  }

  /** The gossip view changed: peers' Raft addresses and the core's membership. */
  onMembership(members: MemberInfo[]): void {
    if (this.stopped) return;
    this.peerAddrs.clear();
    for (const m of members) {
      if (m.name === this.options.name || m.state === MemberState.Left) continue;
      this.peerAddrs.set(m.name, m.addr);
    }
    this.core.onMembership(members, this.options.clock());
    this.kick();
  }

  store(): ConfigStore {
    return this.core.store;
  }

  status(): RaftStatusView {
    const s = this.core.status();
    return { ...s, shell: { ...this.stats }, ...(this.storage === undefined ? {} : { storage: this.storage.metrics() }) };
  }

  write(command: CommandBody, signal?: AbortSignal): Promise<WriteOutcome> {
    const lane = this.lanes.acquire();
    const full = { ...command, req: lane.req } as Command;
    return this.request<{ revision: number; response: StoreResponse }>((id, now) => this.core.write(id, full, now), signal).finally(() =>
      this.lanes.release(lane),
    );
  }

  read(query: ReadQuery, linearizable: boolean, signal?: AbortSignal): Promise<{ kv?: KeyValue; revision: number } | RangeResult> {
    return this.request((id, now) => this.core.read(id, query, linearizable, now), signal);
  }

  removePeer(name: string, signal?: AbortSignal): Promise<{ removed: string }> {
    return this.request((id) => this.core.removePeer(name, id), signal);
  }

  /**
   * Only the leader can hand leadership over. Resolves when another leader is
   * seen, rejects ERR_NOT_LEADER (naming the leader) elsewhere and ERR_TIMEOUT
   * after two election timeouts.
   */
  async transferLeader(to: string | undefined, signal?: AbortSignal): Promise<{ leader: string }> {
    const s = this.core.status();
    if (s.role !== 'leader') {
      throw new ShoalError(ErrorCode.NotLeader, `${this.options.name} is not the leader${s.leader ? `; the leader is ${s.leader}` : ''}`, {
        details: { leader: s.leader },
      });
    }
    let target = to;
    if (target === undefined) {
      let best = -1;
      for (const v of s.voters) {
        const pr = s.progress[v];
        if (v === this.options.name || pr === undefined || !this.peerAddrs.has(v)) continue;
        if (pr.match > best) {
          best = pr.match;
          target = v;
        }
      }
    }
    if (target === undefined || !s.voters.includes(target) || target === this.options.name) {
      throw new ShoalError(ErrorCode.InvalidArgument, `no voter to transfer leadership to (${to ?? 'none connected'})`, { details: { field: 'to' } });
    }
    const electionMs = (this.core.config.raft.electionTicks ?? 100) * this.core.config.tickMs;
    const changed = new Promise<string>((resolve) => this.leaderWaiters.push(resolve));
    this.core.transferLeadership(target);
    this.kick();
    let cancelTimeout: CancelTimer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      cancelTimeout = this.timers.after(2 * electionMs, () => reject(new ShoalError(ErrorCode.Timeout, `leadership did not move to ${target} within ${2 * electionMs} ms`)));
    });
    try {
      return { leader: await Promise.race([changed, timeout, aborted(signal)]) };
    } finally {
      cancelTimeout?.();
    }
  }

  /**
   * Stop ticking, fail waiting requests, finish the Ready in progress, close
   * links and storage. With handOff, a leader first hands leadership to its
   * most caught-up connected voter (as etcd does on a graceful stop), so the
   * others do not wait out an election timeout; bounded by two election timeouts.
   */
  async close(options: { handOff?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    if (options.handOff && this.core.status().role === 'leader') {
      // Best effort: without a connected voter (or in time) the others elect a leader after a timeout.
      await this.transferLeader(undefined).catch(() => undefined);
      // Let the Ready that carried TimeoutNow reach the wire.
      await this.readyLoop.idle();
    }
    if (this.stopped) return;
    this.halt(new ShoalError(ErrorCode.NotRunning, 'control plane is stopping'));
    await this.readyLoop.idle();
    const hs = this.latestHardState;
    if (this.storage !== undefined && hs !== undefined && hs !== this.persistedHardState) {
      // Keep the newest commit index across a clean restart (best effort: it is volatile state).
      await this.storage.save({ hardState: hs, entries: [] }).catch(() => undefined);
    }
    this.core.store.closeWatches('control plane stopped');
    await this.storage?.close();
  }

  private halt(error: ShoalError): void {
    this.stopped = true;
    this.readyLoop.stop();
    this.cancelTick?.();
    this.cancelProgress?.();
    for (const w of this.waiters.values()) w.reject(error);
    this.waiters.clear();
  }

  private request<T>(submit: (requestId: string, nowMs: number) => void, signal?: AbortSignal): Promise<T> {
    if (this.stopped) return Promise.reject(new ShoalError(ErrorCode.NotRunning, 'control plane is stopped'));
    if (signal?.aborted) return Promise.reject(new ShoalError(ErrorCode.Aborted, 'request aborted before it was sent'));
    const id = `r${++this.nextRequest}`;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.waiters.delete(id)) return;
        this.stats.requestsAborted++;
        reject(new ShoalError(ErrorCode.Aborted, 'request aborted: its outcome is unknown'));
      };
      this.waiters.set(id, {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v as T);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      submit(id, this.options.clock());
      this.kick();
    });
  }

  private receive(peer: PeerInfo, frame: Uint8Array): void {
    if (this.stopped) return;
    const r = decodeRaftMessage(frame);
    if (!r.ok) {
      this.stats.messagesGarbled++;
      return;
    }
    const m = r.msg;
    if (m.from !== peer.name) {
      // A member speaks only for itself: the name its handshake proved.
      this.stats.messagesForged++;
      return;
    }
    if (m.to !== this.options.name) {
      this.stats.messagesMisaddressed++;
      return;
    }
    this.core.stepRaft(m);
    this.kick();
  }

  private kick(): void {
    this.readyLoop.kick();
  }

  private async handleReady(rd: ControlReady): Promise<void> {
    this.stats.readyLoops++;
    const t0 = performance.now();
    try {
      await this.handleReadyInner(rd);
    } finally {
      this.stats.readyMs += performance.now() - t0;
    }
  }

  private async handleReadyInner(rd: ControlReady): Promise<void> {
    if (rd.bootCommitment !== undefined) {
      this.meta = { ...this.meta, bootCommitment: rd.bootCommitment };
      await this.disk.writeMeta(this.meta);
    }
    if (rd.startRaft !== undefined) await this.startRaft(rd.startRaft);
    if (rd.identityConfirmed === true && this.meta.fresh === true) {
      // Durable before this member's first vote: a restart must not make it fresh again, nor forget it was.
      const { fresh: _fresh, ...rest } = this.meta;
      this.meta = rest;
      await this.disk.writeMeta(this.meta);
    }
    if (rd.raft !== undefined) await this.persistAndSend(rd.raft);
    if (this.stopped) return;
    if (rd.compactedSnapshot !== undefined && this.storage !== undefined) {
      await this.storage.saveSnapshot(rd.compactedSnapshot);
      await this.storage.compact(rd.compactedSnapshot.meta.index);
    }
    this.core.advance(rd);
    for (const r of rd.results) {
      const w = this.waiters.get(r.requestId);
      if (w === undefined) continue; // aborted, or internal
      this.waiters.delete(r.requestId);
      if (r.ok) w.resolve(r.value);
      else w.reject(r.error);
    }
    for (const e of rd.events) {
      if (e.type === 'leader-changed' && e.leader !== this.options.name && e.leader !== '') {
        for (const resolve of this.leaderWaiters.splice(0)) resolve(e.leader);
      }
      this.options.onEvent(e);
    }
    if (rd.tags !== undefined) this.options.onTags(rd.tags);
  }

  private async startRaft(start: NonNullable<ControlReady['startRaft']>): Promise<void> {
    if (this.storage === undefined) this.storage = await this.disk.openRaft();
    const init = start.initial;
    await this.storage.save({ hardState: init.hardState, entries: init.entries, ...(init.snapshot === undefined ? {} : { snapshot: init.snapshot }) });
    this.persistedHardState = init.hardState;
    this.options.transport.setClusterId(start.clusterId);
    this.meta = { ...this.meta, clusterId: start.clusterId, initialConf: init.conf, ...(start.fresh ? { fresh: true } : {}) };
    await this.disk.writeMeta(this.meta);
  }

  /** Entries, snapshots and term/vote changes are fsynced before anything but the leader's appends is sent (commit-only changes ride along later). */
  private async persistAndSend(rd: Ready): Promise<void> {
    if (rd.hardState !== undefined) this.latestHardState = rd.hardState;
    let late = rd.messages;
    if (mustSync(rd, this.persistedHardState)) {
      if (this.storage === undefined) throw new ShoalError(ErrorCode.StorageIo, 'raft state to persist but no storage is open');
      // The leader's appends and heartbeats leave before its own fsync (ready-order.ts).
      const split = this.options.unsafe?.sendBeforeFsync === true ? { early: rd.messages, late: [] } : splitReadyMessages(rd, this.persistedHardState);
      for (const m of split.early) this.sendRaft(m);
      late = split.late;
      const latest = this.latestHardState;
      const t0 = performance.now();
      await this.storage.save({ hardState: latest, entries: rd.entries, ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }) });
      this.persistedHardState = latest;
      this.stats.fsyncs++;
      this.stats.persistMs += performance.now() - t0;
    }
    if (this.stopped) return;
    for (const m of late) this.sendRaft(m);
  }

  private sendRaft(m: Message): void {
    const addr = this.peerAddrs.get(m.to);
    if (addr !== undefined && this.options.transport.post(addr, StreamKind.Raft, encodeRaftMessage(m))) this.stats.messagesSent++;
    else this.stats.messagesRefused++;
  }

  /** The cluster address of a Raft peer from the gossip view. */
  addrOf(name: string): Address | undefined {
    return this.peerAddrs.get(name);
  }
}

function must<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new ShoalError(ErrorCode.InvalidConfig, message);
  return value;
}

function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise<never>((_, reject) => {
    signal?.addEventListener('abort', () => reject(new ShoalError(ErrorCode.Aborted, 'aborted')), { once: true });
  });
}
