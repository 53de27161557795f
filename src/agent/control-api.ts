/**
 * ControlApi (what the HTTP routes and agent.config call) over a
 * ControlBackend (what a control shell provides: propose a command, read,
 * watch the local store). Converts between the store's bytes and the API's
 * strings, and picks lease ids.
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
import { eventView, kvView, putCommand, txnCommand, txnResultView, type CommandBody } from '../api/config-views.js';
import type { ReadQuery } from '../control/control-types.js';
import type { ConfigStore } from '../control/store/config-store.js';
import type { RangeResult } from '../control/store/reads.js';
import type { KeyValue, StoreResponse } from '../control/store/types.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

export interface WriteOutcome {
  revision: number;
  response: StoreResponse;
}

export interface ControlBackend {
  /** Propose (the backend assigns the request id); resolves once applied, rejects with a ShoalError. */
  write(command: CommandBody, signal?: AbortSignal): Promise<WriteOutcome>;
  read(query: ReadQuery, linearizable: boolean, signal?: AbortSignal): Promise<{ kv?: KeyValue; revision: number } | RangeResult>;
  /** The local replica, for watches (it may be replaced when a snapshot is installed: watches then close). */
  store(): ConfigStore;
  status(): RaftStatusView;
  transferLeader(to: string | undefined, signal?: AbortSignal): Promise<{ leader: string }>;
  removePeer(name: string, signal?: AbortSignal): Promise<{ removed: string }>;
}

/** Lease ids are random in [1, 2^48): unique enough without coordination, exact in JSON. */
const leaseIdMax = 2 ** 48;

export class ControlApiAdapter implements ControlApi {
  constructor(private readonly backend: ControlBackend) {}

  raftStatus(): RaftStatusView {
    return this.backend.status();
  }

  async get(key: string, options: ReadOptions = {}): Promise<GetResult> {
    const r = (await this.backend.read(
      { kind: 'get', key, ...(options.revision === undefined ? {} : { revision: options.revision }) },
      options.serializable !== true,
      options.signal,
    )) as { kv?: KeyValue; revision: number };
    return { kv: r.kv === undefined ? undefined : kvView(r.kv), revision: r.revision };
  }

  async range(prefix: string, options: RangeOptions = {}): Promise<RangeView> {
    const r = (await this.backend.read(
      {
        kind: 'range',
        prefix,
        ...(options.revision === undefined ? {} : { revision: options.revision }),
        ...(options.limit === undefined ? {} : { limit: options.limit }),
      },
      options.serializable !== true,
      options.signal,
    )) as RangeResult;
    return { kvs: r.kvs.map(kvView), count: r.count, more: r.more, revision: r.revision };
  }

  async put(request: PutRequest, options: WriteOptions = {}): Promise<PutResult> {
    const r = await this.backend.write(putCommand(request), options.signal);
    const out: PutResult = { revision: r.revision };
    if (r.response.kind === 'put' && r.response.prevKv !== undefined) out.prevKv = kvView(r.response.prevKv);
    return out;
  }

  async delete(key: string, options: WriteOptions = {}): Promise<DeleteResult> {
    const r = await this.backend.write({ type: 'delete', key }, options.signal);
    const out: DeleteResult = { revision: r.revision, deleted: r.response.kind === 'delete' ? r.response.deleted : 0 };
    if (r.response.kind === 'delete' && r.response.prevKv !== undefined) out.prevKv = kvView(r.response.prevKv);
    return out;
  }

  async txn(request: TxnRequest, options: WriteOptions = {}): Promise<TxnResult> {
    const r = await this.backend.write(txnCommand(request), options.signal);
    return txnResultView(r.response, r.revision);
  }

  async watch(prefix: string, fromRevision: number | undefined, sink: WatchStreamSink): Promise<WatchStreamHandle> {
    const store = this.backend.store();
    const startRevision = store.revision;
    const from = fromRevision ?? startRevision + 1;
    const h = store.watch(prefix, from, {
      send: (batch) => sink.events(batch.events.map(eventView)),
      closed: (reason) => sink.closed(reason.error, reason.lastRevision),
    });
    return { startRevision, fromRevision: from, resume: () => h.resume(), cancel: () => h.cancel() };
  }

  async leaseGrant(request: LeaseGrantRequest, options: WriteOptions = {}): Promise<LeaseView> {
    const id = request.id ?? randomInt(1, leaseIdMax);
    const r = await this.backend.write({ type: 'leaseGrant', id, ttlMs: request.ttlMs }, options.signal);
    if (r.response.kind !== 'leaseGrant') throw unexpected(r.response);
    return { id: r.response.id, ttlMs: r.response.ttlMs };
  }

  async leaseKeepAlive(id: number, options: WriteOptions = {}): Promise<LeaseView> {
    const r = await this.backend.write({ type: 'leaseKeepAlive', id }, options.signal);
    if (r.response.kind !== 'leaseKeepAlive') throw unexpected(r.response);
    return { id: r.response.id, ttlMs: r.response.ttlMs };
  }

  async leaseRevoke(id: number, options: WriteOptions = {}): Promise<LeaseRevokeResult> {
    const r = await this.backend.write({ type: 'leaseRevoke', id }, options.signal);
    if (r.response.kind !== 'leaseRevoke') throw unexpected(r.response);
    return { revision: r.revision, deleted: r.response.deleted };
  }

  async compact(revision: number, options: WriteOptions = {}): Promise<{ revision: number; compactedRevision: number }> {
    const r = await this.backend.write({ type: 'compact', revision }, options.signal);
    if (r.response.kind !== 'compact') throw unexpected(r.response);
    return { revision: r.revision, compactedRevision: r.response.compactedRevision };
  }

  transferLeader(to: string | undefined, options: WriteOptions = {}): Promise<{ leader: string }> {
    return this.backend.transferLeader(to, options.signal);
  }

  removePeer(name: string, options: WriteOptions = {}): Promise<{ removed: string }> {
    return this.backend.removePeer(name, options.signal);
  }
}

function unexpected(r: StoreResponse): ShoalError {
  return new ShoalError(ErrorCode.Unavailable, `unexpected store response ${r.kind}`);
}
