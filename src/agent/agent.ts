import { mkdir } from 'node:fs/promises';
import { GossipCore } from '../gossip/core.js';
import type { MemberEvent, MemberInfo } from '../gossip/events.js';
import { MessageType, memberStateName, MemberState, type Tags } from '../gossip/messages.js';
import { HttpApiServer } from '../api/http-server.js';
import type { HealthView, MemberView, MembershipService } from '../api/types.js';
import { ClusterNetTransport } from '../cluster/net-transport.js';
import type { ClusterTransportStats } from '../cluster/stats.js';
import { StreamKind } from '../cluster/kinds.js';
import { TAG_NODE_ID, type KnownMember } from '../cluster/identity.js';
import { RefuseReason } from '../cluster/kinds.js';
import { chooseAdvertiseHost } from '../cluster/advertise.js';
import { WireKind, peekWireKind } from '../wire/kind.js';
import { formatHostPort, parseHostPort, type Address, type HostPort } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { SeededRng, cryptoSeed } from '../util/rng.js';
import { AgentDefaults, buildGossipConfig, validateAgentConfig, validateTags, validateUserTags, type AgentConfig, type ResolvedAgentConfig } from './config.js';
import { GossipShell, monotonicMs, type GossipShellStats } from './gossip-shell.js';
import { JoinTracker, resolveSeed } from './join.js';
import { SnapshotLimits, readSnapshot, writeSnapshot } from './snapshot.js';
import { TypedEmitter } from './typed-emitter.js';
import type { WatchEventView } from '../api/config-types.js';
import { ConfigFollower } from './config-follower.js';
import { ControlService } from './control-service.js';
import { ControlRpcClient, ForwardingControlApi } from './control-rpc-client.js';
import { serveControlRpc } from './control-rpc.js';
import { loadNodeId } from './node-id.js';
import { defaultDataDir, lockDataDir, type DataDirLock } from './data-dir.js';
import { KeyringManager, type KeyringReport, type KeyringRequest } from './keyring-manager.js';
import { readKeyringFile, writeKeyringFile } from './keyring-file.js';
import type { SecurityOptions } from '../cluster/security.js';
import { Keyring } from '../wire/crypto.js';
import { AgentConfigApi } from './control-facade.js';
import { ControlShell } from './control-shell.js';
import { eventView } from '../api/config-views.js';
import { isSystemKey } from '../api/system-keys.js';
import { TAG_VOTER } from '../control/autopilot/tags.js';

export interface UserEvent {
  name: string;
  payload: Uint8Array;
  ltime: number;
}

/** Events of an Agent, each with its argument list. */
export interface AgentEvents {
  'member-join': [MemberView];
  'member-update': [MemberView];
  'member-suspect': [MemberView];
  'member-alive': [MemberView];
  'member-failed': [MemberView];
  'member-leave': [MemberView];
  'member-reaped': [MemberView];
  'name-conflict': [MemberView];
  'user-event': [UserEvent];
  /** The control plane's Raft leader changed (leader '' while none is known). */
  'leader-changed': [{ leader: string; term: number }];
  /** Committed config changes of one or more revisions, in order (every member of the Raft group sees each once). */
  'config-changed': [{ revision: number; changes: WatchEventView[] }];
  /** The control plane stopped on a fatal error (storage I/O): health fails, then the agent leaves gossip and stops. */
  'control-failed': [Error];
  /** A listener of another event threw: caught and reported here, it never halts a plane. */
  'listener-error': [{ event: string; error: unknown }];
  /** The agent has stopped (after stop(), or after a leave through the HTTP API). */
  stopped: [];
}

export interface AgentStats {
  transport: ClusterTransportStats;
  gossip: GossipCore['stats'];
  shell: GossipShellStats;
  /** Datagrams whose first byte names no plane this agent runs. */
  packetsUnrouted: number;
  /** Member snapshot writes that failed (dataDir unwritable). */
  snapshotErrors: number;
  /** Background rejoins from the snapshot that reached no one. */
  rejoinFailures: number;
}

export function toMemberView(m: MemberInfo): MemberView {
  return { name: m.name, addr: m.addr, state: memberStateName(m.state), incarnation: m.incarnation, tags: { ...m.tags } };
}

type Phase = 'running' | 'leaving' | 'stopping' | 'stopped';

