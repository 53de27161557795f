/**
 * The config plane on a member that is neither voter nor learner (past the
 * autopilot's spare learners, or `voter=false`): it keeps a local copy of the
 * store, served to serializable reads, by listing it from a Raft member and
 * then long-polling its changes — over the cluster transport (control-rpc.ts),
 * never another member's HTTP API. The upstream is the leader (it advertises
 * `shoal.rev`) when gossip knows it, else any member of the cluster; never
 * this member itself.
 *
 * The copy is always the state at `revision`: a full listing at some
 * revision, then every change from there on. A poll that fails is retried
 * after a jittered pause; one whose start was compacted away lists again.
 * The lag is the leader's advertised `shoal.rev` minus the local revision.
 */
import type { GetResult, KvView, RangeView, WatchEventView } from '../api/config-types.js';
import { TAG_CLUSTER, TAG_REVISION } from '../control/autopilot/tags.js';
import { compareKeys } from '../control/store/keys.js';
import { readLimits } from '../control/store/limits.js';
import type { MemberInfo } from '../gossip/events.js';
import { MemberState } from '../gossip/messages.js';
import type { Address } from '../util/address.js';
import { ErrorCode, ShoalError, isShoalError } from '../util/errors.js';
import type { ControlRpcClient } from './control-rpc-client.js';
import type { WatchPollAnswer } from './control-rpc.js';
import { ControlRpcLimits } from './control-rpc.js';

export const ConfigFollowerLimits = {
  /** Pause after a failed sync before trying again (another upstream if there is one), doubled per failure up to retryMaxMs. */
  retryMs: 500,
  retryMaxMs: 5_000,
  /** Keys in the local copy; past it the copy stops (serializable reads then fail) rather than grow. */
  keysMax: 1_000_000,
  /** How long one poll waits upstream for a change. */
  pollWaitMs: 10_000,
} as const;

export interface FollowerStatus {
  /** The member followed, by name, and its cluster address. */
  upstream: string;
  upstreamAddr: string;
  revision: number;
  /** The leader's advertised revision minus ours (0 when unknown). */
  lagRevisions: number;
  synced: boolean;
  resyncs: number;
  /** Syncs that failed (unreachable upstream, compacted...) and were retried. */
  syncErrors: number;
  lastError: string;
}

interface Upstream {
  name: string;
  addr: Address;
}

export class ConfigFollower {
  private readonly kvs = new Map<string, KvView>();
  private revisionValue = 0;
  private synced = false;
  private running = false;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  /** The Raft member to follow, chosen from the gossip view when it changes (not per request). */
  private candidate: Upstream | undefined;
  private following: Upstream | undefined;
  private leaderRevision = 0;
  private lastError = '';
  resyncs = 0;
  syncErrors = 0;

  constructor(
    private readonly self: string,
    private readonly rpc: () => ControlRpcClient,
    private readonly onChanges: (revision: number, changes: WatchEventView[]) => void,
    private readonly random: () => number = Math.random,
  ) {}

  get revision(): number {
    return this.revisionValue;
  }

  /** The gossip view: where the Raft members are. */
  onMembership(members: readonly MemberInfo[]): void {
    let leader: MemberInfo | undefined;
    let any: MemberInfo | undefined;
    for (const m of members) {
      if (m.name === this.self || m.state !== MemberState.Alive) continue;
      if (m.tags[TAG_REVISION] !== undefined) {
        leader = m;
        this.leaderRevision = Number(m.tags[TAG_REVISION]) || 0;
      } else if (any === undefined && m.tags[TAG_CLUSTER] !== undefined) any = m;
    }
    const pick = leader ?? any;
    this.candidate = pick === undefined ? undefined : { name: pick.name, addr: pick.addr };
  }

