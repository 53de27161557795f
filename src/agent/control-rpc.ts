/**
 * The control plane's member-to-member requests (StreamKind.Control): a
 * member outside the Raft group forwards writes, linearizable reads, lease
 * calls, leadership transfer and peer removal to a Raft member, and follows
 * the config through paginated ranges and long-poll watches — all over the
 * cluster transport, never through another member's public HTTP API.
 *
 * A request is forwarded at most once: the member that receives one serves
 * it from its own Raft node or fails at once (ERR_UNAVAILABLE, details
 * { notRaftMember: true }); it never passes it on.
 *
 * Bodies are JSON (the API's own views), bounded by the frame size, and
 * checked with the HTTP API's validators: a peer's request is input like any
 * other.
 */
import type { ControlApi, WatchEventView } from '../api/config-types.js';
import { HttpError } from '../api/config-http.js';
import { checkKey, checkPrefix, parseLeaseGrantBody, parsePutBody, parseTxnBody, strictObject } from '../api/config-schema.js';
import type { ClusterTransport, PeerInfo } from '../cluster/transport.js';
import { StreamKind } from '../cluster/kinds.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

export const ControlRpcLimits = {
  /** A long-poll watch waits at most this long for a change before answering empty (the follower asks again). */
  watchWaitMsMax: 30_000,
  /** Bytes of events in one long-poll answer: well under the frame limit, and whole revisions only. */
  watchBytesMax: 1024 * 1024,
  /** Requests bodies are commands and a few options; 4 MiB covers the largest value and txn. */
  requestBytesMax: 4 * 1024 * 1024,
} as const;

export const controlOps = [
  'raftStatus',
  'get',
  'range',
  'put',
  'delete',
  'txn',
  'leaseGrant',
  'leaseKeepAlive',
  'leaseRevoke',
  'transferLeader',
  'removePeer',
  'compact',
  'watchPoll',
] as const;
export type ControlOp = (typeof controlOps)[number];

export interface WatchPollAnswer {
  events: WatchEventView[];
  /** The upstream store's revision when it answered. */
  revision: number;
}

export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value ?? null));
}

export function decodeJson(payload: Uint8Array, maxBytes: number, what: string): unknown {
  if (payload.length > maxBytes) throw new ShoalError(ErrorCode.FrameTooLarge, `${what} of ${payload.length} bytes exceeds ${maxBytes}`);
  try {
    return JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    throw new ShoalError(ErrorCode.DecodeFailed, `${what} is not valid JSON`);
  }
}

function uint(v: unknown, field: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new ShoalError(ErrorCode.BadRequest, `${field} must be an integer >= ${min}`, { details: { field } });
  return v;
}

function optionalUint(v: unknown, field: string, min = 0): number | undefined {
  return v === undefined || v === null ? undefined : uint(v, field, min);
}

/** A validator's HttpError as the ShoalError a peer gets back. */
function asShoal(e: unknown): unknown {
  if (e instanceof HttpError) return new ShoalError(e.code as ErrorCode, e.message, e.details === undefined ? undefined : { details: e.details });
  return e;
}

export interface ControlRpcServerOptions {
  name: string;
  /** The local Raft node's API, while this member is a voter or learner; undefined otherwise. */
  local(): ControlApi | undefined;
}

/** Serve StreamKind.Control requests from the local Raft node. */
export function serveControlRpc(transport: ClusterTransport, options: ControlRpcServerOptions): void {
  transport.handle(StreamKind.Control, {
    request: async (peer, payload, signal) => {
      try {
        return encodeJson(await dispatch(peer, payload, signal, options));
      } catch (e) {
        throw asShoal(e);
      }
    },
  });
}