/**
 * A shoal agent: membership over UDP/TCP, an optional HTTP API. Start it with
 * Agent.start(config); stop it with stop({ leave: true }).
 */
export class Agent extends TypedEmitter<AgentEvents> implements MembershipService {
  readonly name: string;
  /** The validated configuration this agent runs with. */
  readonly settings: ResolvedAgentConfig;
  /** The replicated config store (get, put, delete, txn, watch, lease); see control-facade.ts. */
  readonly config: AgentConfigApi;
  private control: ControlShell | undefined;
  private controlApi: ControlService | undefined;
  private follower: ConfigFollower | undefined;
  private controlTags: Record<string, string> = {};
  /** Tags the agent itself sets: the node id, and voter=false where configured. */
  private fixedTags: Record<string, string>;
  private membershipScheduled = false;
  private membershipTimer: NodeJS.Timeout | undefined;
  /** Held from start to stop: no other agent may use this data directory meanwhile. */
  private dataDirLock: DataDirLock | undefined;
  /** Why a plane halted (health then fails and the agent stops), or undefined. */
  private failure: string | undefined;
  /** Listeners of the agent's events that threw (each also reported as 'listener-error'). */
  listenerErrors = 0;
  /** Control tag updates refused (user tags plus control tags over tagsMaxBytes). */
  controlTagErrors = 0;
  private readonly transport: ClusterNetTransport;
  /** The random id of this member's data directory (node-id.ts), in every handshake and in the shoal.id tag. */
  readonly nodeId: string;
  /** Things an operator should know, found at start (e.g. a keyring file that overrides --encrypt). */
  readonly warnings: string[] = [];
  /** Gossip keys across the cluster: list, install, use, remove, verify (keyring-manager.ts). */
  readonly keyring: {
    list(options?: { signal?: AbortSignal }): Promise<KeyringReport>;
    install(key: string, options?: { signal?: AbortSignal }): Promise<KeyringReport>;
    use(key: string, options?: { signal?: AbortSignal }): Promise<KeyringReport>;
    remove(key: string, options?: { signal?: AbortSignal }): Promise<KeyringReport>;
    verify(switches: { incoming?: boolean; outgoing?: boolean }, options?: { signal?: AbortSignal }): Promise<KeyringReport>;
  };
  private readonly keyrings: KeyringManager;
  private readonly shell: GossipShell;
  private http: HttpApiServer | undefined;
  private phase: Phase = 'running';
  private readonly joins = new Set<JoinTracker>();
  private readonly startedMs: number;
  private stopPromise: Promise<void> | undefined;
  private packetsUnrouted = 0;
  private snapshotErrors = 0;
  private rejoinFailures = 0;
  /** Background retry-join rounds that reached no seed (the next one follows after a backoff). */
  retryJoinFailures = 0;
  private retryJoinTimer: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private snapshotChain: Promise<void> = Promise.resolve();

  private constructor(config: ResolvedAgentConfig, transport: ClusterNetTransport, rngSeed: number) {
    super();
    this.settings = config;
    this.config = new AgentConfigApi(() => this.controlApi);
    this.name = config.name;
    this.transport = transport;
    this.nodeId = transport.identity.nodeId;
    this.keyrings = new KeyringManager(transport, config.name, config.dataDir, () => this.shell.core.members());
    const ask = (request: KeyringRequest, signal?: AbortSignal): Promise<KeyringReport> => {
      this.assertRunning();
      return this.keyrings.cluster(request, signal);
    };
    this.keyring = {
      list: (o = {}) => ask({ op: 'list' }, o.signal),
      install: (key, o = {}) => ask({ op: 'install', key }, o.signal),
      use: (key, o = {}) => ask({ op: 'use', key }, o.signal),
      remove: (key, o = {}) => ask({ op: 'remove', key }, o.signal),
      verify: (switches, o = {}) => ask({ op: 'verify', ...switches }, o.signal),
    };
    this.fixedTags = { [TAG_NODE_ID]: this.nodeId };
    if (config.control?.voter === false) this.fixedTags[TAG_VOTER] = 'false';
    const gossipConfig = buildGossipConfig({ ...config, tags: validateTags('tags', { ...config.tags, ...this.fixedTags }) }, transport.localAddr);
    const core = new GossipCore(gossipConfig, new SeededRng(rngSeed), monotonicMs());
    const shell = new GossipShell({
      core,
      transport: {
        sendPacket: (to, data) => transport.sendPacket(to, data),
        sendFrame: (to, data) => transport.send(to, StreamKind.Gossip, data),
      },
      clock: monotonicMs,
      onEvent: (e) => this.onGossipEvent(e),
      onFrameFailed: (to, msg) => {
        if (msg.type === MessageType.PushPull && msg.join) this.onJoinFrameFailed(to);
      },
    });
    this.shell = shell;
    this.startedMs = shell.now();
    transport.onPacket((from, data) => {
      const kind = peekWireKind(data);
      if (kind === WireKind.GossipPacket || kind === undefined) shell.handlePacket(from, data);
      else this.packetsUnrouted++;
    });
    // A stream's sender is the member its handshake proved, at the address it advertises.
    transport.handle(StreamKind.Gossip, { message: (peer, data) => shell.handleFrame(peer.addr, data) });
  }

