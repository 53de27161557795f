/**
 * Lease expiry on the leader: every leaseCheckIntervalMs it asks the store
 * which leases expired on ITS clock and proposes one leaseExpire for them.
 * On becoming leader it first gives every lease a full TTL from now
 * (store.onLeaderChange), so a lease never ends before its TTL on the
 * leader's clock, whatever happened before the leader changed.
 *
 * The leader's own commands need a request id for the store's dedup: one
 * client per core instance (`shoal.leader/<name>/<incarnation>/<generation>`)
 * numbering its commands. If the first command of a client is lost the store
 * refuses the next as ERR_SESSION_EXPIRED; the client then starts a new
 * generation at seq 1.
 */
import { ErrorCode } from '../util/errors.js';
import type { Command } from './store/commands.js';
import type { ConfigStore } from './store/config-store.js';
import type { RequestId } from './store/types.js';

export class InternalClient {
  private generation = 0;
  private seq = 0;

  constructor(
    private readonly name: string,
    private readonly incarnation: string,
  ) {}

  next(): RequestId {
    this.seq++;
    return { client: `shoal.leader/${this.name}/${this.incarnation}/${this.generation}`, seq: this.seq };
  }

  /** A command of this client was applied with `code` (undefined: ok). */
  onResult(code: string | undefined): void {
    if (code === ErrorCode.SessionExpired || code === ErrorCode.StaleRequest) {
      this.generation++;
      this.seq = 0;
    }
  }
}

export class LeaseDriver {
  private nextCheckMs = 0;
  private promotePending = false;

  constructor(private readonly checkIntervalMs: number) {}

  /** This member became leader; the next tick restarts every lease's TTL on its clock. */
  becameLeader(): void {
    this.promotePending = true;
  }

  /** Leader tick: the leaseExpire command to propose, if any (`busy`: one is still in flight). */
  tick(store: ConfigStore, nowMs: number, busy: boolean, req: () => RequestId): Command | undefined {
    if (this.promotePending) {
      this.promotePending = false;
      store.onLeaderChange(nowMs);
      this.nextCheckMs = nowMs + this.checkIntervalMs;
      return undefined;
    }
    if (busy || nowMs < this.nextCheckMs) return undefined;
    this.nextCheckMs = nowMs + this.checkIntervalMs;
    const expired = store.expiredLeases(nowMs);
    if (expired === undefined) return undefined;
    return { type: 'leaseExpire', req: req(), ids: expired.ids, keepAlives: expired.keepAlives, leaderTimeMs: Math.max(0, Math.floor(nowMs)) };
  }
}
