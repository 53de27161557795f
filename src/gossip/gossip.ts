import type { GossipContext } from './context.js';
import { MemberState } from './messages.js';
import type { MemberTable } from './state.js';

/**
 * The separate gossip loop: every gossipIntervalMs, send pending broadcasts
 * to gossipNodes random live members, and to members dead for less than
 * gossipToTheDeadMs (so a wrongly declared member hears it and refutes).
 * It runs for the core's whole life: after a leave it spreads the Leave.
 */
export class GossipLoop {
  constructor(
    private readonly ctx: GossipContext,
    private readonly table: MemberTable,
  ) {}

  start(nowMs: number): void {
    const c = this.ctx.config;
    if (c.gossipNodes === 0 || c.gossipIntervalMs === 0) return;
    this.ctx.timers.schedule(nowMs + c.gossipIntervalMs, (t) => {
      this.round(t);
      this.start(t);
    });
  }

  private round(nowMs: number): void {
    const c = this.ctx.config;
    if (this.ctx.queue.length === 0) return;
    const rows = this.table.rows;
    const peers = this.table.randomMembers(c.gossipNodes, (slot) => {
      const state = rows.state(slot);
      if (state === MemberState.Alive || state === MemberState.Suspect) return true;
      return state === MemberState.Dead && nowMs - rows.stateChangeMs(slot) <= c.gossipToTheDeadMs;
    });
    this.ctx.stats.gossipRounds++;
    for (const slot of peers) if (!this.ctx.out.gossip(rows.addr(slot))) return;
  }
}
