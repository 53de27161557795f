/**
 * `agent.config`: the library's view of the replicated config store.
 *
 *   await agent.config.put('app/db', 'postgres://...');
 *   const kv = await agent.config.get('app/db');              // linearizable
 *   for await (const e of agent.config.watch('app/', { signal })) ...
 *   const lease = await agent.config.lease.grant(10_000);
 *
 * Every async call takes an AbortSignal and rejects with a ShoalError
 * (ERR_NO_QUORUM / ERR_TIMEOUT within the request timeout when the control
 * plane has no quorum; ERR_NOT_RUNNING when the agent runs without one).
 */
import type {
  ControlApi,
  DeleteResult,
  KvView,
  LeaseRevokeResult,
  LeaseView,
  PutResult,
  RangeView,
  TxnRequest,
  TxnResult,
  WatchEventView,
  WatchStreamHandle,
} from '../api/config-types.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

/** Batches a watch iterator holds for a slow consumer before it holds the watch back. */
export const watchQueueBatchesMax = 64;

interface Signal {
  signal?: AbortSignal;
}

export class AgentConfigApi {
  readonly lease: {
    grant(ttlMs: number, options?: Signal & { id?: number }): Promise<LeaseView>;
    keepAlive(id: number, options?: Signal): Promise<LeaseView>;
    revoke(id: number, options?: Signal): Promise<LeaseRevokeResult>;
  };

  constructor(private readonly api: () => ControlApi | undefined) {
    this.lease = {
      grant: async (ttlMs, o = {}) => this.need().leaseGrant({ ttlMs, ...(o.id === undefined ? {} : { id: o.id }) }, o),
      keepAlive: async (id, o = {}) => this.need().leaseKeepAlive(id, o),
      revoke: async (id, o = {}) => this.need().leaseRevoke(id, o),
    };
  }

  /** The key, or undefined; linearizable unless serializable: true. */
  async get(key: string, options: Signal & { serializable?: boolean; revision?: number } = {}): Promise<KvView | undefined> {
    return (await this.need().get(key, options)).kv;
  }

  async range(prefix: string, options: Signal & { serializable?: boolean; revision?: number; limit?: number } = {}): Promise<RangeView> {
    return this.need().range(prefix, options);
  }

  async put(key: string, value: string, options: Signal & { lease?: number; prevRevision?: number } = {}): Promise<PutResult> {
    const { signal, ...rest } = options;
    return this.need().put({ key, value, ...rest }, { signal });
  }

  async delete(key: string, options: Signal = {}): Promise<DeleteResult> {
    return this.need().delete(key, options);
  }

  async txn(request: Partial<TxnRequest>, options: Signal = {}): Promise<TxnResult> {
    return this.need().txn({ compare: request.compare ?? [], success: request.success ?? [], failure: request.failure ?? [] }, options);
  }

  /**
   * Changes under prefix, in revision order, from fromRevision (default: new
   * changes only). Ends when the signal aborts; throws the watch's error
   * (ERR_COMPACTED naming the oldest revision, ERR_SLOW_WATCHER...).
   */
  async *watch(prefix: string, options: Signal & { fromRevision?: number } = {}): AsyncGenerator<WatchEventView> {
    const queue: WatchEventView[][] = [];
    let closed: { error: ShoalError | undefined } | undefined;
    let wake: (() => void) | undefined;
    let handle: WatchStreamHandle | undefined;
    let blocked = false;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    handle = await this.need().watch(
      prefix,
      options.fromRevision,
      {
        events: (events) => {
          queue.push(events);
          notify();
          blocked = queue.length >= watchQueueBatchesMax;
          return !blocked;
        },
        closed: (error) => {
          closed = { error };
          notify();
        },
      },
      options,
    );
    const onAbort = (): void => {
      handle?.cancel();
      notify();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const batch = queue.shift();
        if (batch !== undefined) {
          if (blocked && queue.length < watchQueueBatchesMax / 2) {
            blocked = false;
            handle.resume();
          }
          yield* batch;
          continue;
        }
        if (options.signal?.aborted) return;
        if (closed !== undefined) {
          if (closed.error !== undefined) throw closed.error;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      handle.cancel();
    }
  }

  private need(): ControlApi {
    const api = this.api();
    if (api === undefined) throw new ShoalError(ErrorCode.NotRunning, 'this agent runs without a control plane (AgentConfig.control)');
    return api;
  }
}
