/**
 * Per-client limits of the HTTP API: requests per second (a token bucket),
 * open watch streams, and live leases granted through this agent. Past a
 * limit the request is refused with 429 and nothing is done; the refusal is
 * counted (limit-stats.ts).
 *
 * The client is the token a request was let in with when the agent has a
 * management token: each stored token's id, and the management token. With
 * no token configured it is the remote address (an IPv6 address by its /64,
 * what one host or site is given), and loopback addresses are exempt
 * (defaultClientLimits.loopbackExemptWithoutToken says why). A request whose
 * token is refused (401) is charged to its remote address, so a flood of
 * wrong tokens is limited too.
 */
import type * as http from 'node:http';
import { defaultStoreCapacity } from '../control/store/limits.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { HttpError } from './config-http.js';
import type { LeaseView } from './config-types.js';
import { LeaseLedger } from './lease-ledger.js';
import type { LimitStats } from './limit-stats.js';
import { RateBuckets } from './rate-buckets.js';

export interface ClientLimits {
  /** Sustained API requests per second per client. */
  requestsPerSecond: number;
  /** Requests a client may send at once after being idle (the bucket's size). */
  requestBurstMax: number;
  /** Clients with a rate bucket; past it the least recently used bucket is evicted. */
  clientsMax: number;
  /** Open watch streams per client. */
  watchesPerClientMax: number;
  /** Live leases a client granted through this agent. */
  leasesPerClientMax: number;
  /** Leases tracked for all clients together. */
  leasesTrackedMax: number;
  /** Without a management token, requests from a loopback address are not limited per client. */
  loopbackExemptWithoutToken: boolean;
}

export const defaultClientLimits: Readonly<ClientLimits> = Object.freeze({
  // A CLI call or a service's config sync makes a few requests a second, a deploy tool a few dozen:
  // 200/s is far above that and a small share of what one agent serves (npm run bench:config
  // measures it), so no one client can take the agent from the others.
  requestsPerSecond: 200,
  // Two seconds' worth: a client starting up (list, watch, a batch of puts) is not throttled.
  requestBurstMax: 400,
  // Tokens are at most 1,001 (AclLimits.tokensMax and the management token), but source addresses
  // are not bounded: a flood of them evicts the least recently used buckets instead of growing
  // memory (about 100 bytes a bucket, 1 MiB in all).
  clientsMax: 10_000,
  // One watch per prefix a client follows: 64 is generous, and leaves most of the API's 256
  // connections (HttpApiLimits.connectionsMax) to the others. Watch a common prefix for more.
  watchesPerClientMax: 64,
  // Leases are replicated state (every replica, every snapshot). One per service instance is the
  // common use; one token or address rarely runs a thousand. The store's cap (leasesMax) bounds
  // all clients together.
  leasesPerClientMax: 1_000,
  // The store's own cap: more live leases than that cannot exist, so more tracked ones are stale.
  leasesTrackedMax: defaultStoreCapacity.leasesMax,
  // Without --api-token every local process has the management scope and all share one identity,
  // the loopback address: one bucket for all would let a busy tool (npm run bench:config runs 64
  // clients flat out) throttle `shoal members` without telling anyone apart, while anyone local can
  // stop the agent anyway. With a token, loopback clients are limited per token like any other.
  loopbackExemptWithoutToken: true,
});

