import type { Address } from '../util/address.js';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { Awareness } from './awareness.js';
import type { GossipConfig } from './config.js';
import type { GossipContext } from './context.js';
import { DropReason, emptyStats, type GossipReady, type GossipStats, type MemberInfo } from './events.js';
import { GossipLoop } from './gossip.js';
import { MemberState, MessageType, type GossipMessage, type PushNodeState, type Tags, type Via } from './messages.js';
import { Outbox } from './outbox.js';
import { Prober } from './probe.js';
import { PUSH_STATES_MAX, PushPull } from './pushpull.js';
import { BroadcastQueue } from './queue.js';
import { tagsSizeBytes } from './size.js';
import { SELF_SLOT } from './members.js';
import { MemberTable } from './state.js';
import { TimerHeap } from './timers.js';
import { UserEvents } from './userevents.js';
import { checkMessage } from './validate.js';

/**
 * The pure SWIM + Lifeguard membership core. No timers, sockets or clocks
 * inside: the shell calls tick() at nextTickAtMs(), step() for every decoded
 * message, and drains ready(). This class only wires the parts together.
 */
export class GossipCore {
  readonly stats: GossipStats = emptyStats();
  private readonly ctx: GossipContext;
  private readonly table: MemberTable;
  private readonly prober: Prober;
  private readonly pushPull: PushPull;
  private readonly gossipLoop: GossipLoop;
  private readonly userEvents: UserEvents;
  private lastNowMs: number;

  constructor(config: GossipConfig, rng: Rng, nowMs: number) {
    if (tagsSizeBytes(config.tags) > config.metaMaxBytes) {
      throw new ShoalError(ErrorCode.MetaTooLarge, `tags take ${tagsSizeBytes(config.tags)} bytes, over metaMaxBytes ${config.metaMaxBytes}`);
    }
    const timers = new TimerHeap();
    const queue = new BroadcastQueue(config.broadcastQueueMax, this.stats);
    let table: MemberTable | undefined;
    const out = new Outbox(config, queue, this.stats, () => table?.numLive() ?? 1);
    const awareness = new Awareness(config.awarenessMaxMultiplier);
    this.ctx = { config, rng, stats: this.stats, timers, queue, awareness, out };
    this.table = table = new MemberTable(this.ctx, nowMs);
    this.prober = new Prober(this.ctx, this.table);
    this.userEvents = new UserEvents(this.ctx);
    this.pushPull = new PushPull(this.ctx, this.table, this.userEvents);
    this.gossipLoop = new GossipLoop(this.ctx, this.table);
    this.lastNowMs = nowMs;
    this.prober.start(nowMs);
    this.pushPull.start(nowMs);
    this.gossipLoop.start(nowMs);
  }

  /** Push-pull (join=true) to each seed via frames; our own address is skipped. */
  join(seeds: Address[], nowMs: number): void {
    this.advance(nowMs);
    if (this.table.leaving) throw new ShoalError(ErrorCode.NotRunning, 'this node has left the cluster');
    for (const seed of new Set(seeds)) {
      if (seed === this.ctx.config.advertiseAddr) continue;
      this.pushPull.send(seed, true);
    }
  }

  /**
   * Loads a member table at once, for simulation and restore tooling: `states`
   * is taken to be a snapshot that every listed member already holds (a
   * converged cluster), so the entries are merged as a push-pull would merge
   * them (events included) but nothing is queued for broadcast, and this
   * node's own pending Alive is dropped when the snapshot lists it alive at
   * its current incarnation. Entries are kept by reference: do not mutate them.
   * Throws ERR_INVALID_ARGUMENT past PUSH_STATES_MAX entries.
   */
  seedMembers(states: readonly PushNodeState[], nowMs: number): void {
    this.advance(nowMs);
    if (states.length > PUSH_STATES_MAX) {
      throw new ShoalError(ErrorCode.InvalidArgument, `${states.length} member states, over ${PUSH_STATES_MAX}`);
    }
    if (this.table.leaving) throw new ShoalError(ErrorCode.NotRunning, 'this node has left the cluster');
    this.table.quietly(() => this.pushPull.merge(states, nowMs));
    const me = this.ctx.config.name;
    const known = states.some((s) => s.name === me && s.state === MemberState.Alive && s.incarnation === this.table.selfIncarnation);
    if (known) this.ctx.queue.remove(MemberTable.broadcastKey(me));
  }

  /** Broadcasts Leave; afterwards this node stops probing and refutes nothing. */
  leave(nowMs: number): void {
    this.advance(nowMs);
    if (this.table.leaving) return;
    this.table.leaveSelf(nowMs);
    this.prober.stop();
    this.pushPull.stop();
  }

