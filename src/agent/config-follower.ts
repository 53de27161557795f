/**
 * The config plane on a member that is neither voter nor learner (past the
 * autopilot's spare learners, or `voter=false`): it keeps a local copy of the
 * store through a watch on a Raft member's HTTP API, serves serializable
 * reads from it, and forwards writes, linearizable reads and watches to that
 * member (address from its `shoal.http` tag; the leader, which advertises
 * `shoal.rev`, is preferred).
 *
 * The copy: a full listing at some revision, then every change from there
 * on, so it is always the state at `revision`. A watch that fails resumes
 * from the last revision seen (see apply()); one compacted away re-lists. The lag is
 * the leader's advertised `shoal.rev` minus the local revision.
 */
import { ConfigClient } from '../api/config-client.js';
import type {
  ControlApi,
  GetResult,
  KvView,
  RaftStatusView,
  RangeOptions,
  RangeView,
  ReadOptions,
  WatchEventView,
  WatchStreamHandle,
  WatchStreamSink,
} from '../api/config-types.js';
import { TAG_CLUSTER, TAG_HTTP_ADDR, TAG_REVISION } from '../control/autopilot/tags.js';
import { compareKeys } from '../control/store/keys.js';
import { readLimits } from '../control/store/limits.js';
import type { MemberInfo } from '../gossip/events.js';
import { MemberState } from '../gossip/messages.js';
import { ErrorCode, ShoalError, isShoalError } from '../util/errors.js';

export const ConfigFollowerLimits = {
  /** Pause after a failed sync before trying again (another upstream if there is one). */
  retryMs: 500,
  /** Keys in the local copy; past it the copy stops (serializable reads then fail) rather than grow. */
  keysMax: 1_000_000,
} as const;

export interface FollowerStatus {
  upstream: string;
  revision: number;
  /** The leader's advertised revision minus ours (0 when unknown). */
  lagRevisions: number;
  synced: boolean;
  resyncs: number;
  /** Syncs that failed (unreachable upstream, broken stream...) and were retried. */
  syncErrors: number;
}

export class ConfigFollower {
  private readonly kvs = new Map<string, KvView>();
  private revisionValue = 0;
  private synced = false;
  private running = false;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private upstreamHttp = '';
  /** The HTTP API to follow, chosen from the gossip view when it changes (not per request). */
  private upstreamCandidate: string | undefined;
  private leaderRevision = 0;
  resyncs = 0;
  syncErrors = 0;

  constructor(
    private readonly self: string,
    private readonly onChanges: (revision: number, changes: WatchEventView[]) => void,
  ) {}

  get revision(): number {
    return this.revisionValue;
  }

  /** The gossip view: where the Raft members' HTTP APIs are. */
  onMembership(members: readonly MemberInfo[]): void {
    for (const m of members) {
      const rev = m.tags[TAG_REVISION];
      if (rev !== undefined && m.state === MemberState.Alive) this.leaderRevision = Number(rev) || 0;
    }
    const alive = members.filter((m) => m.name !== this.self && m.state === MemberState.Alive && m.tags[TAG_HTTP_ADDR] !== undefined);
    const leader = alive.find((m) => m.tags[TAG_REVISION] !== undefined);
    this.upstreamCandidate = (leader ?? alive.find((m) => m.tags[TAG_CLUSTER] !== undefined))?.tags[TAG_HTTP_ADDR];
  }

  /** Keep the copy in sync (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Stop syncing and drop the copy (this member became a Raft member, or the agent stops). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort?.abort();
    await this.loop?.catch(() => undefined);
    this.kvs.clear();
    this.revisionValue = 0;
    this.synced = false;
  }

  status(): FollowerStatus {
    return {
      upstream: this.upstreamHttp,
      revision: this.revisionValue,
      lagRevisions: Math.max(0, this.leaderRevision - this.revisionValue),
      synced: this.synced,
      resyncs: this.resyncs,
      syncErrors: this.syncErrors,
    };
  }

  /** A Raft member's HTTP API: the leader (it advertises shoal.rev) first, else any member of the cluster. */
  upstream(): ConfigClient {
    const http = this.upstreamCandidate;
    if (http === undefined) throw new ShoalError(ErrorCode.Unavailable, `no member of the control plane is reachable from ${this.self}`);
    this.upstreamHttp = http;
    return new ConfigClient(http);
  }

