/**
 * Client of the control plane's HTTP API (config keys, txns, watches, leases,
 * Raft status), used by the CLI, the config follower and the tests. Every
 * call takes an AbortSignal; errors are ShoalErrors with the agent's code.
 */
import { ErrorCode, ShoalError } from '../util/errors.js';
import { storeLimits } from '../control/store/limits.js';
import { ApiClient, ApiClientLimits, parseAnswer } from './client.js';
import { readText, send, whyFailed } from './http-transport.js';
import type {
  DeleteResult,
  GetResult,
  KvView,
  LeaseGrantRequest,
  LeaseRevokeResult,
  LeaseView,
  PutRequest,
  PutResult,
  RaftStatusView,
  RangeView,
  TxnRequest,
  TxnResult,
} from './config-types.js';
import type { WatchLine } from './watch-stream.js';

export const ConfigClientLimits = {
  /** A write waits for commit, at most the agent's request timeout (5 s) plus a margin. */
  writeTimeoutMs: 15_000,
  /** One line of a watch stream: a put of the largest value, JSON-escaped (6 bytes per byte at worst), twice (prevKv). */
  watchLineBytesMax: 2 * 6 * storeLimits.valueBytesMax + 4096,
} as const;

interface CallOptions {
  signal?: AbortSignal;
}

const enc = encodeURIComponent;

export class ConfigClient extends ApiClient {
  raftStatus(options: CallOptions = {}): Promise<RaftStatusView> {
    return this.request('GET', '/v1/raft/status', undefined, ApiClientLimits.requestTimeoutMs, options.signal);
  }

  transferLeader(to: string | undefined, options: CallOptions = {}): Promise<{ leader: string }> {
    return this.request('POST', '/v1/raft/transfer-leader', to === undefined ? {} : { to }, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  removePeer(name: string, options: CallOptions = {}): Promise<{ removed: string }> {
    return this.request('POST', '/v1/raft/remove-peer', { name }, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  /** The key, or undefined if it does not exist. */
  async get(key: string, options: CallOptions & { serializable?: boolean; revision?: number } = {}): Promise<KvView | undefined> {
    const q = new URLSearchParams({ key });
    if (options.serializable) q.set('serializable', 'true');
    if (options.revision !== undefined) q.set('revision', String(options.revision));
    try {
      return await this.request<KvView>('GET', `/v1/config?${q}`, undefined, ConfigClientLimits.writeTimeoutMs, options.signal);
    } catch (e) {
      if (e instanceof ShoalError && e.code === ErrorCode.NotFound && e.details?.key === key) return undefined;
      throw e;
    }
  }

  /** One page; with more: true, call again with continuation: page.continuation for the next (same revision). */
  range(
    prefix: string,
    options: CallOptions & { serializable?: boolean; revision?: number; limit?: number; limitBytes?: number; after?: string; continuation?: string } = {},
  ): Promise<RangeView> {
    const q = new URLSearchParams({ prefix });
    if (options.serializable) q.set('serializable', 'true');
    if (options.revision !== undefined) q.set('revision', String(options.revision));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    if (options.limitBytes !== undefined) q.set('limitBytes', String(options.limitBytes));
    if (options.after !== undefined) q.set('after', options.after);
    if (options.continuation !== undefined) q.set('continuation', options.continuation);
    return this.request('GET', `/v1/config?${q}`, undefined, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  put(request: PutRequest, options: CallOptions = {}): Promise<PutResult> {
    const { key, ...body } = request;
    return this.request('PUT', `/v1/config/${enc(key)}`, body, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  delete(key: string, options: CallOptions = {}): Promise<DeleteResult> {
    return this.request('DELETE', `/v1/config/${enc(key)}`, undefined, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  txn(request: Partial<TxnRequest>, options: CallOptions = {}): Promise<TxnResult> {
    return this.request('POST', '/v1/config/txn', request, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  compact(revision: number, options: CallOptions = {}): Promise<{ revision: number; compactedRevision: number }> {
    return this.request('POST', '/v1/config/compact', { revision }, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  leaseGrant(request: LeaseGrantRequest, options: CallOptions = {}): Promise<LeaseView> {
    return this.request('POST', '/v1/leases', request, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  leaseKeepAlive(id: number, options: CallOptions = {}): Promise<LeaseView> {
    return this.request('POST', `/v1/leases/${id}/keepalive`, undefined, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  leaseRevoke(id: number, options: CallOptions = {}): Promise<LeaseRevokeResult> {
    return this.request('DELETE', `/v1/leases/${id}`, undefined, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  /**
   * The watch stream's lines, in order, until the stream ends or the signal
   * aborts (then the iteration ends quietly). Rejects with the agent's error
   * when the watch cannot open (ERR_COMPACTED with details.oldestRevision).
   */
  async *watch(prefix: string, options: CallOptions & { fromRevision?: number } = {}): AsyncGenerator<WatchLine> {
    const q = new URLSearchParams({ prefix });
    if (options.fromRevision !== undefined) q.set('fromRevision', String(options.fromRevision));
    const path = `/v1/config/watch?${q}`;
    // The stream lives until the caller stops iterating (return() runs the finally below) or aborts.
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) ac.abort();
    try {
      let res;
      try {
        res = await send(this.baseUrl + path, { method: 'GET', headers: this.headersFor('GET'), signal: ac.signal, ca: this.target.ca });
      } catch (e) {
        if (options.signal?.aborted) return;
        throw new ShoalError(ErrorCode.Unreachable, `cannot reach the agent at ${this.baseUrl}: ${whyFailed(e)}`, { cause: e });
      }
      if (res.statusCode !== 200) {
        const text = await readText(res, ApiClientLimits.responseMaxBytes).catch(() => '{}');
        parseAnswer(`GET`, path, res.statusCode ?? 0, text);
        throw new ShoalError(ErrorCode.DecodeFailed, `GET ${path}: HTTP ${res.statusCode} without an error`);
      }
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for await (const chunk of res) {
          buffered += decoder.decode(chunk as Buffer, { stream: true });
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.trim() !== '') yield JSON.parse(line) as WatchLine;
          }
          if (buffered.length > ConfigClientLimits.watchLineBytesMax) {
            throw new ShoalError(ErrorCode.DecodeFailed, `watch line longer than ${ConfigClientLimits.watchLineBytesMax} bytes`);
          }
        }
      } catch (e) {
        if (options.signal?.aborted) return;
        if (e instanceof ShoalError) throw e;
        throw new ShoalError(ErrorCode.Unreachable, `watch stream from ${this.baseUrl} broke: ${(e as Error).message}`, { cause: e });
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      ac.abort();
    }
  }
}

export type { GetResult };
