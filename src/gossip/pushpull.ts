import type { Address } from '../util/address.js';
import type { GossipContext } from './context.js';
import { DropReason } from './events.js';
import { MemberState, MessageType, type PushNodeState, type PushPullMsg } from './messages.js';
import type { MemberTable } from './state.js';
import type { TimerHandle } from './timers.js';
import type { UserEvents } from './userevents.js';

/** Above this many members the push-pull interval grows (memberlist's pushPullScaleThreshold). */
export const PUSH_PULL_SCALE_THRESHOLD = 32;
/** Node states accepted from one push-pull; more are refused and counted. */
export const PUSH_STATES_MAX = 16_384;
/**
 * After a join is answered, one more push-pull with a random other member
 * follows JOIN_SYNC_FIRST_DELAY_PROBES probe intervals later, and again at
 * doubling delays (at most JOIN_SYNCS_MAX in all) while the table keeps growing
 * between two syncs, i.e. while a join storm goes on. Beyond memberlist: in a
 * storm a node misses the Alive of members that joined while few knew this
 * node (each epidemic ends after retransmitMult * log10(n) sends); these syncs
 * close such holes within seconds instead of a full push-pull interval.
 */
export const JOIN_SYNC_FIRST_DELAY_PROBES = 2;
export const JOIN_SYNCS_MAX = 3;
/** Random tries to find a recently dead member to re-contact. */
const RECONNECT_PICK_TRIES = 16;

/** memberlist's pushPullScale: interval * (ceil(log2(n) - log2(32)) + 1) above 32 members. */
export function pushPullScaleMs(intervalMs: number, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return intervalMs;
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
  return multiplier * intervalMs;
}

/**
 * Anti-entropy of membership: periodic full-state exchange with one random
 * live member over a stream, the join exchange with seeds, and (beyond
 * memberlist) periodic re-contact of a recently dead member so the halves of a
 * healed partition merge by themselves.
 */
export class PushPull {
  private periodicTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private joinSyncTimer: TimerHandle | undefined;

  constructor(
    private readonly ctx: GossipContext,
    private readonly table: MemberTable,
    private readonly userEvents: UserEvents,
  ) {}

  start(nowMs: number): void {
    this.schedulePeriodic(nowMs);
    this.scheduleReconnect(nowMs);
  }

  stop(): void {
    this.ctx.timers.cancel(this.periodicTimer);
    this.ctx.timers.cancel(this.reconnectTimer);
    this.ctx.timers.cancel(this.joinSyncTimer);
    this.periodicTimer = undefined;
    this.reconnectTimer = undefined;
    this.joinSyncTimer = undefined;
  }

  /** Starts a push-pull with one seed. */
  send(to: Address, join: boolean): void {
    this.ctx.out.frame(to, this.localState(join, false));
    this.ctx.stats.pushPullsStarted++;
  }

  private schedulePeriodic(nowMs: number): void {
    const c = this.ctx.config;
    if (c.pushPullIntervalMs === 0) return;
    const atMs = nowMs + pushPullScaleMs(c.pushPullIntervalMs, this.table.numLive());
    this.periodicTimer = this.ctx.timers.schedule(atMs, (t) => {
      const rows = this.table.rows;
      const [peer] = this.table.randomMembers(1, (slot) => rows.state(slot) === MemberState.Alive);
      if (peer !== undefined) this.send(rows.addr(peer), false);
      this.schedulePeriodic(t);
    });
  }

  /** A join was answered: start the follow-up syncs (several seeds answering start them once). */
  private onJoinAnswered(seedName: string, nowMs: number): void {
    if (this.joinSyncTimer === undefined) this.scheduleJoinSync(seedName, 0, this.table.size, nowMs);
  }

  /** Follow-up sync number `round`; after the first, only if the table grew since sizeBefore. */
  private scheduleJoinSync(seedName: string, round: number, sizeBefore: number, nowMs: number): void {
    if (this.table.leaving || round >= JOIN_SYNCS_MAX) return;
    const delayMs = (JOIN_SYNC_FIRST_DELAY_PROBES << round) * this.ctx.config.probeIntervalMs;
    this.joinSyncTimer = this.ctx.timers.schedule(nowMs + delayMs, (firedMs) => {
      this.joinSyncTimer = undefined;
      if (round > 0 && this.table.size <= sizeBefore) return; // no one joined lately: the storm is over
      const rows = this.table.rows;
      const [peer] = this.table.randomMembers(1, (slot) => rows.state(slot) === MemberState.Alive && rows.name(slot) !== seedName);
      if (peer !== undefined) this.send(rows.addr(peer), false);
      this.scheduleJoinSync(seedName, round + 1, this.table.size, firedMs);
    });
  }