  get(key: string): GetResult {
    this.assertSynced();
    return { kv: this.kvs.get(key), revision: this.revisionValue };
  }

  range(prefix: string, limit: number = readLimits.rangeKeysMax): RangeView {
    this.assertSynced();
    const keys = [...this.kvs.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
    const kvs = keys.slice(0, Math.min(limit, readLimits.rangeKeysMax)).map((k) => this.kvs.get(k)!);
    return { kvs, count: keys.length, more: keys.length > kvs.length, revision: this.revisionValue };
  }

  private assertSynced(): void {
    if (!this.synced) throw new ShoalError(ErrorCode.Unavailable, `${this.self} has no copy of the config yet (following ${this.upstreamHttp || 'nobody'})`);
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const client = this.upstream();
        if (!this.synced) await this.relist(client, signal);
        for await (const line of client.watch('', { fromRevision: Math.max(1, this.revisionValue), signal })) {
          if (line.type === 'put' || line.type === 'delete') this.apply([line]);
          else if (line.type === 'error') throw new ShoalError(ErrorCode.Unavailable, line.error.message, { details: { code: line.error.code } });
        }
      } catch (e) {
        if (signal.aborted) return;
        this.syncErrors++; // retried below; the count shows in raftStatus().follower
        if (isShoalError(e, ErrorCode.Compacted)) this.synced = false; // fell behind the history: list again
      }
      await new Promise((r) => setTimeout(r, ConfigFollowerLimits.retryMs));
    }
  }

  private async relist(client: ConfigClient, signal: AbortSignal): Promise<void> {
    const r = await client.range('', { signal, limit: readLimits.rangeKeysMax });
    if (r.more) throw new ShoalError(ErrorCode.ResourceExhausted, `config has ${r.count} keys; a follower copies at most ${readLimits.rangeKeysMax}`);
    this.kvs.clear();
    for (const kv of r.kvs) this.kvs.set(kv.key, kv);
    this.revisionValue = r.revision;
    this.synced = true;
    this.resyncs++;
  }

  /**
   * Applies changes idempotently: the watch resumes from the last revision
   * seen (not the one after), because a stream that broke between two events
   * of one revision (a txn) would otherwise lose the rest of it. Events
   * already reflected in the copy are skipped and not reported again.
   */
  private apply(events: WatchEventView[]): void {
    const applied: WatchEventView[] = [];
    for (const e of events) {
      if (e.revision < this.revisionValue) continue;
      const current = this.kvs.get(e.kv.key);
      if (e.type === 'put') {
        if (current !== undefined && current.modRevision >= e.revision) continue;
        if (current === undefined && this.kvs.size >= ConfigFollowerLimits.keysMax) {
          this.synced = false;
          throw new ShoalError(ErrorCode.ResourceExhausted, `follower copy is full (${ConfigFollowerLimits.keysMax} keys)`);
        }
        this.kvs.set(e.kv.key, e.kv);
      } else {
        if (current === undefined) continue;
        this.kvs.delete(e.kv.key);
      }
      this.revisionValue = Math.max(this.revisionValue, e.revision);
      applied.push(e);
    }
    if (applied.length > 0) this.onChanges(this.revisionValue, applied);
  }
}

/**
 * ControlApi of a member outside the Raft group: serializable reads from the
 * follower's copy, everything else forwarded to a Raft member. Unreachable
 * upstreams surface as ERR_UNAVAILABLE (503).
 */
