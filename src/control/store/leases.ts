/**
 * Leases, as etcd's lessor. The replicated part (id, TTL, keep-alive count,
 * attached keys) changes only through apply(). Expiry is decided by the
 * leader alone, from its own clock, and happens only when its leaseExpire
 * command is applied: replicas never look at a clock.
 *
 * Deadlines are the leader's soft state, never replicated or snapshotted:
 *  - a lease granted or kept alive has no deadline yet; the leader's next
 *    expiredLeases(nowMs) starts it at nowMs + ttl, so a lease never expires
 *    sooner than its TTL after the leader applied its grant or keep-alive;
 *  - onLeaderChange(nowMs) restarts every deadline at nowMs + ttl (etcd's
 *    Promote): a new leader, whose clock knows nothing of the old one's,
 *    gives every lease a full TTL, so leases survive a leader change.
 * A leaseExpire carries each lease's keep-alive count as the leader saw it;
 * a keep-alive applied in between wins and the lease lives on.
 */
import { assert } from '../../util/assert.js';
import { storeLimits } from './limits.js';
import type { LeaseId } from './types.js';

/** After the leader reported a lease expired, it is reported again only after this, if still present (etcd: 3 s). */
export const expiredLeaseRetryMs = 3000;

export interface LeaseState {
  readonly id: LeaseId;
  readonly ttlMs: number;
  /** Keep-alives applied since the grant. */
  keepAlives: number;
  /** Keys attached to the lease. */
  readonly keys: Set<string>;
}

/** What a leader proposes as a leaseExpire command. */
export interface ExpiredLeases {
  readonly ids: LeaseId[];
  readonly keepAlives: number[];
}

export class Lessor {
  private readonly leases = new Map<LeaseId, LeaseState>();
  /** Leader-local: when each lease expires on this node's clock. Absent: not yet started. */
  private readonly deadlinesMs = new Map<LeaseId, number>();

  get size(): number {
    return this.leases.size;
  }

  get(id: LeaseId): LeaseState | undefined {
    return this.leases.get(id);
  }

  /** Leases in id order (snapshots). */
  all(): LeaseState[] {
    return [...this.leases.values()].sort((a, b) => a.id - b.id);
  }

  grant(id: LeaseId, ttlMs: number, keepAlives = 0): LeaseState {
    assert(!this.leases.has(id), `lease ${id} granted twice`);
    const lease: LeaseState = { id, ttlMs, keepAlives, keys: new Set() };
    this.leases.set(id, lease);
    return lease;
  }

  keepAlive(id: LeaseId): LeaseState {
    const lease = this.leases.get(id);
    assert(lease !== undefined, `keep-alive of unknown lease ${id}`);
    lease.keepAlives++;
    this.deadlinesMs.delete(id);
    return lease;
  }

  /** Forget a lease (revoked or expired); returns its keys, which the caller deletes. */
  remove(id: LeaseId): string[] {
    const lease = this.leases.get(id);
    assert(lease !== undefined, `removal of unknown lease ${id}`);
    this.leases.delete(id);
    this.deadlinesMs.delete(id);
    return [...lease.keys];
  }

  attach(id: LeaseId, key: string): void {
    const lease = this.leases.get(id);
    assert(lease !== undefined, `attach to unknown lease ${id}`);
    lease.keys.add(key);
  }

  detach(id: LeaseId, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }

  /**
   * Leader only: leases whose deadline has passed on its clock, at most
   * storeLimits.leaseExpireIdsMax, earliest deadline first. Starts the
   * deadline of leases not yet started. A lease reported here is reported
   * again only after expiredLeaseRetryMs (its leaseExpire may be lost).
   */
  expiredLeases(leaderNowMs: number): ExpiredLeases {
    const due: { id: LeaseId; deadlineMs: number }[] = [];
    for (const lease of this.leases.values()) {
      const deadlineMs = this.deadlinesMs.get(lease.id);
      if (deadlineMs === undefined) this.deadlinesMs.set(lease.id, leaderNowMs + lease.ttlMs);
      else if (deadlineMs <= leaderNowMs) due.push({ id: lease.id, deadlineMs });
    }
    due.sort((a, b) => a.deadlineMs - b.deadlineMs || a.id - b.id);
    const chosen = due.slice(0, storeLimits.leaseExpireIdsMax);
    for (const d of chosen) this.deadlinesMs.set(d.id, leaderNowMs + expiredLeaseRetryMs);
    return {
      ids: chosen.map((d) => d.id),
      keepAlives: chosen.map((d) => (this.leases.get(d.id) as LeaseState).keepAlives),
    };
  }

  /** This node became leader at nowMs: every lease gets a full TTL from now (etcd's Promote). */
  onLeaderChange(nowMs: number): void {
    for (const lease of this.leases.values()) this.deadlinesMs.set(lease.id, nowMs + lease.ttlMs);
  }

  /** Leader only: time left before the lease expires, or the full TTL if its deadline has not started. */
  remainingTtlMs(id: LeaseId, nowMs: number): number | undefined {
    const lease = this.leases.get(id);
    if (lease === undefined) return undefined;
    const deadlineMs = this.deadlinesMs.get(id);
    return deadlineMs === undefined ? lease.ttlMs : Math.max(0, deadlineMs - nowMs);
  }
}