/** The defaults with the given fields replaced; ERR_INVALID_CONFIG naming a bad field. */
export function resolveClientLimits(given: Partial<ClientLimits> = {}): Readonly<ClientLimits> {
  const limits = { ...defaultClientLimits, ...given };
  const bad = (field: string, why: string): ShoalError =>
    new ShoalError(ErrorCode.InvalidConfig, `invalid config: clientLimits.${field} ${why}`, { details: { field: `clientLimits.${field}` } });
  for (const field of ['requestsPerSecond', 'requestBurstMax'] as const) {
    const v = limits[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(field, `must be a positive finite number, not ${String(v)}`);
  }
  if (limits.requestBurstMax < 1) throw bad('requestBurstMax', `must be at least 1, not ${limits.requestBurstMax}`);
  for (const field of ['clientsMax', 'watchesPerClientMax', 'leasesPerClientMax', 'leasesTrackedMax'] as const) {
    const v = limits[field];
    if (!Number.isSafeInteger(v) || v < 1) throw bad(field, `must be a positive integer, not ${String(v)}`);
  }
  if (typeof limits.loopbackExemptWithoutToken !== 'boolean') throw bad('loopbackExemptWithoutToken', 'must be true or false');
  return Object.freeze(limits);
}

/**
 * The client key of a remote address: an IPv4 address as is (IPv4-mapped
 * IPv6 too), an IPv6 address by its /64. Undefined for an unknown address.
 */
export function addressClient(remoteAddress: string | undefined): string | undefined {
  if (remoteAddress === undefined || remoteAddress === '') return undefined;
  let a = remoteAddress.toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice('::ffff:'.length);
  if (!a.includes(':')) return `ip ${a}`;
  if (a === '::1') return 'ip ::1';
  const groups = expandIpv6(a);
  return groups === undefined ? `ip ${a}` : `ip ${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail counts as two), or undefined if malformed. */
function expandIpv6(a: string): string[] | undefined {
  const width = (parts: string[]): number => parts.reduce((n, p) => n + (p.includes('.') ? 2 : 1), 0);
  const halves = a.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 1 || halves[1] === '' ? [] : halves[1]!.split(':');
  const missing = 8 - width(head) - width(tail);
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail];
  const hex = groups.slice(0, 4).map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16).toString(16) : undefined));
  return hex.every((g) => g !== undefined) ? (hex as string[]) : undefined;
}

const isLoopbackClient = (client: string): boolean => client === 'ip ::1' || client.startsWith('ip 127.');

/** What the routes may ask of a request's client; a no-op for an exempt client except the table-wide calls. */
export interface ClientQuota {
  /** Holds one watch slot until res closes; throws 429 ERR_RESOURCE_EXHAUSTED past watchesPerClientMax. */
  holdWatch(res: http.ServerResponse): void;
  /** Grants a lease within the client's limit (429 ERR_RESOURCE_EXHAUSTED past it) and records it. */
  grantLease(grant: () => Promise<LeaseView>): Promise<LeaseView>;
  /** A keep-alive through this agent succeeded (whoever granted the lease). */
  leaseKeptAlive(lease: LeaseView): void;
  /** The lease was revoked through this agent, or found gone (ERR_NOT_FOUND). */
  leaseGone(id: number): void;
}

/** The per-client state of one HTTP API server: rate buckets, open watches, leases. */
export class ClientLimiter {
  private readonly buckets: RateBuckets;
  /** client → open watch streams; a client with none has no entry, so the map is bounded by open connections. */
  private readonly watches = new Map<string, number>();
  private readonly leases: LeaseLedger;

  constructor(
    readonly limits: Readonly<ClientLimits>,
    private readonly stats: LimitStats,
    /** A monotonic clock in ms. */
    private readonly nowMs: () => number,
  ) {
    this.buckets = new RateBuckets({ perSecond: limits.requestsPerSecond, burstMax: limits.requestBurstMax, clientsMax: limits.clientsMax });
    this.leases = new LeaseLedger({ perClientMax: limits.leasesPerClientMax, trackedMax: limits.leasesTrackedMax });
  }

  /** Clients with a rate bucket. */
  get clients(): number {
    return this.buckets.size;
  }

  get watchesOpen(): number {
    let n = 0;
    for (const open of this.watches.values()) n += open;
    return n;
  }

  /** Leases tracked (grants in flight included). */
  get leasesTracked(): number {
    return this.leases.size;
  }

  /**
   * The client a request counts against: its token when the agent has one
   * (tokenId '' is the management token), else its address; undefined when exempt.
   */
  clientOf(authEnabled: boolean, tokenId: string, remoteAddress: string | undefined): string | undefined {
    if (authEnabled) return tokenId === '' ? 'management token' : `token ${tokenId}`;
    const client = addressClient(remoteAddress) ?? 'ip unknown';
    return this.limits.loopbackExemptWithoutToken && isLoopbackClient(client) ? undefined : client;
  }

  /** Takes one request from the client's bucket; throws 429 ERR_RATE_LIMITED (details.retryAfterMs) when it is empty. */
  admit(client: string | undefined): void {
    if (client === undefined) return;
    const r = this.buckets.take(client, this.nowMs());
    this.stats.clientsEvicted = this.buckets.evicted;
    if (r.ok) return;
    throw new HttpError(
      429,
      ErrorCode.RateLimited,
      `too many requests: at most ${this.limits.requestsPerSecond} a second (bursts of ${this.limits.requestBurstMax}) per client; retry after ${r.retryAfterMs} ms`,
      { limit: 'requestsPerSecond', perSecond: this.limits.requestsPerSecond, burstMax: this.limits.requestBurstMax, retryAfterMs: r.retryAfterMs },
    );
  }

  quota(client: string | undefined): ClientQuota {
    return {
      holdWatch: (res) => this.holdWatch(client, res),
      grantLease: (grant) => this.grantLease(client, grant),
      leaseKeptAlive: (lease) => this.leases.keptAlive(lease.id, lease.ttlMs, this.nowMs()),
      leaseGone: (id) => this.leases.forget(id),
    };
  }

  private holdWatch(client: string | undefined, res: http.ServerResponse): void {
    if (client === undefined || res.destroyed) return;
    const max = this.limits.watchesPerClientMax;
    const open = this.watches.get(client) ?? 0;
    if (open >= max) {
      throw new HttpError(429, ErrorCode.ResourceExhausted, `this client has ${open} watch streams open, at most ${max}: close one, or watch a common prefix`, {
        limit: 'watchesPerClientMax',
        max,
      });
    }
    this.watches.set(client, open + 1);
    res.once('close', () => {
      const n = this.watches.get(client) ?? 0;
      if (n <= 1) this.watches.delete(client);
      else this.watches.set(client, n - 1);
    });
  }

  private async grantLease(client: string | undefined, grant: () => Promise<LeaseView>): Promise<LeaseView> {
    if (client === undefined) return grant();
    const reserved = this.leases.reserve(client, this.nowMs());
    if (!reserved.ok) {
      const perClient = reserved.limit === 'perClient';
      const max = perClient ? this.limits.leasesPerClientMax : this.limits.leasesTrackedMax;
      throw new HttpError(
        429,
        ErrorCode.ResourceExhausted,
        perClient
          ? `this client has ${max} live leases granted through this agent, at most ${max}: revoke some or let them expire`
          : `this agent tracks ${max} leases granted through it, at most ${max}: revoke some or let them expire`,
        { limit: perClient ? 'leasesPerClientMax' : 'leasesTrackedMax', max },
      );
    }
    let lease: LeaseView;
    try {
      lease = await grant();
    } catch (e) {
      this.leases.released(client);
      throw e;
    }
    this.leases.granted(client, lease.id, lease.ttlMs, this.nowMs());
    return lease;
  }
}
