/**
 * Serving one request frame, the same in the real transport and its
 * simulated twin: refuse at once when no plane serves the kind or too many
 * requests from that peer are in progress; otherwise call the handler with
 * a signal that aborts when the connection goes, and answer with its result
 * or its error (a ShoalError's code travels back; anything else is a bug,
 * counted).
 */
import { ErrorCode, ShoalError } from '../util/errors.js';
import { encodeErrorPayload } from './error-payload.js';
import { FrameType } from './kinds.js';
import type { ClusterTransportStats } from './stats.js';
import type { PeerInfo, StreamHandler } from './transport.js';

export interface ServeContext {
  selfName: string;
  kind: number;
  peer: PeerInfo;
  stats: ClusterTransportStats;
  servingMax: number;
  /** Requests from this peer (connection) in progress: each one's controller, removed when answered. */
  inProgress: Set<AbortController>;
  answer(type: FrameType, body: Uint8Array): void;
  /** A handler threw something that is not a ShoalError (kept for diagnosis). */
  bug(e: unknown): void;
}

export function serveRequest(handler: StreamHandler | undefined, payload: Uint8Array, ctx: ServeContext): void {
  if (handler?.request === undefined) {
    ctx.stats.framesUnrouted++;
    ctx.answer(FrameType.ErrorResponse, encodeErrorPayload(new ShoalError(ErrorCode.Unavailable, `${ctx.selfName} serves no requests of kind ${ctx.kind}`)));
    return;
  }
  if (ctx.inProgress.size >= ctx.servingMax) {
    ctx.stats.requestsRefusedBusy++;
    ctx.answer(FrameType.ErrorResponse, encodeErrorPayload(new ShoalError(ErrorCode.Unavailable, `${ctx.selfName} is serving ${ctx.inProgress.size} requests from ${ctx.peer.name}`)));
    return;
  }
  const ac = new AbortController();
  ctx.inProgress.add(ac);
  let result: Promise<Uint8Array>;
  try {
    result = handler.request(ctx.peer, payload, ac.signal);
  } catch (e) {
    result = Promise.reject(e);
  }
  result.then(
    (body) => {
      ctx.inProgress.delete(ac);
      ctx.stats.requestsServed++;
      ctx.answer(FrameType.Response, body);
    },
    (e: unknown) => {
      ctx.inProgress.delete(ac);
      if (!(e instanceof ShoalError)) {
        ctx.stats.handlerErrors++;
        ctx.bug(e);
      }
      ctx.answer(FrameType.ErrorResponse, encodeErrorPayload(e));
    },
  );
}
