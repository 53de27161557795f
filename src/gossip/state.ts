import type { Address } from '../util/address.js';
import type { GossipContext } from './context.js';
import { DropReason, type MemberEventType } from './events.js';
import { incarnationNewer, nextIncarnation } from './incarnation.js';
import {
  MemberState,
  MessageType,
  type AliveMsg,
  type DeadMsg,
  type GossipMessage,
  type LeaveMsg,
  type SuspectMsg,
  type Tags,
  type Via,
} from './messages.js';
import { MemberStore, SELF_SLOT, type MemberIdentity, type MemberRows } from './members.js';
import { NameSet } from './nameset.js';
import { tagsSizeBytes } from './size.js';
import { Suspicion, suspicionMinTimeoutMs } from './suspicion.js';
import type { TimerHandle } from './timers.js';

/**
 * Members (dead and left ones included, until reaped) the table holds at most;
 * an Alive for a new name past it is dropped and counted. Far above any real
 * cluster, it bounds the memory a buggy or hostile peer can make us spend.
 */
export const MEMBERS_MAX = 65_536;

/** Tables up to this size are scanned when picking random members; larger ones are sampled. */
const SCAN_PICK_MAX = 64;

const isDeadOrLeftState = (s: MemberState): boolean => s === MemberState.Dead || s === MemberState.Left;

function sameTags(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * The member table and memberlist's state transitions (aliveNode,
 * suspectNode, deadNode, refute) plus graceful leave and reaping. Every
 * accepted change is re-broadcast through the queue under the member's name,
 * so a newer update replaces an older one. "Newer" compares incarnations as
 * serial numbers in a ring (incarnation.ts), so a member can always refute
 * what is said about it. Rows live in a MemberStore
 * (columns by slot); the rarely set per-member timers live in side maps.
 */
export class MemberTable {
  private readonly store = new MemberStore();
  /** The rows, read-only (slot 0 is this node). Slots move on removal: look names up again. */
  readonly rows: MemberRows = this.store;
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly reapTimers = new Map<string, TimerHandle>();
  /** Members in state Dead (not Left): partition healing re-contacts them. */
  readonly dead = new NameSet();
  /** Alive + suspect members, this node included. */
  private liveCount = 0;
  /** While set, accepted changes are applied but not queued for broadcast (see quietly). */
  private quiet = false;
  /** Set once this node has left: it then refutes nothing. */
  leaving = false;
  /** Called for every member added to the table (the prober inserts it in its round). */
  onAdded: (name: string) => void = () => {};
  /** Called for every member reaped from the table. */
  onRemoved: (name: string) => void = () => {};

  constructor(
    private readonly ctx: GossipContext,
    nowMs: number,
  ) {
    const c = ctx.config;
    this.store.add({ name: c.name, addr: c.advertiseAddr, tags: c.tags }, MemberState.Alive, 0, nowMs);
    this.liveCount = 1;
    // As memberlist's setAlive: this node spreads its own Alive too once it knows
    // members, not only the seed; in a join storm that halves the holes.
    this.announce(this.selfAlive());
  }

  /** Alive + suspect members, this node included: the n of every formula. */
  numLive(): number {
    return this.liveCount;
  }

  get size(): number {
    return this.store.size;
  }

  get selfIncarnation(): number {
    return this.store.incarnation(SELF_SLOT);
  }

  selfAlive(): AliveMsg {
    const s = this.store.identity(SELF_SLOT);
    return { type: MessageType.Alive, incarnation: this.selfIncarnation, name: s.name, addr: s.addr, tags: s.tags };
  }

  /**
   * Applies fn's changes without re-broadcasting news about other members:
   * for loading a snapshot of a converged cluster, whose members already know
   * everything in it. This node's own news (a refutation) still goes out.
   */
  quietly(fn: () => void): void {
    this.quiet = true;
    try {
      fn();
    } finally {
      this.quiet = false;
    }
  }