  /**
   * A peer presented a live member's name with another node id (a member
   * restarted with a wiped data directory, or one that took its name): suspect
   * the identity we know. If the member under that name is alive it refutes
   * with its own tags, so its new node id spreads and its streams are accepted
   * from then on; if nobody answers for it, it is declared dead as usual.
   */
  private suspectIdentity(name: string): void {
    const m = this.shell.core.member(name);
    if (m === undefined || m.state !== MemberState.Alive || this.phase !== 'running') return;
    this.shell.act((core, nowMs) => core.step(this.addr, { type: MessageType.Suspect, incarnation: m.incarnation, name, from: this.name }, 'packet', nowMs));
  }

  /** The member table's view of a name, for the transport's handshake check. */
  private knownMember(name: string): KnownMember | undefined {
    const m = this.shell.core.member(name);
    if (m === undefined) return undefined;
    return { nodeId: m.tags[TAG_NODE_ID] ?? '', live: m.state === MemberState.Alive || m.state === MemberState.Suspect };
  }

  /** Validate the config, bind the sockets, start the HTTP API if configured, and join the seeds. */
  static async start(config: AgentConfig = {}): Promise<Agent> {
    const resolved = validateAgentConfig(config);
    // The control plane's state must survive restarts: never a temporary directory (data-dir.ts).
    if (resolved.dataDir === undefined && resolved.control !== undefined) resolved.dataDir = defaultDataDir(resolved.name);
    let lock: DataDirLock | undefined;
    if (resolved.dataDir !== undefined) {
      try {
        await mkdir(resolved.dataDir, { recursive: true });
      } catch (e) {
        throw new ShoalError(ErrorCode.InvalidConfig, `invalid config: dataDir "${resolved.dataDir}" cannot be created: ${(e as Error).message}`, { cause: e, details: { field: 'dataDir' } });
      }
      lock = await lockDataDir(resolved.dataDir);
    }
    try {
      return await Agent.startLocked(resolved, lock);
    } catch (e) {
      await lock?.release();
      throw e;
    }
  }

  private static async startLocked(resolved: ResolvedAgentConfig, lock: DataDirLock | undefined): Promise<Agent> {
    const nodeId = await loadNodeId(resolved.dataDir);
    const seeds: HostPort[] = [];
    for (const a of resolved.join) {
      const r = await resolveSeed(a).catch(() => undefined);
      if (r !== undefined) seeds.push(parseHostPort(r));
    }
    const advertised = await chooseAdvertiseHost(resolved.bind, resolved.advertise, seeds);
    const { security, warnings } = await loadSecurity(resolved);
    let agentRef: Agent | undefined;
    const transport = await ClusterNetTransport.listen({
      bind: resolved.bind,
      identity: { clusterLabel: resolved.clusterLabel, clusterId: '', name: resolved.name, nodeId },
      advertise: (port) => formatHostPort({ host: advertised.host, port: resolved.advertise?.port ?? port }),
      known: (name) => agentRef?.knownMember(name),
      security,
      ...(resolved.tls === undefined ? {} : { tls: resolved.tls }),
      onRefused: (peer, reason) => {
        if (reason === RefuseReason.NodeId) agentRef?.suspectIdentity(peer.name);
      },
    });
    const seed = resolved.rngSeed ?? (await cryptoSeed());
    let agent: Agent;
    try {
      agent = new Agent(resolved, transport, seed);
      agentRef = agent;
      agent.dataDirLock = lock;
      agent.warnings.push(...warnings);
    } catch (e) {
      await transport.close();
      throw e;
    }
    agent.shell.start();
    try {
      await agent.startControl();
      if (resolved.http !== undefined) {
        agent.http = await HttpApiServer.listen({
          listen: resolved.http,
          service: agent,
          ...(agent.controlApi === undefined ? {} : { control: agent.controlApi }),
          onLeft: () => void agent.stop({ leave: false }),
          keyring: agent.keyring,
          ...(resolved.apiToken === undefined ? {} : { token: resolved.apiToken }),
          ...(resolved.apiTlsCert === undefined || resolved.apiTlsKey === undefined ? {} : { tls: { certFile: resolved.apiTlsCert, keyFile: resolved.apiTlsKey } }),
        });
      }
      if (agent.control !== undefined) agent.announceControl();
      if (resolved.join.length > 0) await agent.join(resolved.join);
      if (resolved.retryJoin.length > 0) agent.retryJoinInBackground(resolved.retryJoin);
      if (resolved.dataDir !== undefined) await agent.startSnapshots(resolved.dataDir);
    } catch (e) {
      await agent.stop({ leave: false });
      throw e;
    }
    return agent;
  }