export class ForwardingControlApi implements ControlApi {
  constructor(
    private readonly follower: ConfigFollower,
    private readonly localStatus: () => RaftStatusView,
  ) {}

  raftStatus(): RaftStatusView {
    return { ...this.localStatus(), mode: 'follower', follower: this.follower.status() };
  }

  async get(key: string, options: ReadOptions = {}): Promise<GetResult> {
    if (options.serializable && options.revision === undefined) return this.follower.get(key);
    const kv = await this.call((c) => c.get(key, options));
    return { kv, revision: Math.max(kv?.modRevision ?? 0, this.follower.revision) };
  }

  async range(prefix: string, options: RangeOptions = {}): Promise<RangeView> {
    if (options.serializable && options.revision === undefined) return this.follower.range(prefix, options.limit);
    return this.call((c) => c.range(prefix, options));
  }

  put: ControlApi['put'] = (r, o = {}) => this.call((c) => c.put(r, o));
  delete: ControlApi['delete'] = (k, o = {}) => this.call((c) => c.delete(k, o));
  txn: ControlApi['txn'] = (r, o = {}) => this.call((c) => c.txn(r, o));
  leaseGrant: ControlApi['leaseGrant'] = (r, o = {}) => this.call((c) => c.leaseGrant(r, o));
  leaseKeepAlive: ControlApi['leaseKeepAlive'] = (id, o = {}) => this.call((c) => c.leaseKeepAlive(id, o));
  leaseRevoke: ControlApi['leaseRevoke'] = (id, o = {}) => this.call((c) => c.leaseRevoke(id, o));
  transferLeader: ControlApi['transferLeader'] = (to, o = {}) => this.call((c) => c.transferLeader(to, o));
  removePeer: ControlApi['removePeer'] = (n, o = {}) => this.call((c) => c.removePeer(n, o));
  compact: ControlApi['compact'] = (rev, o = {}) => this.call((c) => c.compact(rev, o));

  /** Proxies the upstream's watch stream; resolves once the upstream watch is open. */
  async watch(prefix: string, fromRevision: number | undefined, sink: WatchStreamSink, options: { signal?: AbortSignal } = {}): Promise<WatchStreamHandle> {
    const ac = new AbortController();
    options.signal?.addEventListener('abort', () => ac.abort(), { once: true });
    const lines = this.follower.upstream().watch(prefix, { signal: ac.signal, ...(fromRevision === undefined ? {} : { fromRevision }) });
    const first = await lines.next();
    if (first.done || first.value.type !== 'created') throw new ShoalError(ErrorCode.Unavailable, 'upstream watch did not open');
    const created = first.value;
    let resume: (() => void) | undefined;
    let last = created.fromRevision - 1;
    void (async () => {
      try {
        for await (const line of lines) {
          if (line.type === 'put' || line.type === 'delete') {
            last = line.revision;
            if (!sink.events([line])) await new Promise<void>((r) => (resume = r));
          } else if (line.type === 'error') {
            sink.closed(new ShoalError(ErrorCode.Unavailable, `upstream watch closed: ${line.error.message}`), line.lastRevision);
            return;
          }
        }
        sink.closed(ac.signal.aborted ? undefined : new ShoalError(ErrorCode.Unavailable, 'upstream watch ended'), last);
      } catch (e) {
        sink.closed(isShoalError(e) ? e : new ShoalError(ErrorCode.Unavailable, String(e)), last);
      }
    })();
    return {
      startRevision: created.startRevision,
      fromRevision: created.fromRevision,
      resume: () => {
        const r = resume;
        resume = undefined;
        r?.();
      },
      cancel: () => ac.abort(),
    };
  }

  private async call<T>(f: (c: ConfigClient) => Promise<T>): Promise<T> {
    try {
      return await f(this.follower.upstream());
    } catch (e) {
      if (isShoalError(e, ErrorCode.Unreachable)) throw new ShoalError(ErrorCode.Unavailable, e.message, { cause: e });
      throw e;
    }
  }
}