  /**
   * Slots of up to k distinct random members (never this node) passing
   * accept. Small tables are scanned; large ones sampled with a bounded
   * number of tries. The slots are valid until the table next changes.
   */
  randomMembers(k: number, accept: (slot: number) => boolean): number[] {
    if (k <= 0) return [];
    const out: number[] = [];
    const size = this.store.size;
    if (size <= SCAN_PICK_MAX) {
      const cands: number[] = [];
      for (let slot = 0; slot < size; slot++) if (slot !== SELF_SLOT && accept(slot)) cands.push(slot);
      for (let i = 0; i < k && cands.length > 0; i++) {
        const j = this.ctx.rng.int(cands.length);
        out.push(cands[j]);
        cands[j] = cands[cands.length - 1];
        cands.pop();
      }
      return out;
    }
    const seen = new Set<number>();
    const triesMax = 8 * k + 32;
    for (let t = 0; t < triesMax && out.length < k; t++) {
      const slot = this.ctx.rng.int(size);
      if (seen.has(slot)) continue;
      seen.add(slot);
      if (slot !== SELF_SLOT && accept(slot)) out.push(slot);
    }
    return out;
  }

  /**
   * memberlist's aliveNode. `id` is what the table keeps of the member: the
   * message itself by default, or the push-pull entry it was made from.
   */
  onAlive(a: AliveMsg, nowMs: number, id: MemberIdentity = a): void {
    const c = this.ctx.config;
    const st = this.store;
    const isSelf = a.name === c.name;
    if (isSelf && this.leaving) return;
    const slot = st.slotOf(a.name);
    const known = slot !== -1;
    if (known && !isSelf && !incarnationNewer(a.incarnation, st.incarnation(slot)) && a.addr === st.addr(slot)) {
      this.ctx.stats.drops[DropReason.Stale]++; // the common case: old news, checked first
      return;
    }
    if (tagsSizeBytes(a.tags) > c.metaMaxBytes) {
      this.ctx.stats.drops[DropReason.MetaTooLarge]++;
      return;
    }
    let addrChanges = false;
    if (known && st.addr(slot) !== a.addr) {
      if (isSelf) {
        // Someone else claims our name: tell the cluster it is us, with a higher incarnation.
        this.conflict(a, nowMs);
        this.refute(a.incarnation);
        return;
      }
      // memberlist: a left name is free at once; a failed one after deadNodeReclaimMs.
      const state = st.state(slot);
      const canReclaim =
        state === MemberState.Left || (state === MemberState.Dead && nowMs - st.stateChangeMs(slot) > c.deadNodeReclaimMs);
      if (!canReclaim) {
        this.conflict(a, nowMs);
        return;
      }
      addrChanges = true;
    }
    if (known) {
      if (isSelf) {
        if (incarnationNewer(st.incarnation(slot), a.incarnation)) return;
        if (a.incarnation === st.incarnation(slot) && sameTags(a.tags, st.tags(slot))) return;
        this.refute(a.incarnation);
        return;
      }
      if (!incarnationNewer(a.incarnation, st.incarnation(slot)) && !addrChanges) {
        this.ctx.stats.drops[DropReason.Stale]++;
        return;
      }
    }
    if (!known && st.size >= MEMBERS_MAX) {
      this.ctx.stats.drops[DropReason.LimitExceeded]++;
      return;
    }
    this.broadcast(a);
    if (!known) {
      const added = st.add(id, MemberState.Alive, a.incarnation, nowMs);
      this.liveCount++;
      this.onAdded(a.name);
      this.emit('member-join', added, nowMs);
      return;
    }
    const oldState = st.state(slot);
    const changed = !sameTags(st.tags(slot), a.tags) || st.addr(slot) !== a.addr;
    this.stopTimers(a.name);
    st.setIncarnation(slot, a.incarnation);
    st.setIdentity(slot, id);
    if (oldState !== MemberState.Alive) {
      st.setState(slot, MemberState.Alive, nowMs);
      if (isDeadOrLeftState(oldState)) this.liveCount++;
      this.dead.delete(a.name);
    }
    if (isDeadOrLeftState(oldState)) this.emit('member-join', slot, nowMs);
    else if (oldState === MemberState.Suspect) this.emit('member-alive', slot, nowMs);
    else if (changed) this.emit('member-update', slot, nowMs);
  }