  /** Traffic between members is sealed with a gossip key (a keyring is in force, whatever the verify switches). */
  get encrypted(): boolean {
    return this.transport.security.enabled;
  }

  /** TCP streams between members run under mutual TLS. */
  get tlsEnabled(): boolean {
    return this.transport.tlsEnabled;
  }

  /** Read the cluster TLS certificate files again (SIGHUP); false without TLS. Rejects, keeping the old ones, when a file is bad. */
  async reloadTls(): Promise<boolean> {
    if (!this.transport.tlsEnabled) return false;
    await this.transport.reloadTls();
    return true;
  }

  /** Why a plane halted (the agent then stopped itself), or undefined. */
  get failureReason(): string | undefined {
    return this.failure;
  }

  /** The address peers reach this agent at. */
  get addr(): Address {
    return this.transport.localAddr;
  }

  /** The bound HTTP API address, if any. */
  get httpAddress(): Address | undefined {
    return this.http?.address;
  }

  get running(): boolean {
    return this.phase === 'running' || this.phase === 'leaving';
  }

  members(): MemberView[] {
    return this.shell.core.members().map(toMemberView);
  }

  localMember(): MemberView {
    return toMemberView(this.shell.core.localMember());
  }

  numAlive(): number {
    return this.shell.core.numAlive();
  }

  health(): HealthView {
    const members = this.shell.core.members();
    return {
      status: this.failure !== undefined ? 'failed' : this.phase === 'running' ? 'ok' : 'leaving',
      ...(this.failure === undefined ? {} : { reason: this.failure }),
      name: this.name,
      addr: this.addr,
      membersAlive: members.filter((m) => m.state === MemberState.Alive).length,
      membersTotal: members.length,
      localHealth: this.shell.core.localHealth(),
      // Replicated store alarms (NOSPACE: writes that grow the store are refused until space is back).
      alarms: this.control === undefined ? [] : [...this.control.core.status().alarms],
      uptimeMs: this.shell.now() - this.startedMs,
    };
  }

  get stats(): AgentStats {
    return {
      transport: this.transport.stats,
      gossip: this.shell.core.stats,
      shell: this.shell.stats,
      packetsUnrouted: this.packetsUnrouted,
      snapshotErrors: this.snapshotErrors,
      rejoinFailures: this.rejoinFailures,
    };
  }

