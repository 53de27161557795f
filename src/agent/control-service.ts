/**
 * The control service: the one object between the control plane's public
 * surfaces (the HTTP routes, agent.config, the cluster-transport requests of
 * other members) and the control shell. Per call it serves from the local
 * Raft node while this member is a voter or learner (or before any cluster
 * exists: it then answers ERR_NO_QUORUM itself), and otherwise forwards to a
 * Raft member over the cluster transport (control-rpc-client.ts). Locally it
 * converts between the store's bytes and the API's strings and picks lease
 * ids.
 */
import { randomInt } from 'node:crypto';
import type {
  ControlApi,
  DeleteResult,
  GetResult,
  LeaseGrantRequest,
  LeaseRevokeResult,
  LeaseView,
  PutRequest,
  PutResult,
  RaftStatusView,
  RangeOptions,
  RangeView,
  ReadOptions,
  TxnRequest,
  TxnResult,
  WatchStreamHandle,
  WatchStreamSink,
  WriteOptions,
} from '../api/config-types.js';
import { eventView, kvView, putCommand, txnCommand, txnResultView } from '../api/config-views.js';
import type { RangeResult } from '../control/store/reads.js';
import type { KeyValue, StoreResponse } from '../control/store/types.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { ControlBackend } from './control-api.js';
import type { ControlRpcClient, ForwardingControlApi } from './control-rpc-client.js';

/** Lease ids are random in [1, 2^48): unique enough without coordination, exact in JSON. */
const leaseIdMax = 2 ** 48;

export interface ControlServiceOptions {
  name: string;
  /** Is this member a voter or learner (or is there no cluster yet)? Asked per call. */
  isRaftMember(): boolean;
  /** The leader's name as the local Raft node knows it ('' when none). */
  leader(): string;
  /** Where calls go while this member is outside the Raft group. */
  forward?: ForwardingControlApi;
  /** Requests to one named member (the leader), for leadership transfer from a follower. */
  toMember?(member: string): ControlRpcClient | undefined;
}

export class ControlService implements ControlApi {
  /** The same service without forwarding: what a forwarded request is served by, so it is never forwarded again. */
  private readonly localView: ControlService | undefined;

  constructor(
    private readonly backend: ControlBackend,
    private readonly options: ControlServiceOptions,
  ) {
    this.localView = options.forward === undefined ? undefined : new ControlService(backend, { ...options, forward: undefined });
  }

  /** The local Raft node serves this call (false: it is forwarded). */
  servesLocally(): boolean {
    return this.options.forward === undefined || this.options.isRaftMember();
  }

  /** This service when the local Raft node can serve, else undefined: what a forwarded request may use (never forwarded again). */
  localOnly(): ControlApi | undefined {
    if (!this.options.isRaftMember()) return undefined;
    return this.localView ?? this;
  }

  private get forward(): ForwardingControlApi | undefined {
    return this.servesLocally() ? undefined : this.options.forward;
  }

  raftStatus(): RaftStatusView | Promise<RaftStatusView> {
    return this.forward?.raftStatus() ?? { ...this.backend.status(), mode: 'raft' };
  }

  async get(key: string, options: ReadOptions = {}): Promise<GetResult> {
    const f = this.forward;
    if (f !== undefined) return f.get(key, options);
    const r = (await this.backend.read(
      { kind: 'get', key, ...(options.revision === undefined ? {} : { revision: options.revision }) },
      options.serializable !== true,
      options.signal,
    )) as { kv?: KeyValue; revision: number };
    return { kv: r.kv === undefined ? undefined : kvView(r.kv), revision: r.revision };
  }

  async range(prefix: string, options: RangeOptions = {}): Promise<RangeView> {
    const f = this.forward;
    if (f !== undefined) return f.range(prefix, options);
    const r = (await this.backend.read(
      {
        kind: 'range',
        prefix,
        ...(options.revision === undefined ? {} : { revision: options.revision }),
        ...(options.limit === undefined ? {} : { limit: options.limit }),
        ...(options.limitBytes === undefined ? {} : { limitBytes: options.limitBytes }),
        ...(options.after === undefined ? {} : { after: options.after }),
        ...(options.continuation === undefined ? {} : { continuation: options.continuation }),
      },
      options.serializable !== true,
      options.signal,
    )) as RangeResult;
    return { kvs: r.kvs.map(kvView), count: r.count, more: r.more, revision: r.revision, ...(r.continuation === undefined ? {} : { continuation: r.continuation }) };
  }

  async put(request: PutRequest, options: WriteOptions = {}): Promise<PutResult> {
    const f = this.forward;
    if (f !== undefined) return f.put(request, options);
    const r = await this.backend.write(putCommand(request), options.signal);
    const out: PutResult = { revision: r.revision };
    if (r.response.kind === 'put' && r.response.prevKv !== undefined) out.prevKv = kvView(r.response.prevKv);
    return out;
  }