async function dispatch(peer: PeerInfo, payload: Uint8Array, signal: AbortSignal, options: ControlRpcServerOptions): Promise<unknown> {
  const body = strictObject(decodeJson(payload, ControlRpcLimits.requestBytesMax, 'control request'), 'request', ['op', 'args'], ['op']);
  const op = body.op;
  if (typeof op !== 'string' || !(controlOps as readonly string[]).includes(op)) throw new ShoalError(ErrorCode.BadRequest, `unknown control op ${String(op)}`);
  const api = options.local();
  if (api === undefined) {
    throw new ShoalError(ErrorCode.Unavailable, `${options.name} is not a voter or learner, so it cannot serve a request forwarded by ${peer.name} (forwarded requests are never forwarded again)`, {
      details: { notRaftMember: true },
    });
  }
  const a = (body.args ?? {}) as Record<string, unknown>;
  if (a === null || typeof a !== 'object' || Array.isArray(a)) throw new ShoalError(ErrorCode.BadRequest, 'args must be an object');
  const read = { serializable: a.serializable === true, ...(a.revision === undefined ? {} : { revision: uint(a.revision, 'revision', 1) }), signal };
  switch (op as ControlOp) {
    case 'raftStatus':
      return api.raftStatus();
    case 'get':
      return api.get(checkKey(a.key, 'key'), read);
    case 'range': {
      const limit = optionalUint(a.limit, 'limit', 1);
      const limitBytes = optionalUint(a.limitBytes, 'limitBytes', 1);
      const page = {
        ...(limit === undefined ? {} : { limit }),
        ...(limitBytes === undefined ? {} : { limitBytes }),
        ...(typeof a.after === 'string' ? { after: a.after } : {}),
        ...(typeof a.continuation === 'string' ? { continuation: a.continuation } : {}),
      };
      return api.range(checkPrefix(String(a.prefix ?? ''), 'prefix'), { ...read, ...page });
    }
    case 'put': {
      const { key, ...body } = strictObject(a.request, 'request', ['key', 'value', 'lease', 'prevRevision'], ['key', 'value']);
      return api.put(parsePutBody(body, checkKey(key, 'key')), { signal });
    }
    case 'delete':
      return api.delete(checkKey(a.key, 'key'), { signal });
    case 'txn':
      return api.txn(parseTxnBody(a.request), { signal });
    case 'leaseGrant':
      return api.leaseGrant(parseLeaseGrantBody(a.request), { signal });
    case 'leaseKeepAlive':
      return api.leaseKeepAlive(uint(a.id, 'id', 1), { signal });
    case 'leaseRevoke':
      return api.leaseRevoke(uint(a.id, 'id', 1), { signal });
    case 'transferLeader':
      return api.transferLeader(a.to === undefined || a.to === null ? undefined : String(a.to), { signal });
    case 'removePeer':
      return api.removePeer(String(a.name ?? ''), { signal });
    case 'compact':
      return api.compact(uint(a.revision, 'revision', 1), { signal });
    case 'watchPoll':
      return watchPoll(api, checkPrefix(String(a.prefix ?? ''), 'prefix'), uint(a.fromRevision, 'fromRevision', 1), Math.min(uint(a.waitMs, 'waitMs'), ControlRpcLimits.watchWaitMsMax), signal);
  }
}

/**
 * The changes under prefix from fromRevision: what the history already
 * holds, else whatever arrives within waitMs. Whole revisions only, at most
 * watchBytesMax (the caller asks again from the last revision + 1).
 */
async function watchPoll(api: ControlApi, prefix: string, fromRevision: number, waitMs: number, signal: AbortSignal): Promise<WatchPollAnswer> {
  const events: WatchEventView[] = [];
  let bytes = 0;
  let finish!: (error?: ShoalError) => void;
  const done = new Promise<ShoalError | undefined>((resolve) => (finish = resolve));
  let coalesce: NodeJS.Immediate | undefined;
  const handle = await api.watch(
    prefix,
    fromRevision,
    {
      events: (batch) => {
        for (const e of batch) {
          events.push(e);
          bytes += e.kv.key.length + e.kv.value.length + (e.prevKv === undefined ? 0 : e.prevKv.key.length + e.prevKv.value.length) + 64;
        }
        if (bytes >= ControlRpcLimits.watchBytesMax) {
          finish();
          return false;
        }
        // Answer once this turn's replay (or commit batch) is in.
        coalesce ??= setImmediate(() => finish());
        return true;
      },
      closed: (error) => finish(error),
    },
    { signal },
  );
  const timer = setTimeout(() => finish(), waitMs);
  const onAbort = (): void => finish(new ShoalError(ErrorCode.Aborted, 'watch poll aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const error = await done;
    if (error !== undefined && events.length === 0) throw error;
    return { events, revision: (await api.raftStatus()).revision };
  } finally {
    clearTimeout(timer);
    if (coalesce !== undefined) clearImmediate(coalesce);
    signal.removeEventListener('abort', onAbort);
    handle.cancel();
  }
}