  /**
   * Join a cluster through one or more seeds. Resolves with the number of seeds
   * that answered; rejects ERR_JOIN_FAILED if none did within timeoutMs.
   */
  async join(addrs: Address[], options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<number> {
    this.assertRunning();
    if (!Array.isArray(addrs) || addrs.length === 0) throw new ShoalError(ErrorCode.InvalidArgument, 'join needs at least one address');
    const resolved = await Promise.all(addrs.map((a) => resolveSeed(a)));
    this.assertRunning();
    const seeds = [...new Set(resolved.filter((a): a is Address => a !== undefined && a !== this.addr))];
    if (seeds.length === 0) {
      throw new ShoalError(ErrorCode.JoinFailed, `join failed: none of ${addrs.join(', ')} resolves to another node`);
    }
    const tracker = new JoinTracker(seeds, options.timeoutMs ?? this.settings.joinTimeoutMs, options.signal, (t) => this.joins.delete(t));
    this.joins.add(tracker);
    this.shell.act((core, nowMs) => core.join(seeds, nowMs));
    return tracker.promise;
  }

  /** Replace this node's tags; spreads by gossip with a new incarnation. */
  setTags(tags: Record<string, string>): void {
    this.assertRunning();
    const checked: Tags = validateUserTags('tags', tags);
    this.settings.tags = { ...checked };
    this.applyTags();
  }

  /** The control plane's Raft status, or undefined without a control plane. */
  raftStatus(): ReturnType<ControlShell['status']> | undefined {
    return this.control?.status();
  }

  /** Open the control shell (binds the Raft port); ticking starts in announceControl(). */
  private async startControl(): Promise<void> {
    const opts = this.settings.control;
    if (opts === undefined) return;
    const dataDir = this.settings.dataDir;
    // Agent.start gives every control plane a data directory.
    if (dataDir === undefined) throw new ShoalError(ErrorCode.InvalidConfig, 'invalid config: the control plane needs a dataDir', { details: { field: 'dataDir' } });
    const control = await ControlShell.open({
      name: this.name,
      dataDir,
      transport: this.transport,
      core: {
        nodeId: this.nodeId,
        bootstrapExpect: opts.bootstrapExpect,
        eligible: opts.voter,
        autopilot: opts.autopilot,
        ...(opts.tickMs === undefined ? {} : { tickMs: opts.tickMs }),
        ...(opts.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: opts.requestTimeoutMs }),
      },
      clock: monotonicMs,
      onEvent: (e) => {
        if (e.type === 'leader-changed') this.emit('leader-changed', { leader: e.leader, term: e.term });
        else this.emitConfigChanged(e.revision, e.changes.map(eventView));
      },
      onTags: (tags) => {
        this.controlTags = tags;
        if (this.phase !== 'running' && this.phase !== 'leaving') return;
        try {
          this.applyTags();
        } catch {
          // User tags plus control tags over the size limit: keep the old tags, count it.
          this.controlTagErrors++;
        }
      },
      onFatal: (e) => this.failPlane('control', e),
    });
    this.control = control;
    if (opts.quotaBytes !== undefined) control.core.setQuotaBytes(opts.quotaBytes);
    // A forwarded request waits for the upstream's own answer (within its request timeout) plus the round trip.
    const rpcTimeoutMs = control.core.config.requestTimeoutMs + 1_000;
    const upstream = new ControlRpcClient(this.transport, () => follower.upstreamAddr(), rpcTimeoutMs);
    const follower = new ConfigFollower(this.name, () => upstream, (revision, changes) => this.emitConfigChanged(revision, changes));
    this.follower = follower;
    const service = new ControlService(control, {
      name: this.name,
      isRaftMember: () => {
        // Asked per call: read the Raft configuration only, not the whole control status.
        const raft = control.core.raftStatus();
        if (raft === undefined) return control.core.status().clusterId === '';
        return raft.voters.includes(this.name) || raft.learners.includes(this.name);
      },
      leader: () => control.core.raftStatus()?.leader ?? '',
      forward: new ForwardingControlApi(upstream, follower, () => control.status()),
      toMember: (member) => {
        const addr = control.addrOf(member);
        return addr === undefined ? undefined : new ControlRpcClient(this.transport, () => addr, rpcTimeoutMs);
      },
    });
    this.controlApi = service;
    serveControlRpc(this.transport, { name: this.name, local: () => service.localOnly() });
  }

  /**
   * Changes to users' keys only: the control plane's own records under the
   * reserved prefix (identities, tokens) are not the embedder's config. A
   * re-read notice (no itemized changes) always goes out.
   */
  private emitConfigChanged(revision: number, all: WatchEventView[]): void {
    const changes = all.filter((c) => !isSystemKey(c.kv.key));
    if (changes.length > 0 || all.length === 0) this.emit('config-changed', { revision, changes });
  }

  /** Start the control plane's clock and feed it the gossip view. */
  private announceControl(): void {
    const control = this.control!;
    control.start();
    this.membershipTimer = setInterval(() => this.scheduleMembership(), 1000);
    this.membershipTimer.unref();
  }