  /** True once the Leave was transmitted as often as any update (or there is nobody left to tell). */
  leaveComplete(): boolean {
    if (!this.table.leaving) return false;
    return this.table.numLive() === 0 || !this.ctx.queue.has(MemberTable.broadcastKey(this.ctx.config.name));
  }

  /** Bumps the incarnation and broadcasts Alive; throws ERR_META_TOO_LARGE over metaMaxBytes. */
  setTags(tags: Tags, nowMs: number): void {
    this.advance(nowMs);
    const sizeBytes = tagsSizeBytes(tags);
    if (sizeBytes > this.ctx.config.metaMaxBytes) {
      throw new ShoalError(ErrorCode.MetaTooLarge, `tags take ${sizeBytes} bytes, over metaMaxBytes ${this.ctx.config.metaMaxBytes}`, {
        details: { sizeBytes, maxBytes: this.ctx.config.metaMaxBytes },
      });
    }
    if (this.table.leaving) throw new ShoalError(ErrorCode.NotRunning, 'this node has left the cluster');
    this.table.setSelfTags({ ...tags });
  }

  /** Gossips a user event (delivered locally too); throws ERR_PACKET_TOO_LARGE if it cannot fit a packet. */
  sendUserEvent(name: string, payload: Uint8Array, nowMs: number): void {
    this.advance(nowMs);
    if (name.length === 0) throw new ShoalError(ErrorCode.InvalidArgument, 'user event name must not be empty');
    this.userEvents.send(name, payload);
  }

  /** Runs every timer due at or before nowMs. */
  tick(nowMs: number): void {
    this.advance(nowMs);
    this.ctx.timers.runDue(nowMs);
  }

  /**
   * Handles one decoded message that arrived from network address `from`
   * (a datagram's source; for a stream, the address the peer's handshake
   * proved). Never throws on bad input: drops and counts.
   */
  step(from: Address, msg: GossipMessage, via: Via, nowMs: number): void {
    this.advance(nowMs);
    this.stats.messagesIn++;
    const bad = checkMessage(msg);
    if (bad !== undefined) {
      this.stats.drops[bad]++;
      return;
    }
    // Replies go to `from` for a stream, to the sender's address in the member table
    // for a datagram (`from` if unknown); never to an address the message names (MemberTable.replyAddr).
    switch (msg.type) {
      case MessageType.Ping:
        return this.prober.onPing(msg, via, from);
      case MessageType.IndirectPing:
        return this.prober.onIndirectPing(msg, nowMs, from);
      case MessageType.Ack:
        return this.prober.onAck(msg, via);
      case MessageType.Nack:
        return this.prober.onNack(msg);
      case MessageType.Alive:
        return this.table.onAlive(msg, nowMs);
      case MessageType.Suspect:
        return this.table.onSuspect(msg, nowMs);
      case MessageType.Dead:
        return this.table.onDead(msg, nowMs);
      case MessageType.Leave:
        return this.table.onLeave(msg, nowMs);
      case MessageType.PushPull:
        if (via !== 'stream') {
          this.stats.drops[DropReason.ViaMismatch]++;
          return;
        }
        return this.pushPull.onPushPull(msg, nowMs, from);
      case MessageType.UserEvent:
        return this.userEvents.onUserEvent(msg);
    }
  }

  /** The shell could not deliver a frame (TCP ping or push-pull). */
  frameFailed(to: Address, msg: GossipMessage, nowMs: number): void {
    this.advance(nowMs);
    void to;
    if (msg.type === MessageType.PushPull && !msg.reply) this.stats.pushPullsFailed++;
  }

  /** Drains everything queued since the last call. */
  ready(): GossipReady {
    return this.ctx.out.drain();
  }

  /** When tick() next has work (Infinity if none). */
  nextTickAtMs(): number {
    return this.ctx.timers.nextAtMs();
  }

  /** Every member in the table, this node included (dead and left ones until reaped). */
  members(): MemberInfo[] {
    const rows = this.table.rows;
    const out: MemberInfo[] = [];
    for (let slot = 0; slot < rows.size; slot++) out.push(rows.info(slot));
    return out;
  }

  localMember(): MemberInfo {
    return this.table.rows.info(SELF_SLOT);
  }

  /** Alive + suspect members, this node included (memberlist's NumMembers). */
  numAlive(): number {
    return this.table.numLive();
  }

  /** Awareness score, 0 = healthy. */
  localHealth(): number {
    return this.ctx.awareness.healthScore();
  }

  /** State of one member by name, or undefined. */
  member(name: string): MemberInfo | undefined {
    const slot = this.table.rows.slotOf(name);
    return slot === -1 ? undefined : this.table.rows.info(slot);
  }

  private advance(nowMs: number): void {
    assert(Number.isFinite(nowMs), 'nowMs must be finite');
    assert(nowMs >= this.lastNowMs, `time went backwards: ${nowMs} < ${this.lastNowMs}`);
    this.lastNowMs = nowMs;
  }
}