  /** The member to send forwarded requests to; ERR_UNAVAILABLE when gossip knows none. */
  upstreamAddr(): Address {
    const up = this.candidate;
    if (up === undefined) throw new ShoalError(ErrorCode.Unavailable, `no member of the control plane is known to ${this.self} yet`);
    return up.addr;
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
      upstream: this.following?.name ?? '',
      upstreamAddr: this.following?.addr ?? '',
      revision: this.revisionValue,
      lagRevisions: Math.max(0, this.leaderRevision - this.revisionValue),
      synced: this.synced,
      resyncs: this.resyncs,
      syncErrors: this.syncErrors,
      lastError: this.lastError,
    };
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
    if (!this.synced) {
      throw new ShoalError(ErrorCode.Unavailable, `${this.self} has no copy of the config yet (following ${this.following?.name || 'nobody'}${this.lastError ? `: ${this.lastError}` : ''})`);
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        this.following = this.candidate;
        const rpc = this.rpc();
        if (!this.synced) await this.relist(rpc, signal);
        for (;;) {
          const a = await rpc.call<WatchPollAnswer>(
            'watchPoll',
            { prefix: '', fromRevision: this.revisionValue + 1, waitMs: ConfigFollowerLimits.pollWaitMs },
            signal,
            ConfigFollowerLimits.pollWaitMs + ControlRpcLimits.watchWaitMsMax,
          );
          failures = 0;
          this.apply(a.events);
          // Another upstream became preferable (a new leader): switch between polls.
          if (this.candidate?.addr !== this.following?.addr) break;
        }
      } catch (e) {
        if (signal.aborted) return;
        this.syncErrors++;
        failures++;
        this.lastError = e instanceof Error ? e.message : String(e);
        if (isShoalError(e, ErrorCode.Compacted)) this.synced = false; // fell behind the history: list again
        const backoffMs = Math.min(ConfigFollowerLimits.retryMaxMs, ConfigFollowerLimits.retryMs * 2 ** Math.min(failures - 1, 10));
        await sleep(backoffMs / 2 + (backoffMs / 2) * this.random(), signal);
      }
    }
  }

  /**
   * A full copy, page by page at one revision (the continuation pins it), so
   * a store of any size is copied without one huge answer; the old copy
   * serves until the new one is complete.
   */
  private async relist(rpc: ControlRpcClient, signal: AbortSignal): Promise<void> {
    const copy = new Map<string, KvView>();
    let continuation: string | undefined;
    let revision = 0;
    do {
      const r: RangeView = await rpc.call<RangeView>('range', { prefix: '', serializable: true, ...(continuation === undefined ? {} : { continuation }) }, signal);
      for (const kv of r.kvs) {
        if (copy.size >= ConfigFollowerLimits.keysMax) throw new ShoalError(ErrorCode.ResourceExhausted, `config has more than ${ConfigFollowerLimits.keysMax} keys; a follower copies at most that`);
        copy.set(kv.key, kv);
      }
      revision = r.revision;
      continuation = r.more ? r.continuation : undefined;
      if (r.more && continuation === undefined) throw new ShoalError(ErrorCode.Unavailable, 'the upstream paged its answer without a continuation');
    } while (continuation !== undefined);
    this.kvs.clear();
    for (const [k, kv] of copy) this.kvs.set(k, kv);
    this.revisionValue = revision;
    this.synced = true;
    this.resyncs++;
    this.lastError = '';
  }

  /** Applies changes idempotently: events already reflected in the copy are skipped and not reported again. */
  private apply(events: WatchEventView[]): void {
    const applied: WatchEventView[] = [];
    for (const e of events) {
      if (e.revision <= this.revisionValue) continue;
      const current = this.kvs.get(e.kv.key);
      if (e.type === 'put') {
        if (current === undefined && this.kvs.size >= ConfigFollowerLimits.keysMax) {
          this.synced = false;
          throw new ShoalError(ErrorCode.ResourceExhausted, `follower copy is full (${ConfigFollowerLimits.keysMax} keys)`);
        }
        this.kvs.set(e.kv.key, e.kv);
      } else if (current !== undefined) this.kvs.delete(e.kv.key);
      applied.push(e);
    }
    if (applied.length > 0) {
      this.revisionValue = applied[applied.length - 1]!.revision;
      this.onChanges(this.revisionValue, applied);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
