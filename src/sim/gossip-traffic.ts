import type { GossipMessage } from '../gossip/messages.js';
import { MessageType } from '../gossip/messages.js';

const typeNames: Record<number, string> = Object.fromEntries(Object.entries(MessageType).map(([k, v]) => [v, k]));

export interface GossipTrafficSnapshot {
  packetsSent: number;
  packetBytesSent: number;
  packetsReceived: number;
  framesSent: number;
  frameBytesSent: number;
  framesReceived: number;
  framesFailed: number;
  /** Messages sent (in packets and frames), by message type name. */
  msgsSent: Record<string, number>;
}

/** What the simulated cores put on the wire, counted by the harness (sender side) and at delivery. */
export class GossipTraffic {
  packetsSent = 0;
  packetBytesSent = 0;
  packetsReceived = 0;
  framesSent = 0;
  frameBytesSent = 0;
  framesReceived = 0;
  framesFailed = 0;
  private readonly msgsByType = new Float64Array(32);

  packetSent(msgs: readonly GossipMessage[], sizeBytes: number): void {
    this.packetsSent++;
    this.packetBytesSent += sizeBytes;
    for (const m of msgs) this.msgsByType[m.type]++;
  }

  frameSent(msg: GossipMessage, sizeBytes: number): void {
    this.framesSent++;
    this.frameBytesSent += sizeBytes;
    this.msgsByType[msg.type]++;
  }

  packetReceived(): void {
    this.packetsReceived++;
  }

  frameReceived(): void {
    this.framesReceived++;
  }

  frameFailed(): void {
    this.framesFailed++;
  }

  /** Messages sent so far, all types. */
  get msgsSent(): number {
    let n = 0;
    for (const c of this.msgsByType) n += c;
    return n;
  }

  snapshot(): GossipTrafficSnapshot {
    const msgsSent: Record<string, number> = {};
    this.msgsByType.forEach((c, t) => {
      if (c > 0) msgsSent[typeNames[t] ?? `type${t}`] = c;
    });
    return {
      packetsSent: this.packetsSent,
      packetBytesSent: this.packetBytesSent,
      packetsReceived: this.packetsReceived,
      framesSent: this.framesSent,
      frameBytesSent: this.frameBytesSent,
      framesReceived: this.framesReceived,
      framesFailed: this.framesFailed,
      msgsSent,
    };
  }
}
