/**
 * ControlApi of a member outside the Raft group: every call is one request
 * over the cluster transport to a Raft member (the upstream chosen from the
 * gossip view, see config-follower.ts), which serves it without forwarding
 * it again. Serializable reads without a revision come from the local copy
 * instead. A watch is a loop of long polls from the last revision seen.
 */
import type {
  ControlApi,
  GetResult,
  RaftStatusView,
  RangeOptions,
  RangeView,
  ReadOptions,
  WatchStreamHandle,
  WatchStreamSink,
} from '../api/config-types.js';
import type { ClusterTransport } from '../cluster/transport.js';
import { StreamKind } from '../cluster/kinds.js';
import type { Address } from '../util/address.js';
import { ErrorCode, ShoalError, isShoalError } from '../util/errors.js';
import { ControlRpcLimits, decodeJson, encodeJson, type ControlOp, type WatchPollAnswer } from './control-rpc.js';
import type { ConfigFollower } from './config-follower.js';

/** An answer is a view of the store: at most a frame. */
const answerBytesMax = 16 * 1024 * 1024;

export class ControlRpcClient {
  constructor(
    private readonly transport: ClusterTransport,
    /** The member to ask, or a ShoalError(ERR_UNAVAILABLE) when none is known. */
    private readonly upstream: () => Address,
    /** The upstream answers within its own request timeout; this adds the round trip. */
    private readonly timeoutMs: number,
  ) {}

  async call<T>(op: ControlOp, args: Record<string, unknown>, signal?: AbortSignal, timeoutMs = this.timeoutMs): Promise<T> {
    const to = this.upstream();
    try {
      const answer = await this.transport.request(to, StreamKind.Control, encodeJson({ op, args }), { timeoutMs, ...(signal === undefined ? {} : { signal }) });
      return decodeJson(answer, answerBytesMax, `control answer from ${to}`) as T;
    } catch (e) {
      if (isShoalError(e, ErrorCode.Unreachable)) throw new ShoalError(ErrorCode.Unavailable, e.message, { cause: e, ...(e.details === undefined ? {} : { details: e.details }) });
      throw e;
    }
  }
}

export class ForwardingControlApi implements ControlApi {
  constructor(
    private readonly rpc: ControlRpcClient,
    private readonly follower: ConfigFollower,
    private readonly localStatus: () => RaftStatusView,
  ) {}

  /**
   * The Raft group's view from the member followed (leader, term, indexes,
   * voters), with this member's name and follower state. Without an
   * upstream, the local view (no leader, term 0) and the reason.
   */
  async raftStatus(): Promise<RaftStatusView> {
    const local = this.localStatus();
    try {
      const up = await this.rpc.call<RaftStatusView>('raftStatus', {});
      return {
        ...local,
        leader: up.leader,
        term: up.term,
        commitIndex: up.commitIndex,
        appliedIndex: up.appliedIndex,
        voters: up.voters,
        learners: up.learners,
        clusterId: up.clusterId,
        bootstrapped: up.bootstrapped,
        revision: this.follower.revision,
        mode: 'follower',
        via: up.name,
        follower: this.follower.status(),
      };
    } catch (e) {
      return { ...local, mode: 'follower', follower: this.follower.status(), upstreamError: e instanceof Error ? e.message : String(e) };
    }
  }

  async get(key: string, options: ReadOptions = {}): Promise<GetResult> {
    if (options.serializable && options.revision === undefined) return this.follower.get(key);
    const { signal, ...rest } = options;
    const r = await this.rpc.call<{ kv?: GetResult['kv'] | null; revision: number }>('get', { key, ...rest }, signal);
    return { kv: r.kv ?? undefined, revision: r.revision };
  }

  async range(prefix: string, options: RangeOptions = {}): Promise<RangeView> {
    if (options.serializable && options.revision === undefined) return this.follower.range(prefix, options.limit);
    const { signal, ...rest } = options;
    return this.rpc.call('range', { prefix, ...rest }, signal);
  }

  put: ControlApi['put'] = (request, o = {}) => this.rpc.call('put', { request }, o.signal);
  delete: ControlApi['delete'] = (key, o = {}) => this.rpc.call('delete', { key }, o.signal);
  txn: ControlApi['txn'] = (request, o = {}) => this.rpc.call('txn', { request }, o.signal);
  leaseGrant: ControlApi['leaseGrant'] = (request, o = {}) => this.rpc.call('leaseGrant', { request }, o.signal);
  leaseKeepAlive: ControlApi['leaseKeepAlive'] = (id, o = {}) => this.rpc.call('leaseKeepAlive', { id }, o.signal);
  leaseRevoke: ControlApi['leaseRevoke'] = (id, o = {}) => this.rpc.call('leaseRevoke', { id }, o.signal);
  transferLeader: ControlApi['transferLeader'] = (to, o = {}) => this.rpc.call('transferLeader', { to }, o.signal);
  removePeer: ControlApi['removePeer'] = (name, o = {}) => this.rpc.call('removePeer', { name }, o.signal);
  compact: ControlApi['compact'] = (revision, o = {}) => this.rpc.call('compact', { revision }, o.signal);

  /** Long polls from the upstream until cancelled; opens once the first poll answered (so a compacted start fails here). */
  async watch(prefix: string, fromRevision: number | undefined, sink: WatchStreamSink, options: { signal?: AbortSignal } = {}): Promise<WatchStreamHandle> {
    return followWatch(this.rpc, prefix, fromRevision, sink, options.signal);
  }
}

/** Poll wait: long enough that an idle watch costs one request per 10 s, short against the request timeout. */
const pollWaitMs = 10_000;

export async function followWatch(rpc: ControlRpcClient, prefix: string, fromRevision: number | undefined, sink: WatchStreamSink, signal?: AbortSignal): Promise<WatchStreamHandle> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const poll = (from: number, waitMs: number): Promise<WatchPollAnswer> =>
    rpc.call<WatchPollAnswer>('watchPoll', { prefix, fromRevision: from, waitMs }, ac.signal, waitMs + ControlRpcLimits.watchWaitMsMax);
  // The first poll answers at once: it fixes the start revision and proves fromRevision is not compacted.
  const status = await rpc.call<{ revision: number }>('raftStatus', {}, ac.signal);
  const startRevision = status.revision;
  const from = fromRevision ?? startRevision + 1;
  const first = await poll(from, 0);
  let resume: (() => void) | undefined;
  let last = from - 1;
  const deliver = async (a: WatchPollAnswer): Promise<void> => {
    const fresh = a.events.filter((e) => e.revision > last);
    if (fresh.length === 0) return;
    last = fresh[fresh.length - 1]!.revision;
    if (!sink.events(fresh)) await new Promise<void>((r) => (resume = r));
  };
  void (async () => {
    try {
      await deliver(first);
      while (!ac.signal.aborted) await deliver(await poll(last + 1, pollWaitMs));
      sink.closed(undefined, last);
    } catch (e) {
      sink.closed(ac.signal.aborted ? undefined : isShoalError(e) ? e : new ShoalError(ErrorCode.Unavailable, String(e)), last);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  })();
  return {
    startRevision,
    fromRevision: from,
    resume: () => {
      const r = resume;
      resume = undefined;
      r?.();
    },
    cancel: () => ac.abort(),
  };
}
