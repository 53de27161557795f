import type { Address } from '../util/address.js';
import { shuffle } from '../util/rng.js';
import type { GossipContext } from './context.js';
import { DropReason } from './events.js';
import {
  MemberState,
  MessageType,
  type AckMsg,
  type GossipMessage,
  type IndirectPingMsg,
  type NackMsg,
  type PingMsg,
  type Via,
} from './messages.js';
import { SELF_SLOT } from './members.js';
import type { MemberTable } from './state.js';
import type { TimerHandle } from './timers.js';

/** Indirect pings this node relays at once; past it requests are dropped and counted. */
export const RELAYS_MAX = 1024;
/**
 * Lifeguard: a relay sends its nack at 80% of its probe timeout. It is also
 * capped at 80% of the time the prober has left after its own timeout
 * (probeInterval - probeTimeout, same config assumed), so the nack arrives
 * before the prober gives up even with WAN values (3 s timeout, 5 s interval).
 */
const RELAY_NACK_FRACTION = 0.8;
/** Reaped names the probe order may still hold before it is compacted (see Prober.onReaped). */
const REAPED_COMPACT_MIN = 64;

export function relayNackAfterMs(probeTimeoutMs: number, probeIntervalMs: number): number {
  const ms = RELAY_NACK_FRACTION * Math.min(probeTimeoutMs, probeIntervalMs - probeTimeoutMs);
  return Math.max(1, Math.floor(ms));
}

interface ProbeRound {
  readonly seqNo: number;
  readonly target: string;
  readonly targetAddr: Address;
  acked: boolean;
  nacks: number;
  expectedNacks: number;
  timeoutTimer: TimerHandle | undefined;
}

interface Relay {
  readonly originAddr: Address;
  readonly originSeqNo: number;
  readonly timer: TimerHandle;
}

/**
 * The SWIM failure detector: one probe per (health-scaled) interval over a
 * shuffled round-robin list; direct ping, then k indirect pings with nacks and
 * a TCP ping, then Suspect. Also answers pings and relays indirect pings.
 */
export class Prober {
  /** This round's probe order (names; reaped ones are skipped when their turn comes). */
  private order: string[] = [];
  /**
   * Names reaped from the table since the last reshuffle. Every member of the
   * table is in `order`, so a name added back is already there iff it is here
   * (a Set of every name in the order would cost ~30 bytes per member).
   */
  private readonly reapedSinceShuffle = new Set<string>();
  private index = 0;
  private seq = 0;
  private current: ProbeRound | undefined;
  private readonly relays = new Map<number, Relay>();
  private probeTimer: TimerHandle | undefined;

  constructor(
    private readonly ctx: GossipContext,
    private readonly table: MemberTable,
  ) {
    table.onAdded = (name) => this.add(name);
    table.onRemoved = (name) => this.onReaped(name);
  }

  /** Starts the probe loop: first probe one (scaled) interval from now. */
  start(nowMs: number): void {
    this.schedule(nowMs);
  }

  /** Stops probing (after leave); still answers pings and relays. */
  stop(): void {
    this.ctx.timers.cancel(this.probeTimer);
    this.probeTimer = undefined;
    if (this.current !== undefined) this.ctx.timers.cancel(this.current.timeoutTimer);
    this.current = undefined;
  }

  /** A new member joins the round at a random position (memberlist's insertion). */
  add(name: string): void {
    if (name === this.ctx.config.name || this.reapedSinceShuffle.has(name)) return;
    this.order.push(name);
    const j = this.ctx.rng.int(this.order.length);
    const last = this.order.length - 1;
    [this.order[j], this.order[last]] = [this.order[last], this.order[j]];
  }

