import type { Address } from '../util/address.js';
import type { GossipConfig } from './config.js';
import type { GossipReady, GossipStats, MemberEvent } from './events.js';
import { DropReason } from './events.js';
import type { GossipMessage } from './messages.js';
import { retransmitLimit, type BroadcastQueue } from './queue.js';
import { PACKET_OVERHEAD_BYTES, packetSizeBytes } from './size.js';

/** Packets, frames and events held between two ready() calls, each at most this many; past it dropped and counted. */
export const OUTBOX_ITEMS_MAX = 65_536;

/**
 * What the core wants done, collected until ready(). Every packet is filled
 * up to packetMaxBytes with pending broadcasts (piggybacking).
 */
export class Outbox {
  private packets: GossipReady['packets'] = [];
  private frames: GossipReady['frames'] = [];
  private events: MemberEvent[] = [];

  constructor(
    private readonly config: GossipConfig,
    private readonly queue: BroadcastQueue,
    private readonly stats: GossipStats,
    /** Live cluster size estimate, for the retransmit limit. */
    private readonly clusterSize: () => number,
  ) {}

  /** One UDP packet with msgs first, then as many broadcasts as fit. */
  packet(to: Address, msgs: GossipMessage[]): void {
    if (this.packets.length >= OUTBOX_ITEMS_MAX) {
      this.stats.drops[DropReason.OutboxFull]++;
      return;
    }
    const sizeBytes = packetSizeBytes(msgs);
    if (sizeBytes > this.config.packetMaxBytes) {
      this.stats.drops[DropReason.OversizeMessage]++;
      return;
    }
    const extra = this.queue.take(this.config.packetMaxBytes - sizeBytes, this.transmitLimit());
    this.packets.push({ to, msgs: extra.length === 0 ? msgs : msgs.concat(extra) });
    this.stats.packetsOut++;
  }

  /** A packet of broadcasts only; false when nothing was pending. */
  gossip(to: Address): boolean {
    if (this.packets.length >= OUTBOX_ITEMS_MAX) {
      this.stats.drops[DropReason.OutboxFull]++;
      return false;
    }
    const msgs = this.queue.take(this.config.packetMaxBytes - PACKET_OVERHEAD_BYTES, this.transmitLimit());
    if (msgs.length === 0) return false;
    this.packets.push({ to, msgs });
    this.stats.packetsOut++;
    return true;
  }

  frame(to: Address, msg: GossipMessage): void {
    if (this.frames.length >= OUTBOX_ITEMS_MAX) {
      this.stats.drops[DropReason.OutboxFull]++;
      return;
    }
    this.frames.push({ to, msg });
    this.stats.framesOut++;
  }

  event(e: MemberEvent): void {
    if (this.events.length >= OUTBOX_ITEMS_MAX) {
      this.stats.drops[DropReason.OutboxFull]++;
      return;
    }
    this.events.push(e);
  }

  transmitLimit(): number {
    return retransmitLimit(this.config.retransmitMult, this.clusterSize());
  }

  drain(): GossipReady {
    const r: GossipReady = { packets: this.packets, frames: this.frames, events: this.events };
    this.packets = [];
    this.frames = [];
    this.events = [];
    return r;
  }
}
