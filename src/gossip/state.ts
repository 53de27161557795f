import type { Address } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { GossipContext } from './context.js';
import { DropReason, type MemberEventType, type MemberInfo } from './events.js';
import {
  MemberState,
  MessageType,
  type AliveMsg,
  type DeadMsg,
  type GossipMessage,
  type LeaveMsg,
  type SuspectMsg,
  type Tags,
} from './messages.js';
import { NameSet } from './nameset.js';
import { tagsSizeBytes } from './size.js';
import { Suspicion, suspicionMinTimeoutMs } from './suspicion.js';
import type { TimerHandle } from './timers.js';

/** One row of the member table. */
export interface Member {
  readonly name: string;
  addr: Address;
  state: MemberState;
  incarnation: number;
  tags: Tags;
  stateChangeMs: number;
  suspicion: Suspicion | undefined;
  reapTimer: TimerHandle | undefined;
}

/** Highest incarnation this node ever uses: the wire carries non-negative safe integers only. */
export const INCARNATION_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Members (dead and left ones included, until reaped) the table holds at most;
 * an Alive for a new name past it is dropped and counted. Far above any real
 * cluster, it bounds the memory a buggy or hostile peer can make us spend.
 */
export const MEMBERS_MAX = 65_536;

/** Tables up to this size are scanned when picking random members; larger ones are sampled. */
const SCAN_PICK_MAX = 64;

const isDeadOrLeft = (m: Member): boolean => m.state === MemberState.Dead || m.state === MemberState.Left;