  /**
   * A reaped name stays in `order` until the next reshuffle. Under churn of
   * new names (each joins, leaves, is reaped) a round could then grow without
   * end, as could reapedSinceShuffle: once the reaped outnumber the table,
   * drop them from the order in place (the round goes on where it was).
   */
  private onReaped(name: string): void {
    this.reapedSinceShuffle.add(name);
    if (this.reapedSinceShuffle.size <= Math.max(REAPED_COMPACT_MIN, this.table.size)) return;
    const rows = this.table.rows;
    const kept: string[] = [];
    let index = 0;
    for (let i = 0; i < this.order.length; i++) {
      if (rows.slotOf(this.order[i]) === -1) continue;
      if (i < this.index) index++;
      kept.push(this.order[i]);
    }
    this.order = kept;
    this.index = index;
    this.reapedSinceShuffle.clear();
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private schedule(nowMs: number): void {
    const atMs = nowMs + this.ctx.awareness.scaleTimeoutMs(this.ctx.config.probeIntervalMs);
    this.probeTimer = this.ctx.timers.schedule(atMs, (t) => this.onProbeTimer(t));
  }

  private onProbeTimer(nowMs: number): void {
    this.finish(nowMs);
    this.begin(nowMs);
    this.schedule(nowMs);
  }

  /** The slot of the next member to probe, skipping dead, left and removed ones; reshuffles at the end of a round. */
  private nextTarget(): number | undefined {
    let reshuffled = false;
    for (let tries = 0; tries <= 2 * this.order.length + 1; tries++) {
      if (this.index >= this.order.length) {
        if (reshuffled) return undefined;
        this.reshuffle();
        reshuffled = true;
        if (this.order.length === 0) return undefined;
      }
      const slot = this.table.rows.slotOf(this.order[this.index++]);
      if (slot === -1 || slot === SELF_SLOT) continue;
      const state = this.table.rows.state(slot);
      if (state === MemberState.Alive || state === MemberState.Suspect) return slot;
    }
    return undefined;
  }

  private reshuffle(): void {
    const rows = this.table.rows;
    const names: string[] = [];
    for (let slot = 0; slot < rows.size; slot++) if (slot !== SELF_SLOT) names.push(rows.name(slot));
    this.order = shuffle(names, this.ctx.rng);
    this.reapedSinceShuffle.clear();
    this.index = 0;
  }

  private begin(nowMs: number): void {
    const slot = this.nextTarget();
    if (slot === undefined) return;
    const target = this.table.rows.info(slot);
    const c = this.ctx.config;
    const ping: PingMsg = {
      type: MessageType.Ping,
      seqNo: this.nextSeq(),
      target: target.name,
      sourceName: c.name,
      sourceAddr: c.advertiseAddr,
    };
    const msgs: GossipMessage[] = [ping];
    if (target.state === MemberState.Suspect) {
      // Buddy system: tell the suspect at once. Suspect goes first, so the
      // receiver has refuted before it acks and the ack carries its Alive.
      msgs.unshift({ type: MessageType.Suspect, incarnation: target.incarnation, name: target.name, from: c.name });
    }
    this.ctx.out.packet(target.addr, msgs);
    this.ctx.stats.probes++;
    this.ctx.stats.pingsSent++;
    const round: ProbeRound = {
      seqNo: ping.seqNo,
      target: target.name,
      targetAddr: target.addr,
      acked: false,
      nacks: 0,
      expectedNacks: 0,
      timeoutTimer: undefined,
    };
    const timeoutMs = this.ctx.awareness.scaleTimeoutMs(c.probeTimeoutMs);
    round.timeoutTimer = this.ctx.timers.schedule(nowMs + timeoutMs, () => this.indirect(round, ping));
    this.current = round;
  }

  /** The direct ping timed out: ask k relays, and try TCP in parallel. */
  private indirect(round: ProbeRound, ping: PingMsg): void {
    round.timeoutTimer = undefined;
    if (round.acked || this.current !== round) return;
    const c = this.ctx.config;
    const rows = this.table.rows;
    const relays = this.table.randomMembers(
      c.indirectChecks,
      (slot) => rows.state(slot) === MemberState.Alive && rows.name(slot) !== round.target,
    );
    for (const slot of relays) {
      const req: IndirectPingMsg = {
        type: MessageType.IndirectPing,
        seqNo: round.seqNo,
        target: round.target,
        targetAddr: round.targetAddr,
        nack: true,
        sourceName: c.name,
        sourceAddr: c.advertiseAddr,
      };
      this.ctx.out.packet(rows.addr(slot), [req]);
      this.ctx.stats.indirectPingsSent++;
    }
    round.expectedNacks = relays.length;
    if (c.tcpFallbackPing) {
      this.ctx.out.frame(round.targetAddr, ping);
      this.ctx.stats.tcpFallbackPings++;
    }
  }

  /** End of the probe interval: no ack means health worsens and the target is suspected. */
  private finish(nowMs: number): void {
    const round = this.current;
    if (round === undefined) return;
    this.current = undefined;
    this.ctx.timers.cancel(round.timeoutTimer);
    if (round.acked) return;
    this.ctx.stats.probeFailures++;
    if (round.expectedNacks > 0) {
      const missed = round.expectedNacks - Math.min(round.nacks, round.expectedNacks);
      this.ctx.stats.missedNacks += missed;
      this.ctx.awareness.applyDelta(missed);
    } else {
      this.ctx.awareness.applyDelta(1);
    }
    const rows = this.table.rows;
    const slot = rows.slotOf(round.target);
    if (slot === -1) return;
    const state = rows.state(slot);
    if (state !== MemberState.Alive && state !== MemberState.Suspect) return;
    this.table.onSuspect(
      { type: MessageType.Suspect, incarnation: rows.incarnation(slot), name: round.target, from: this.ctx.config.name },
      nowMs,
    );
  }

  /** A ping from network address `from`: acked at MemberTable.replyAddr (never the sourceAddr it names). */
  onPing(msg: PingMsg, via: Via, from: Address): void {
    const c = this.ctx.config;
    if (msg.target !== '' && msg.target !== c.name) {
      this.ctx.stats.drops[DropReason.WrongTarget]++;
      return;
    }
    this.ctx.stats.pingsReceived++;
    this.ctx.stats.acksSent++;
    const to = this.table.replyAddr(msg.sourceName, from, via);
    const ack: AckMsg = { type: MessageType.Ack, seqNo: msg.seqNo };
    if (via === 'stream') {
      this.ctx.out.frame(to, ack);
      return;
    }
    const msgs: GossipMessage[] = [ack];
    const rows = this.table.rows;
    const sender = rows.slotOf(msg.sourceName);
    if (sender !== -1 && rows.state(sender) === MemberState.Dead && rows.addr(sender) === from) {
      // The sender is dead to us: tell it, so it refutes and the halves of a partition re-merge.
      msgs.push({ type: MessageType.Dead, incarnation: rows.incarnation(sender), name: msg.sourceName, from: c.name });
    }
    this.ctx.out.packet(to, msgs);
  }

  /**
   * Relay a probe: ping the target at the address our table knows (never the
   * one the request names: we would ping any address for anyone), and answer
   * the requester at its known address. A target we do not know is nacked
   * at once (the requester has other relays and a TCP ping).
   */
  onIndirectPing(msg: IndirectPingMsg, nowMs: number, from: Address): void {
    if (this.relays.size >= RELAYS_MAX) {
      this.ctx.stats.drops[DropReason.RelayLimit]++;
      return;
    }
    const c = this.ctx.config;
    const originAddr = this.table.replyAddr(msg.sourceName, from, 'packet');
    const rows = this.table.rows;
    const target = rows.slotOf(msg.target);
    if (target === -1 || target === SELF_SLOT) {
      this.ctx.stats.drops[DropReason.UnknownMember]++;
      if (msg.nack) {
        this.ctx.out.packet(originAddr, [{ type: MessageType.Nack, seqNo: msg.seqNo }]);
        this.ctx.stats.nacksSent++;
      }
      return;
    }
    const seqNo = this.nextSeq();
    this.ctx.out.packet(rows.addr(target), [
      { type: MessageType.Ping, seqNo, target: msg.target, sourceName: c.name, sourceAddr: c.advertiseAddr },
    ]);
    this.ctx.stats.indirectPingsRelayed++;
    const nackAfterMs = relayNackAfterMs(c.probeTimeoutMs, c.probeIntervalMs);
    const timer = this.ctx.timers.schedule(nowMs + nackAfterMs, () => {
      this.relays.delete(seqNo);
      if (!msg.nack) return;
      const nack: NackMsg = { type: MessageType.Nack, seqNo: msg.seqNo };
      this.ctx.out.packet(originAddr, [nack]);
      this.ctx.stats.nacksSent++;
    });
    this.relays.set(seqNo, { originAddr, originSeqNo: msg.seqNo, timer });
  }

  onAck(msg: AckMsg, via: Via): void {
    const round = this.current;
    if (round !== undefined && round.seqNo === msg.seqNo) {
      if (round.acked) return;
      round.acked = true;
      this.ctx.timers.cancel(round.timeoutTimer);
      round.timeoutTimer = undefined;
      this.ctx.stats.acksReceived++;
      if (via === 'stream') this.ctx.stats.tcpFallbackAcks++;
      this.ctx.awareness.applyDelta(-1);
      return;
    }
    const relay = this.relays.get(msg.seqNo);
    if (relay !== undefined) {
      this.relays.delete(msg.seqNo);
      this.ctx.timers.cancel(relay.timer);
      this.ctx.out.packet(relay.originAddr, [{ type: MessageType.Ack, seqNo: relay.originSeqNo }]);
      this.ctx.stats.acksSent++;
      return;
    }
    this.ctx.stats.drops[DropReason.UnknownSeq]++;
  }

  onNack(msg: NackMsg): void {
    const round = this.current;
    if (round === undefined || round.seqNo !== msg.seqNo) {
      this.ctx.stats.drops[DropReason.UnknownSeq]++;
      return;
    }
    round.nacks++;
    this.ctx.stats.nacksReceived++;
  }
}
