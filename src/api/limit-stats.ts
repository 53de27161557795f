/**
 * Counters of the HTTP API's limits: each refusal at a named limit adds one,
 * so a metrics exporter can read them (GET /v1/agent/stats). In memory,
 * local to this agent, reset at restart.
 *
 * countRefusal() is the one place that tells which limit an error answer
 * hit, from what the error carries: our own refusals name their limit in
 * details.limit; size refusals (from the API's schema or from the store's
 * validation, local or forwarded) carry the field and limitBytes or limit.
 */
import { storeLimits } from '../control/store/limits.js';
import { ErrorCode, isShoalError } from '../util/errors.js';
import { AclLimits } from './acl-tokens.js';
import { HttpError } from './config-http.js';

export interface LimitStats {
  /** Requests refused with 429 ERR_RATE_LIMITED: the client's token bucket was empty. */
  rateLimited: number;
  /** Watch streams refused: the client had watchesPerClientMax open. */
  watchesRefused: number;
  /** Lease grants refused: the client had leasesPerClientMax live leases, or the agent's lease table was full. */
  leasesRefused: number;
  /** Request bodies over the route's byte limit (413). */
  bodyTooLarge: number;
  /** Keys or prefixes over keyBytesMax (400). */
  keyTooLarge: number;
  /** Values over valueBytesMax (400). */
  valueTooLarge: number;
  /** Txns over txnOpsMax ops in a list or requestBytesMax of keys and values (400). */
  txnTooLarge: number;
  /** Token creations refused: AclLimits.tokensMax stored tokens exist. */
  tokensRefused: number;
  /** ERR_RESOURCE_EXHAUSTED from the control plane: the store's keys, leases or watches, or requests in flight. */
  capacityRefused: number;
  /** ERR_NO_SPACE from the control plane: a write refused at the store's space quota (507). */
  noSpace: number;
  /** Client buckets evicted (least recently used) to keep the table within clientsMax. */
  clientsEvicted: number;
  /** Connections Node dropped at once because connectionsMax were open. */
  connectionsDropped: number;
}

export function newLimitStats(): LimitStats {
  return {
    rateLimited: 0,
    watchesRefused: 0,
    leasesRefused: 0,
    bodyTooLarge: 0,
    keyTooLarge: 0,
    valueTooLarge: 0,
    txnTooLarge: 0,
    tokensRefused: 0,
    capacityRefused: 0,
    noSpace: 0,
    clientsEvicted: 0,
    connectionsDropped: 0,
  };
}

/** Names our own refusals put in details.limit, and the counter each moves. */
export const limitCounters = {
  requestsPerSecond: 'rateLimited',
  watchesPerClientMax: 'watchesRefused',
  leasesPerClientMax: 'leasesRefused',
  leasesTrackedMax: 'leasesRefused',
} as const satisfies Record<string, keyof LimitStats>;

/** The counter an error answer moves, or undefined when it hit no limit. */
export function limitHit(e: unknown): keyof LimitStats | undefined {
  let code: string;
  let details: Readonly<Record<string, unknown>> | undefined;
  if (e instanceof HttpError) {
    if (e.status === 413) return 'bodyTooLarge';
    code = e.code;
    details = e.details;
  } else if (isShoalError(e)) {
    code = e.code;
    details = e.details;
  } else return undefined;
  const limit = details?.limit;
  if (typeof limit === 'string' && Object.hasOwn(limitCounters, limit)) return limitCounters[limit as keyof typeof limitCounters];
  if (code === ErrorCode.NoSpace) return 'noSpace';
  if (code === ErrorCode.ResourceExhausted) {
    if (!(e instanceof HttpError)) return 'capacityRefused';
    return limit === AclLimits.tokensMax ? 'tokensRefused' : undefined;
  }
  const field = typeof details?.field === 'string' ? details.field : '';
  if (typeof details?.limitBytes === 'number') {
    if (field === 'request') return 'txnTooLarge';
    if (/(^|\.)(key|prefix)$/.test(field)) return 'keyTooLarge';
    if (/(^|\.)value$/.test(field)) return 'valueTooLarge';
  }
  if (limit === storeLimits.txnOpsMax && /^(compare|success|failure)$/.test(field)) return 'txnTooLarge';
  return undefined;
}

/** Counts the refusal e stands for, if it hit a limit. */
export function countRefusal(stats: LimitStats, e: unknown): void {
  const counter = limitHit(e);
  if (counter !== undefined) stats[counter]++;
}
