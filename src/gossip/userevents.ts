import { ErrorCode, ShoalError } from '../util/errors.js';
import { wireUintMax } from '../wire/uint.js';
import type { GossipContext } from './context.js';
import { MessageType, type UserEventMsg } from './messages.js';
import { PACKET_OVERHEAD_BYTES, PACKET_PER_MESSAGE_BYTES, messageSizeBytes } from './size.js';

/** Recently seen user events kept for deduplication; older ones are refused as stale. */
export const USER_EVENTS_RECENT_MAX = 1024;
/**
 * The Lamport clock stops here (it is capped, never wrapped: a wrapped clock
 * would make new events look older than every recent one). The wire carries
 * nothing larger (wireUintMax), and one unencodable event in the queue would
 * spoil every packet it rides on. Honest clusters never get near it.
 */
export const LTIME_MAX = wireUintMax;
/** A user event must leave this much of a packet for a ping beside it. */
const PING_ROOM_BYTES = 128;

function fnv1a32(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/**
 * serf-style user events: a Lamport clock orders them, a bounded buffer of
 * recent (ltime, name, payload) keys drops duplicates, and each new event is
 * delivered locally and re-gossiped.
 */
export class UserEvents {
  /** Lamport clock: the next ltime this node would use. */
  private clock = 0;
  /** Ring of recent keys, oldest at recentHead once full. */
  private readonly recent: string[] = [];
  private recentHead = 0;
  private readonly recentSet = new Set<string>();
  private seq = 0;

  constructor(private readonly ctx: GossipContext) {}

  time(): number {
    return this.clock;
  }

  /** An event with this ltime exists: ours must come later. */
  witness(ltime: number): void {
    if (ltime >= this.clock) this.clock = Math.min(LTIME_MAX, ltime + 1);
  }

  /** A peer's clock (its next ltime, as push-pull carries it). */
  witnessClock(nextLtime: number): void {
    if (nextLtime > this.clock) this.clock = Math.min(LTIME_MAX, nextLtime);
  }

  send(name: string, payload: Uint8Array): void {
    const msg: UserEventMsg = { type: MessageType.UserEvent, ltime: this.clock, name, payload, coalesce: false };
    const roomBytes = this.ctx.config.packetMaxBytes - PACKET_OVERHEAD_BYTES - PING_ROOM_BYTES;
    if (messageSizeBytes(msg) + PACKET_PER_MESSAGE_BYTES > roomBytes) {
      throw new ShoalError(ErrorCode.PacketTooLarge, `user event "${name}" does not fit a gossip packet`, {
        details: { sizeBytes: messageSizeBytes(msg), maxBytes: roomBytes },
      });
    }
    this.clock = Math.min(LTIME_MAX, this.clock + 1);
    this.remember(msg);
    this.deliver(msg);
    this.ctx.stats.userEventsSent++;
  }

  onUserEvent(msg: UserEventMsg): void {
    this.witness(msg.ltime);
    if (msg.ltime + USER_EVENTS_RECENT_MAX < this.clock) {
      this.ctx.stats.userEventsDuplicate++;
      return;
    }
    if (!this.remember(msg)) {
      this.ctx.stats.userEventsDuplicate++;
      return;
    }
    this.deliver(msg);
  }

  private deliver(msg: UserEventMsg): void {
    this.ctx.stats.userEventsDelivered++;
    this.ctx.out.event({ type: 'user-event', name: msg.name, payload: msg.payload, ltime: msg.ltime });
    this.ctx.queue.push(`e:${this.seq++}`, msg);
  }

  /** False if already seen. */
  private remember(msg: UserEventMsg): boolean {
    const key = `${msg.ltime}|${msg.payload.length}|${fnv1a32(msg.payload)}|${msg.name}`;
    if (this.recentSet.has(key)) return false;
    this.recentSet.add(key);
    if (this.recent.length < USER_EVENTS_RECENT_MAX) {
      this.recent.push(key);
    } else {
      this.recentSet.delete(this.recent[this.recentHead]);
      this.recent[this.recentHead] = key;
      this.recentHead = (this.recentHead + 1) % USER_EVENTS_RECENT_MAX;
    }
    return true;
  }
}