  /** User tags, then the agent's own (node id, voter), then the control core's (cluster id, boot, rev). */
  private applyTags(): void {
    const tags: Tags = validateTags('tags', { ...this.settings.tags, ...this.fixedTags, ...this.controlTags });
    this.shell.act((core, nowMs) => core.setTags(tags, nowMs));
    this.scheduleMembership();
  }

  /** Give the control plane the gossip view, once per turn of the event loop. */
  private scheduleMembership(): void {
    if (this.control === undefined || this.membershipScheduled) return;
    this.membershipScheduled = true;
    setImmediate(() => {
      this.membershipScheduled = false;
      if (this.phase === 'stopping' || this.phase === 'stopped') return;
      const members = this.shell.core.members();
      this.control?.onMembership(members);
      this.follower?.onMembership(members);
      // Outside the Raft group the config is followed by watch; inside, the local replica has it.
      if (this.controlApi?.servesLocally()) void this.follower?.stop();
      else this.follower?.start();
    });
  }

  /**
   * A plane halted on a fatal error (the control plane on a storage error, as
   * etcd does): health answers 503 with the reason, the error is reported,
   * then the agent leaves gossip and stops, so a supervisor restarts it rather
   * than a member that looks alive serving nothing.
   */
  private failPlane(plane: string, e: unknown): void {
    if (this.failure !== undefined) return;
    const error = e instanceof Error ? e : new Error(String(e));
    const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? `: ${error.cause.message}` : '';
    this.failure = `${plane} plane halted: ${error.message}${cause}`;
    this.emit('control-failed', error);
    void this.stop({ leave: true });
  }

  protected override listenerFailed(event: string, error: unknown): void {
    this.listenerErrors++;
    if (event === 'listener-error') return; // a failing error listener must not loop
    this.emit('listener-error', { event, error });
  }

  /**
   * Join `seeds` in the background, retrying with backoff and jitter until one
   * answers or the agent stops. Never throws; each failed round is counted.
   */
  private retryJoinInBackground(seeds: Address[]): void {
    // Every agent of a supervised group may get the same list: a seed retrying itself has nothing to do.
    seeds = seeds.filter((a) => a !== this.addr);
    if (seeds.length === 0) return;
    let attempt = 0;
    const round = (): void => {
      if (this.phase !== 'running') return;
      this.join(seeds, { timeoutMs: AgentDefaults.retryJoinBaseMs * 5 }).then(
        () => {
          this.retryJoinTimer = undefined;
        },
        () => {
          this.retryJoinFailures++;
          const capped = Math.min(AgentDefaults.retryJoinMaxMs, AgentDefaults.retryJoinBaseMs * 2 ** Math.min(attempt++, 10));
          this.retryJoinTimer = setTimeout(round, capped / 2 + (capped / 2) * Math.random());
          this.retryJoinTimer.unref();
        },
      );
    };
    round();
  }

  /** Send a serf-style user event to every member. */
  sendUserEvent(name: string, payload: Uint8Array): void {
    this.assertRunning();
    this.shell.act((core, nowMs) => core.sendUserEvent(name, payload, nowMs));
  }

  /**
   * Graceful leave without closing: broadcast Leave and wait until it has spread
   * (leaveComplete) or leaveTimeoutMs passed. stop() closes afterwards.
   */
  async leave(): Promise<void> {
    if (this.phase !== 'running' && this.phase !== 'leaving') return;
    if (this.phase === 'running') {
      this.phase = 'leaving';
      this.shell.act((core, nowMs) => core.leave(nowMs));
    }
    await this.shell.waitFor(() => this.shell.core.leaveComplete(), this.settings.leaveTimeoutMs);
  }

  /** Stop the agent; with leave: true (the default) announce it first. Idempotent. */
  stop(options: { leave?: boolean } = {}): Promise<void> {
    this.stopPromise ??= this.doStop(options.leave ?? true);
    return this.stopPromise;
  }

  private async doStop(leave: boolean): Promise<void> {
    if (leave && (this.phase === 'running' || this.phase === 'leaving')) await this.leave();
    this.phase = 'stopping';
    for (const j of [...this.joins]) j.cancel();
    if (this.retryJoinTimer) clearTimeout(this.retryJoinTimer);
    if (this.membershipTimer) clearInterval(this.membershipTimer);
    // The control plane stops before gossip (it started after it).
    await this.follower?.stop();
    // Best effort on the way out: everything acknowledged is already fsynced, and gossip must still stop.
    await this.control?.close({ handOff: leave }).catch(() => undefined);
    const snapshotAddrs = this.aliveAddrs();
    this.shell.stop();
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    await Promise.all([this.http?.close(), this.transport.close(), this.saveSnapshot(snapshotAddrs, leave)]);
    // Last: nothing writes to the data directory any more.
    await this.dataDirLock?.release().catch(() => undefined);
    this.phase = 'stopped';
    this.emit('stopped');
  }