  /** memberlist's suspectNode, with Lifeguard confirmations. */
  onSuspect(s: SuspectMsg, nowMs: number): void {
    const st = this.store;
    const slot = st.slotOf(s.name);
    if (slot === -1) {
      this.ctx.stats.drops[DropReason.UnknownMember]++;
      return;
    }
    if (incarnationNewer(st.incarnation(slot), s.incarnation)) {
      this.ctx.stats.drops[DropReason.Stale]++;
      return;
    }
    const running = this.suspicions.get(s.name);
    if (running !== undefined) {
      if (running.confirm(s.from, nowMs)) {
        this.ctx.stats.suspicionConfirmations++;
        this.broadcast(s);
      }
      return;
    }
    if (st.state(slot) !== MemberState.Alive) return;
    if (slot === SELF_SLOT) {
      if (!this.leaving) this.refute(s.incarnation);
      return;
    }
    this.broadcast(s);
    st.setIncarnation(slot, s.incarnation);
    st.setState(slot, MemberState.Suspect, nowMs);
    const c = this.ctx.config;
    const n = this.liveCount;
    // Hit the nominal timeout two probe intervals early; expect no confirmations in tiny clusters.
    const k = n - 2 < c.suspicionMult - 2 ? 0 : c.suspicionMult - 2;
    const minMs = suspicionMinTimeoutMs(c.suspicionMult, n, c.probeIntervalMs);
    const maxMs = c.suspicionMaxTimeoutMult * minMs;
    const { name, incarnation } = s;
    const suspicion = new Suspicion(this.ctx.timers, s.from, k, minMs, maxMs, nowMs, (firedMs) => {
      if (this.suspicions.get(name) !== suspicion) return; // stopped: this member changed since
      this.suspicions.delete(name);
      const at = this.store.slotOf(name);
      if (at !== -1 && this.store.state(at) === MemberState.Suspect && this.store.incarnation(at) === incarnation) {
        this.onDead({ type: MessageType.Dead, incarnation, name, from: c.name }, firedMs);
      }
    });
    this.suspicions.set(name, suspicion);
    this.ctx.stats.suspicions++;
    this.emit('member-suspect', slot, nowMs);
  }

  /** memberlist's deadNode (failure, never a graceful leave). */
  onDead(d: DeadMsg, nowMs: number): void {
    const st = this.store;
    const slot = st.slotOf(d.name);
    if (slot === -1) {
      this.ctx.stats.drops[DropReason.UnknownMember]++;
      return;
    }
    if (incarnationNewer(st.incarnation(slot), d.incarnation)) {
      this.ctx.stats.drops[DropReason.Stale]++;
      return;
    }
    if (isDeadOrLeftState(st.state(slot))) return;
    if (slot === SELF_SLOT) {
      if (!this.leaving) this.refute(d.incarnation);
      return;
    }
    this.stopTimers(d.name);
    this.broadcast(d);
    st.setIncarnation(slot, d.incarnation);
    st.setState(slot, MemberState.Dead, nowMs);
    this.liveCount--;
    this.dead.add(d.name);
    this.scheduleReap(d.name, nowMs);
    this.ctx.stats.deaths++;
    this.emit('member-failed', slot, nowMs);
  }

  /** Graceful leave: Left, never a failure. A Leave also upgrades a Dead member to Left. */
  onLeave(l: LeaveMsg, nowMs: number): void {
    const st = this.store;
    const slot = st.slotOf(l.name);
    if (slot === -1) {
      this.ctx.stats.drops[DropReason.UnknownMember]++;
      return;
    }
    if (incarnationNewer(st.incarnation(slot), l.incarnation)) {
      this.ctx.stats.drops[DropReason.Stale]++;
      return;
    }
    const oldState = st.state(slot);
    if (oldState === MemberState.Left) return;
    if (slot === SELF_SLOT) {
      // A Leave from an earlier life of this node: we are here.
      if (!this.leaving) this.refute(l.incarnation);
      return;
    }
    this.stopTimers(l.name);
    this.broadcast(l);
    if (oldState !== MemberState.Dead) this.liveCount--;
    st.setIncarnation(slot, l.incarnation);
    st.setState(slot, MemberState.Left, nowMs);
    this.dead.delete(l.name);
    this.scheduleReap(l.name, nowMs);
    this.ctx.stats.leaves++;
    this.emit('member-leave', slot, nowMs);
  }

  /** This node leaves: state Left, Leave broadcast. */
  leaveSelf(nowMs: number): void {
    if (this.leaving) return;
    this.leaving = true;
    this.store.setState(SELF_SLOT, MemberState.Left, nowMs);
    this.liveCount--;
    this.announce({ type: MessageType.Leave, incarnation: this.selfIncarnation, name: this.store.name(SELF_SLOT) });
  }

