import type { GossipContext } from './context.js';
import { MemberState } from './messages.js';
import type { MemberTable } from './state.js';
import type { TimerHandle } from './timers.js';

/**
 * The separate gossip loop: every gossipIntervalMs, send pending broadcasts
 * to gossipNodes random live members, and to members dead for less than
 * gossipToTheDeadMs (so a wrongly declared member hears it and refutes).
 */
export class GossipLoop {
  private timer: TimerHandle | undefined;

  constructor(
    private readonly ctx: GossipContext,
    private readonly table: MemberTable,
  ) {}

  start(nowMs: number): void {
    const c = this.ctx.config;
    if (c.gossipNodes === 0 || c.gossipIntervalMs === 0) return;
    this.timer = this.ctx.timers.schedule(nowMs + c.gossipIntervalMs, (t) => {
      this.round(t);
      this.start(t);
    });
  }

  stop(): void {
    this.ctx.timers.cancel(this.timer);
    this.timer = undefined;
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