  async delete(key: string, options: WriteOptions = {}): Promise<DeleteResult> {
    const f = this.forward;
    if (f !== undefined) return f.delete(key, options);
    const r = await this.backend.write({ type: 'delete', key }, options.signal);
    const out: DeleteResult = { revision: r.revision, deleted: r.response.kind === 'delete' ? r.response.deleted : 0 };
    if (r.response.kind === 'delete' && r.response.prevKv !== undefined) out.prevKv = kvView(r.response.prevKv);
    return out;
  }

  async txn(request: TxnRequest, options: WriteOptions = {}): Promise<TxnResult> {
    const f = this.forward;
    if (f !== undefined) return f.txn(request, options);
    const r = await this.backend.write(txnCommand(request), options.signal);
    return txnResultView(r.response, r.revision);
  }

  async watch(prefix: string, fromRevision: number | undefined, sink: WatchStreamSink, options: { signal?: AbortSignal } = {}): Promise<WatchStreamHandle> {
    const f = this.forward;
    if (f !== undefined) return f.watch(prefix, fromRevision, sink, options);
    const store = this.backend.store();
    const startRevision = store.revision;
    const from = fromRevision ?? startRevision + 1;
    const h = store.watch(prefix, from, {
      // An empty batch is a progress notification: the watch has seen everything up to its revision.
      send: (batch) => (batch.events.length === 0 ? (sink.progress?.(batch.revision) ?? true) : sink.events(batch.events.map(eventView))),
      closed: (reason) => sink.closed(reason.error, reason.lastRevision),
    });
    return { startRevision, fromRevision: from, resume: () => h.resume(), cancel: () => h.cancel() };
  }

  async leaseGrant(request: LeaseGrantRequest, options: WriteOptions = {}): Promise<LeaseView> {
    const f = this.forward;
    if (f !== undefined) return f.leaseGrant(request, options);
    const id = request.id ?? randomInt(1, leaseIdMax);
    const r = await this.backend.write({ type: 'leaseGrant', id, ttlMs: request.ttlMs }, options.signal);
    if (r.response.kind !== 'leaseGrant') throw unexpected(r.response);
    return { id: r.response.id, ttlMs: r.response.ttlMs };
  }

  async leaseKeepAlive(id: number, options: WriteOptions = {}): Promise<LeaseView> {
    const f = this.forward;
    if (f !== undefined) return f.leaseKeepAlive(id, options);
    const r = await this.backend.write({ type: 'leaseKeepAlive', id }, options.signal);
    if (r.response.kind !== 'leaseKeepAlive') throw unexpected(r.response);
    return { id: r.response.id, ttlMs: r.response.ttlMs };
  }

  async leaseRevoke(id: number, options: WriteOptions = {}): Promise<LeaseRevokeResult> {
    const f = this.forward;
    if (f !== undefined) return f.leaseRevoke(id, options);
    const r = await this.backend.write({ type: 'leaseRevoke', id }, options.signal);
    if (r.response.kind !== 'leaseRevoke') throw unexpected(r.response);
    return { revision: r.revision, deleted: r.response.deleted };
  }

  async compact(revision: number, options: WriteOptions = {}): Promise<{ revision: number; compactedRevision: number }> {
    const f = this.forward;
    if (f !== undefined) return f.compact(revision, options);
    const r = await this.backend.write({ type: 'compact', revision }, options.signal);
    if (r.response.kind !== 'compact') throw unexpected(r.response);
    return { revision: r.revision, compactedRevision: r.response.compactedRevision };
  }

  /** Only the leader hands leadership over: a Raft member that is not the leader asks the leader, once, over the cluster transport. */
  transferLeader(to: string | undefined, options: WriteOptions = {}): Promise<{ leader: string }> {
    const f = this.forward;
    if (f !== undefined) return f.transferLeader(to, options);
    const leader = this.options.leader();
    const upstream = leader === '' || leader === this.options.name ? undefined : this.options.toMember?.(leader);
    if (upstream !== undefined) return upstream.call('transferLeader', { to }, options.signal);
    return this.backend.transferLeader(to, options.signal);
  }

  removePeer(name: string, options: WriteOptions = {}): Promise<{ removed: string }> {
    const f = this.forward;
    if (f !== undefined) return f.removePeer(name, options);
    return this.backend.removePeer(name, options.signal);
  }
}

function unexpected(r: StoreResponse): ShoalError {
  return new ShoalError(ErrorCode.Unavailable, `unexpected store response ${r.kind}`);
}