  /** New tags for this node: bump the incarnation and announce them. */
  setSelfTags(tags: Tags): void {
    const s = this.store.identity(SELF_SLOT);
    this.store.setIdentity(SELF_SLOT, { name: s.name, addr: s.addr, tags });
    this.store.setIncarnation(SELF_SLOT, nextIncarnation(this.selfIncarnation));
    this.announce(this.selfAlive());
  }

  /**
   * Beat an accusation: an incarnation newer than the accused one (and than
   * ours), Alive broadcast, health worsens. Incarnations form a ring
   * (incarnation.ts), so there always is one, within what the wire carries:
   * a member can refute any Suspect, Dead, Leave or forged Alive about itself.
   */
  refute(accusedIncarnation: number): void {
    const top = incarnationNewer(accusedIncarnation, this.selfIncarnation) ? accusedIncarnation : this.selfIncarnation;
    this.store.setIncarnation(SELF_SLOT, nextIncarnation(top));
    this.ctx.awareness.applyDelta(1);
    this.ctx.stats.refutes++;
    this.announce(this.selfAlive());
  }

  /**
   * Where to answer a message that names its sender (`name`) and arrived from
   * network address `from`; never an address the message names (a forged
   * sourceAddr would make us a reflector, and an amplifier: replies carry
   * piggybacked gossip). A stream is answered where it came from: the
   * address its handshake proved. A datagram from a live member is answered
   * at the address the member table knows; from an unknown, dead or left
   * sender (a joining node, one that came back) at its source address.
   */
  replyAddr(name: string, from: Address, via: Via): Address {
    if (via === 'stream') return from;
    const st = this.store;
    const slot = st.slotOf(name);
    if (slot === -1 || slot === SELF_SLOT) return from;
    const state = st.state(slot);
    return state === MemberState.Alive || state === MemberState.Suspect ? st.addr(slot) : from;
  }

  /** Queue key of the pending broadcast about a member. */
  static broadcastKey(name: string): string {
    return `m:${name}`;
  }

  /** Re-broadcasts accepted news about a member (not while quiet). */
  private broadcast(msg: GossipMessage & { name: string }): void {
    if (!this.quiet) this.announce(msg);
  }

  /** Queues msg; this node's own news (refutes, tags, leave) always goes out. */
  private announce(msg: GossipMessage & { name: string }): void {
    this.ctx.queue.push(MemberTable.broadcastKey(msg.name), msg);
  }

  private conflict(a: AliveMsg, nowMs: number): void {
    this.ctx.stats.nameConflicts++;
    this.ctx.stats.drops[DropReason.NameConflict]++;
    this.ctx.out.event({
      type: 'name-conflict',
      member: { name: a.name, addr: a.addr, state: MemberState.Alive, incarnation: a.incarnation, tags: a.tags, stateChangeMs: nowMs },
      nowMs,
    });
  }

  private stopTimers(name: string): void {
    const suspicion = this.suspicions.get(name);
    if (suspicion !== undefined) {
      suspicion.stop();
      this.suspicions.delete(name);
    }
    const reap = this.reapTimers.get(name);
    if (reap !== undefined) {
      this.ctx.timers.cancel(reap);
      this.reapTimers.delete(name);
    }
  }

  /** Reaps the member reapDeadAfterMs after it became dead or left at sinceMs, unless it changed since. */
  private scheduleReap(name: string, sinceMs: number): void {
    this.ctx.timers.cancel(this.reapTimers.get(name));
    const timer = this.ctx.timers.schedule(sinceMs + this.ctx.config.reapDeadAfterMs, (firedMs) => {
      if (this.reapTimers.get(name) !== timer) return;
      this.reapTimers.delete(name);
      const st = this.store;
      const slot = st.slotOf(name);
      if (slot === -1 || !isDeadOrLeftState(st.state(slot)) || st.stateChangeMs(slot) !== sinceMs) return;
      const info = st.info(slot);
      st.remove(slot);
      this.dead.delete(name);
      this.onRemoved(name);
      this.ctx.stats.reaped++;
      this.ctx.out.event({ type: 'member-reaped', member: info, nowMs: firedMs });
    });
    this.reapTimers.set(name, timer);
  }

  private emit(type: MemberEventType, slot: number, nowMs: number): void {
    this.ctx.out.event({ type, member: this.store.info(slot), nowMs });
  }
}