  /** Rejoin the members of the last run (in the background), then keep the snapshot fresh. */
  private async startSnapshots(dataDir: string): Promise<void> {
    const prior = (await readSnapshot(dataDir, this.name)).filter((a) => a !== this.addr);
    if (prior.length > 0) {
      this.join(prior).catch(() => {
        this.rejoinFailures++;
      });
    }
    this.snapshotTimer = setInterval(() => void this.saveSnapshot(this.aliveAddrs(), false), SnapshotLimits.writeIntervalMs);
    this.snapshotTimer.unref();
  }

  private aliveAddrs(): Address[] {
    return this.shell.core
      .members()
      .filter((m) => m.state === MemberState.Alive && m.name !== this.name)
      .map((m) => m.addr);
  }

  /** Writes are chained so two never race on the temp file; failures are counted, never thrown. */
  private saveSnapshot(addrs: Address[], left: boolean): Promise<void> {
    const dataDir = this.settings.dataDir;
    // A node alone has nothing worth remembering: keep the last useful snapshot.
    if (dataDir === undefined || (!left && addrs.length === 0)) return Promise.resolve();
    this.snapshotChain = this.snapshotChain.then(() =>
      writeSnapshot(dataDir, this.name, addrs, left).catch(() => {
        this.snapshotErrors++;
      }),
    );
    return this.snapshotChain;
  }

  private assertRunning(): void {
    if (this.phase !== 'running') throw new ShoalError(ErrorCode.NotRunning, `agent ${this.name} is ${this.phase}`);
  }

  private onGossipEvent(e: MemberEvent): void {
    switch (e.type) {
      case 'push-pull-complete':
        if (e.join) for (const j of this.joins) j.answer();
        return;
      case 'user-event':
        this.emit('user-event', { name: e.name, payload: e.payload, ltime: e.ltime });
        return;
      default:
        this.emit(e.type, toMemberView(e.member));
        this.scheduleMembership();
    }
  }

  /** A join push-pull frame could not be delivered. */
  private onJoinFrameFailed(to: Address): void {
    for (const j of this.joins) j.fail(to);
  }
}

/**
 * The keyring in force at start: DATA_DIR/keyring.json when it exists (it
 * holds every rotation since), else the `encrypt` key, which then seeds the
 * file. The verify switches given in the config override the stored ones.
 */
async function loadSecurity(c: ResolvedAgentConfig): Promise<{ security: SecurityOptions | undefined; warnings: string[] }> {
  const warnings: string[] = [];
  const stored = c.dataDir === undefined ? undefined : await readKeyringFile(c.dataDir);
  const switches = (fallbackIn: boolean, fallbackOut: boolean) => ({ verifyIncoming: c.verifyIncoming ?? fallbackIn, verifyOutgoing: c.verifyOutgoing ?? fallbackOut });
  if (stored !== undefined) {
    if (c.encryptKey !== undefined && !stored.keyring.keys.some((k) => Buffer.from(k).equals(Buffer.from(c.encryptKey!)))) {
      warnings.push(`the keyring in ${c.dataDir}/keyring.json does not hold the --encrypt key; the keyring file wins (use \`shoal keyring install\` to add a key)`);
    }
    return { security: { keyring: stored.keyring, ...switches(stored.verifyIncoming, stored.verifyOutgoing) }, warnings };
  }
  if (c.encryptKey === undefined) {
    if (c.verifyIncoming !== undefined || c.verifyOutgoing !== undefined) warnings.push('verifyIncoming/verifyOutgoing have no effect without an encryption key');
    return { security: undefined, warnings };
  }
  const security = { keyring: new Keyring(c.encryptKey), ...switches(true, true) };
  if (c.dataDir !== undefined) await writeKeyringFile(c.dataDir, { keyring: security.keyring, verifyIncoming: security.verifyIncoming, verifyOutgoing: security.verifyOutgoing });
  return { security, warnings };
}