  private scheduleReconnect(nowMs: number): void {
    const c = this.ctx.config;
    if (c.reconnectIntervalMs === 0) return;
    this.reconnectTimer = this.ctx.timers.schedule(nowMs + c.reconnectIntervalMs, (t) => {
      this.reconnect(t);
      this.scheduleReconnect(t);
    });
  }

  private reconnect(nowMs: number): void {
    const dead = this.table.dead;
    const rows = this.table.rows;
    for (let i = 0; i < RECONNECT_PICK_TRIES && dead.size > 0; i++) {
      const slot = rows.slotOf(dead.pick(this.ctx.rng) as string);
      if (slot === -1 || rows.state(slot) !== MemberState.Dead) continue;
      if (nowMs - rows.stateChangeMs(slot) >= this.ctx.config.reconnectTimeoutMs) continue;
      this.ctx.stats.reconnectAttempts++;
      this.send(rows.addr(slot), false);
      return;
    }
  }

  localState(join: boolean, reply: boolean): PushPullMsg {
    const rows = this.table.rows;
    const states: PushNodeState[] = [];
    for (let slot = 0; slot < rows.size; slot++) {
      states.push({ name: rows.name(slot), addr: rows.addr(slot), incarnation: rows.incarnation(slot), state: rows.state(slot), tags: rows.tags(slot) });
    }
    const c = this.ctx.config;
    return {
      type: MessageType.PushPull,
      join,
      reply,
      sourceName: c.name,
      sourceAddr: c.advertiseAddr,
      states,
      eventLtime: this.userEvents.time(),
    };
  }

  /**
   * A push-pull from `from`, the address the stream's handshake proved: the
   * answer goes there, never to the address the message names.
   */
  onPushPull(msg: PushPullMsg, nowMs: number, from: Address): void {
    if (msg.states.length > PUSH_STATES_MAX) {
      this.ctx.stats.drops[DropReason.LimitExceeded]++;
      return;
    }
    const to = this.table.replyAddr(msg.sourceName, from, 'stream');
    this.userEvents.witnessClock(msg.eventLtime);
    const incarnationBefore = this.table.selfIncarnation;
    this.merge(msg.states, nowMs);
    if (!msg.reply) {
      // Merge first, so the reply already carries any refutation of ours.
      this.ctx.out.frame(to, this.localState(msg.join, true));
      return;
    }
    if (this.table.selfIncarnation !== incarnationBefore) {
      // The peer had us suspect/dead: tell it directly, it may be in the other half of a partition.
      this.ctx.out.packet(to, [this.table.selfAlive()]);
    }
    this.ctx.stats.pushPullsCompleted++;
    if (msg.join) this.onJoinAnswered(msg.sourceName, nowMs);
    this.ctx.out.event({ type: 'push-pull-complete', peer: to, join: msg.join, nowMs });
  }

  /**
   * memberlist's mergeState: remote Dead is only a suspicion here; remote Left
   * is a leave. The table keeps each accepted entry itself as the member's
   * identity (no copy), so entries must not be mutated afterwards.
   */
  merge(states: readonly PushNodeState[], nowMs: number): void {
    const self = this.ctx.config.name;
    for (const r of states) {
      switch (r.state) {
        case MemberState.Alive:
          this.table.onAlive({ type: MessageType.Alive, incarnation: r.incarnation, name: r.name, addr: r.addr, tags: r.tags }, nowMs, r);
          break;
        case MemberState.Left:
          this.table.onLeave({ type: MessageType.Leave, incarnation: r.incarnation, name: r.name }, nowMs);
          break;
        case MemberState.Dead:
        case MemberState.Suspect:
          this.table.onSuspect({ type: MessageType.Suspect, incarnation: r.incarnation, name: r.name, from: self }, nowMs);
          break;
      }
    }
  }
}
