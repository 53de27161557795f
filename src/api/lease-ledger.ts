/**
 * The leases each client granted through this agent's API and that are
 * still live as far as this agent can tell, for the per-client lease limit.
 * Pure: the caller passes the time.
 *
 * A lease is forgotten when it is revoked through this agent, when a
 * keep-alive or revoke through this agent finds it gone (404), or when its
 * TTL has run out since its grant or last keep-alive through this agent.
 * So the count is an upper bound for at most one TTL: a lease revoked
 * through another agent still counts here until its TTL runs out. A lease
 * kept alive only through other agents is forgotten early here (the store's
 * own cap, leasesMax, still bounds it).
 *
 * Grants in flight are reserved first, so concurrent grants of one client
 * cannot overshoot its limit. The whole ledger holds at most trackedMax
 * leases: more live leases than the store's cap cannot exist, so past it
 * (after dropping expired ones) grants are refused.
 */
import { assert } from '../util/assert.js';

export interface LeaseLedgerLimits {
  /** Live leases (granted and reserved) per client. */
  perClientMax: number;
  /** Leases tracked for all clients together. */
  trackedMax: number;
}

/** Why a reservation was refused: the client's own limit, or the agent-wide table. */
export type ReserveResult = { ok: true } | { ok: false; limit: 'perClient' | 'tracked' };

export class LeaseLedger {
  /** client → lease id → expiry (ms, caller's clock). */
  private readonly byClient = new Map<string, Map<number, number>>();
  private readonly owner = new Map<number, string>();
  private readonly pending = new Map<string, number>();
  private pendingTotal = 0;
  /** When every client's expired leases were last dropped (at most once a second: it is O(tracked)). */
  private sweptAtMs = -Infinity;

  constructor(private readonly limits: Readonly<LeaseLedgerLimits>) {
    assert(Number.isSafeInteger(limits.perClientMax) && limits.perClientMax >= 1, `perClientMax must be a positive integer, not ${limits.perClientMax}`);
    assert(Number.isSafeInteger(limits.trackedMax) && limits.trackedMax >= 1, `trackedMax must be a positive integer, not ${limits.trackedMax}`);
  }

  /** Leases tracked, grants in flight included. */
  get size(): number {
    return this.owner.size + this.pendingTotal;
  }

  /** Live leases of client (grants in flight included) at nowMs. */
  count(client: string, nowMs: number): number {
    this.dropExpired(client, nowMs);
    return (this.byClient.get(client)?.size ?? 0) + (this.pending.get(client) ?? 0);
  }

  /** Reserves room for one grant; then granted() or released(), exactly once. */
  reserve(client: string, nowMs: number): ReserveResult {
    if (this.count(client, nowMs) >= this.limits.perClientMax) return { ok: false, limit: 'perClient' };
    if (this.size >= this.limits.trackedMax && nowMs - this.sweptAtMs >= 1000) {
      this.sweptAtMs = nowMs;
      for (const c of [...this.byClient.keys()]) this.dropExpired(c, nowMs);
    }
    if (this.size >= this.limits.trackedMax) return { ok: false, limit: 'tracked' };
    this.pending.set(client, (this.pending.get(client) ?? 0) + 1);
    this.pendingTotal++;
    return { ok: true };
  }

  /** The reserved grant failed. */
  released(client: string): void {
    this.unreserve(client);
  }

  /** The reserved grant succeeded: lease id lives for ttlMs from nowMs. */
  granted(client: string, id: number, ttlMs: number, nowMs: number): void {
    this.unreserve(client);
    this.forget(id);
    let leases = this.byClient.get(client);
    if (leases === undefined) this.byClient.set(client, (leases = new Map()));
    leases.set(id, nowMs + ttlMs);
    this.owner.set(id, client);
  }

  /** A keep-alive through this agent (by any client) succeeded. */
  keptAlive(id: number, ttlMs: number, nowMs: number): void {
    const client = this.owner.get(id);
    if (client !== undefined) this.byClient.get(client)!.set(id, nowMs + ttlMs);
  }

  /** The lease was revoked, or found gone. */
  forget(id: number): void {
    const client = this.owner.get(id);
    if (client === undefined) return;
    this.owner.delete(id);
    const leases = this.byClient.get(client)!;
    leases.delete(id);
    if (leases.size === 0) this.byClient.delete(client);
  }

  private unreserve(client: string): void {
    const n = this.pending.get(client) ?? 0;
    assert(n > 0, `no grant of ${client} is reserved`);
    if (n === 1) this.pending.delete(client);
    else this.pending.set(client, n - 1);
    this.pendingTotal--;
  }

  private dropExpired(client: string, nowMs: number): void {
    const leases = this.byClient.get(client);
    if (leases === undefined) return;
    for (const [id, expiresAtMs] of leases) if (expiresAtMs <= nowMs) this.forget(id);
  }
}