function sameTags(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

export function memberInfo(m: Member): MemberInfo {
  return {
    name: m.name,
    addr: m.addr,
    state: m.state,
    incarnation: m.incarnation,
    tags: m.tags,
    stateChangeMs: m.stateChangeMs,
  };
}

/**
 * The member table and memberlist's state transitions (aliveNode,
 * suspectNode, deadNode, refute) plus graceful leave and reaping. Every
 * accepted change is re-broadcast through the queue under the member's name,
 * so a newer update replaces an older one.
 */
export class MemberTable {
  private readonly byName = new Map<string, Member>();
  private readonly names = new NameSet();
  /** Members in state Dead (not Left): partition healing re-contacts them. */
  readonly dead = new NameSet();
  /** Alive + suspect members, this node included. */
  private liveCount = 0;
  /** Set once this node has left: it then refutes nothing. */
  leaving = false;
  /** Called for every member added to the table (the prober inserts it in its round). */
  onAdded: (name: string) => void = () => {};

  readonly self: Member;

  constructor(
    private readonly ctx: GossipContext,
    nowMs: number,
  ) {
    const c = ctx.config;
    this.self = {
      name: c.name,
      addr: c.advertiseAddr,
      state: MemberState.Alive,
      incarnation: 0,
      tags: c.tags,
      stateChangeMs: nowMs,
      suspicion: undefined,
      reapTimer: undefined,
    };
    this.byName.set(c.name, this.self);
    this.names.add(c.name);
    this.liveCount = 1;
    // As memberlist's setAlive: this node spreads its own Alive too once it knows
    // members, not only the seed; in a join storm that halves the holes.
    this.broadcast(this.selfAlive());
  }

  get(name: string): Member | undefined {
    return this.byName.get(name);
  }

  /** Alive + suspect members, this node included: the n of every formula. */
  numLive(): number {
    return this.liveCount;
  }

  get size(): number {
    return this.byName.size;
  }

  all(): IterableIterator<Member> {
    return this.byName.values();
  }

  selfAlive(): AliveMsg {
    const s = this.self;
    return { type: MessageType.Alive, incarnation: s.incarnation, name: s.name, addr: s.addr, tags: s.tags };
  }

  /**
   * Up to k distinct random members (never this node) passing accept. Small
   * tables are scanned; large ones sampled with a bounded number of tries.
   */
  randomMembers(k: number, accept: (m: Member) => boolean): Member[] {
    if (k <= 0) return [];
    const out: Member[] = [];
    const ok = (m: Member | undefined): m is Member => m !== undefined && m !== this.self && accept(m);
    if (this.names.size <= SCAN_PICK_MAX) {
      const cands = this.names.toArray().map((n) => this.byName.get(n)).filter(ok);
      for (let i = 0; i < k && cands.length > 0; i++) {
        const j = this.ctx.rng.int(cands.length);
        out.push(cands[j]);
        cands[j] = cands[cands.length - 1];
        cands.pop();
      }
      return out;
    }
    const seen = new Set<string>();
    const triesMax = 8 * k + 32;
    for (let t = 0; t < triesMax && out.length < k; t++) {
      const name = this.names.pick(this.ctx.rng) as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const m = this.byName.get(name);
      if (ok(m)) out.push(m);
    }
    return out;
  }

  /** memberlist's aliveNode. */
  onAlive(a: AliveMsg, nowMs: number): void {
    const c = this.ctx.config;
    const isSelf = a.name === c.name;
    if (isSelf && this.leaving) return;
    let m = this.byName.get(a.name);
    if (m !== undefined && !isSelf && a.incarnation <= m.incarnation && a.addr === m.addr) {
      this.ctx.stats.drops[DropReason.Stale]++; // the common case: old news, checked first
      return;
    }
    if (tagsSizeBytes(a.tags) > c.metaMaxBytes) {
      this.ctx.stats.drops[DropReason.MetaTooLarge]++;
      return;
    }
    let addrChanges = false;
    if (m !== undefined && m.addr !== a.addr) {
      if (isSelf) {
        // Someone else claims our name: tell the cluster it is us, with a higher incarnation.
        this.conflict(a, nowMs);
        this.refute(a.incarnation);
        return;
      }
      // memberlist: a left name is free at once; a failed one after deadNodeReclaimMs.
      const canReclaim =
        m.state === MemberState.Left || (m.state === MemberState.Dead && nowMs - m.stateChangeMs > c.deadNodeReclaimMs);
      if (!canReclaim) {
        this.conflict(a, nowMs);
        return;
      }
      addrChanges = true;
    }
    if (m !== undefined) {
      if (isSelf) {
        if (a.incarnation < m.incarnation) return;
        if (a.incarnation === m.incarnation && sameTags(a.tags, m.tags)) return;
        this.refute(a.incarnation);
        return;
      }
      if (a.incarnation <= m.incarnation && !addrChanges) {
        this.ctx.stats.drops[DropReason.Stale]++;
        return;
      }
    }
    if (m === undefined && this.byName.size >= MEMBERS_MAX) {
      this.ctx.stats.drops[DropReason.LimitExceeded]++;
      return;
    }
    this.broadcast(a);
    if (m === undefined) {
      m = {
        name: a.name,
        addr: a.addr,
        state: MemberState.Alive,
        incarnation: a.incarnation,
        tags: a.tags,
        stateChangeMs: nowMs,
        suspicion: undefined,
        reapTimer: undefined,
      };
      this.byName.set(m.name, m);
      this.names.add(m.name);
      this.liveCount++;
      this.onAdded(m.name);
      this.emit('member-join', m, nowMs);
      return;
    }
    const oldState = m.state;
    const changed = !sameTags(m.tags, a.tags) || m.addr !== a.addr;
    this.stopTimers(m);
    m.incarnation = a.incarnation;
    m.tags = a.tags;
    m.addr = a.addr;
    if (oldState !== MemberState.Alive) {
      m.state = MemberState.Alive;
      m.stateChangeMs = nowMs;
      if (isDeadOrLeftState(oldState)) this.liveCount++;
      this.dead.delete(m.name);
    }
    if (isDeadOrLeftState(oldState)) this.emit('member-join', m, nowMs);
    else if (oldState === MemberState.Suspect) this.emit('member-alive', m, nowMs);
    else if (changed) this.emit('member-update', m, nowMs);
  }

  /** memberlist's suspectNode, with Lifeguard confirmations. */
  onSuspect(s: SuspectMsg, nowMs: number): void {
    const m = this.byName.get(s.name);
    if (m === undefined) {
      this.ctx.stats.drops[DropReason.UnknownMember]++;
      return;
    }
    if (s.incarnation < m.incarnation) {
      this.ctx.stats.drops[DropReason.Stale]++;
      return;
    }
    if (m.suspicion !== undefined) {
      if (m.suspicion.confirm(s.from, nowMs)) {
        this.ctx.stats.suspicionConfirmations++;
        this.broadcast(s);
      }
      return;
    }
    if (m.state !== MemberState.Alive) return;
    if (m === this.self) {
      if (!this.leaving) this.refute(s.incarnation);
      return;
    }
    this.broadcast(s);
    m.incarnation = s.incarnation;
    m.state = MemberState.Suspect;
    m.stateChangeMs = nowMs;
    const c = this.ctx.config;
    const n = this.liveCount;
    // Hit the nominal timeout two probe intervals early; expect no confirmations in tiny clusters.
    const k = n - 2 < c.suspicionMult - 2 ? 0 : c.suspicionMult - 2;
    const minMs = suspicionMinTimeoutMs(c.suspicionMult, n, c.probeIntervalMs);
    const maxMs = c.suspicionMaxTimeoutMult * minMs;
    const incarnation = s.incarnation;
    m.suspicion = new Suspicion(this.ctx.timers, s.from, k, minMs, maxMs, nowMs, (firedMs) => {
      m.suspicion = undefined;
      if (m.state === MemberState.Suspect && m.incarnation === incarnation && this.byName.get(m.name) === m) {
        this.onDead({ type: MessageType.Dead, incarnation, name: m.name, from: c.name }, firedMs);
      }
    });
    this.ctx.stats.suspicions++;
    this.emit('member-suspect', m, nowMs);
  }

  /** memberlist's deadNode (failure, never a graceful leave). */
  onDead(d: DeadMsg, nowMs: number): void {
    const m = this.byName.get(d.name);
    if (m === undefined) {
      this.ctx.stats.drops[DropReason.UnknownMember]++;
      return;
    }
    if (d.incarnation < m.incarnation) {
      this.ctx.stats.drops[DropReason.Stale]++;
      return;
    }
    if (isDeadOrLeft(m)) return;
    if (m === this.self) {
      if (!this.leaving) this.refute(d.incarnation);
      return;
    }
    this.stopTimers(m);
    this.broadcast(d);
    m.incarnation = d.incarnation;
    m.state = MemberState.Dead;
    m.stateChangeMs = nowMs;
    this.liveCount--;
    this.dead.add(m.name);
    this.scheduleReap(m);
    this.ctx.stats.deaths++;
    this.emit('member-failed', m, nowMs);
  }

  /** Graceful leave: Left, never a failure. A Leave also upgrades a Dead member to Left. */
  onLeave(l: LeaveMsg, nowMs: number): void {
    const m = this.byName.get(l.name);
    if (m === undefined) {
      this.ctx.stats.drops[DropReason.UnknownMember]++;
      return;
    }
    if (l.incarnation < m.incarnation) {
      this.ctx.stats.drops[DropReason.Stale]++;
      return;
    }
    if (m.state === MemberState.Left) return;
    if (m === this.self) {
      // A Leave from an earlier life of this node: we are here.
      if (!this.leaving) this.refute(l.incarnation);
      return;
    }
    this.stopTimers(m);
    this.broadcast(l);
    if (m.state !== MemberState.Dead) this.liveCount--;
    m.incarnation = l.incarnation;
    m.state = MemberState.Left;
    m.stateChangeMs = nowMs;
    this.dead.delete(m.name);
    this.scheduleReap(m);
    this.ctx.stats.leaves++;
    this.emit('member-leave', m, nowMs);
  }

  /** This node leaves: state Left, Leave broadcast. */
  leaveSelf(nowMs: number): void {
    if (this.leaving) return;
    this.leaving = true;
    const s = this.self;
    s.state = MemberState.Left;
    s.stateChangeMs = nowMs;
    this.liveCount--;
    this.broadcast({ type: MessageType.Leave, incarnation: s.incarnation, name: s.name });
  }

  /** New tags for this node: bump the incarnation and announce them. */
  setSelfTags(tags: Tags): void {
    if (this.self.incarnation >= INCARNATION_MAX) {
      throw new ShoalError(ErrorCode.ResourceExhausted, 'incarnation number exhausted: cannot announce new tags');
    }
    this.self.tags = tags;
    this.self.incarnation++;
    this.broadcast(this.selfAlive());
  }

  /**
   * Beat an accusation: incarnation above accusedIncarnation, Alive broadcast,
   * health worsens. Past INCARNATION_MAX (only a hostile or broken peer drives
   * us there) no encodable number beats it: dropped and counted, so no
   * unencodable Alive sits in the queue and spoils every packet it rides on.
   */
  refute(accusedIncarnation: number): void {
    const s = this.self;
    if (Math.max(s.incarnation, accusedIncarnation) >= INCARNATION_MAX) {
      this.ctx.stats.drops[DropReason.LimitExceeded]++;
      return;
    }
    s.incarnation = Math.max(s.incarnation, accusedIncarnation) + 1;
    this.ctx.awareness.applyDelta(1);
    this.ctx.stats.refutes++;
    this.broadcast(this.selfAlive());
  }

  /** Queue key of the pending broadcast about a member. */
  static broadcastKey(name: string): string {
    return `m:${name}`;
  }

  private broadcast(msg: GossipMessage & { name: string }): void {
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

  private stopTimers(m: Member): void {
    m.suspicion?.stop();
    m.suspicion = undefined;
    this.ctx.timers.cancel(m.reapTimer);
    m.reapTimer = undefined;
  }

  private scheduleReap(m: Member): void {
    this.ctx.timers.cancel(m.reapTimer);
    const since = m.stateChangeMs;
    const atMs = since + this.ctx.config.reapDeadAfterMs;
    m.reapTimer = this.ctx.timers.schedule(atMs, (firedMs) => {
      m.reapTimer = undefined;
      if (!isDeadOrLeft(m) || m.stateChangeMs !== since || this.byName.get(m.name) !== m) return;
      this.byName.delete(m.name);
      this.names.delete(m.name);
      this.dead.delete(m.name);
      this.ctx.stats.reaped++;
      this.emit('member-reaped', m, firedMs);
    });
  }

  private emit(type: MemberEventType, m: Member, nowMs: number): void {
    this.ctx.out.event({ type, member: memberInfo(m), nowMs });
  }
}

function isDeadOrLeftState(s: MemberState): boolean {
  return s === MemberState.Dead || s === MemberState.Left;
}
