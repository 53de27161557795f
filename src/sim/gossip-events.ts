import type { Address } from '../util/address.js';
import type { SeenName } from './gossip-view.js';

/** One thing that happened in a gossip simulation, at a virtual time, as seen by `observer`. */
export interface ClusterEvent {
  atMs: number;
  observer: string;
  /** A core's MemberEvent type, or the harness's own 'node-crashed' / 'node-stopped'. */
  type: string;
  subject: string;
  state?: SeenName;
  incarnation?: number;
  addr?: Address;
}

export type ClusterEventListener = (e: ClusterEvent) => void;

/**
 * Bounded event log with a running digest. The log keeps the newest
 * `maxEvents` (older ones are dropped and counted); the digest (FNV-1a over
 * every event ever added) and the per-type counts cover everything, so two
 * runs can be compared even when the log overflowed. With maxEvents 0, no
 * digest and no listener, producers can skip building events (`wantsEvents`):
 * large benchmarks emit N^2 member events.
 */
export class GossipEventLog {
  private readonly events: ClusterEvent[] = [];
  private start = 0;
  dropped = 0;
  total = 0;
  private hash = 0x811c9dc5;
  readonly countsByType = new Map<string, number>();
  private readonly listeners: ClusterEventListener[] = [];

  constructor(
    readonly maxEvents: number,
    readonly digestEnabled = true,
  ) {}

  /** Whether anybody needs the event objects (else count() only). */
  get wantsEvents(): boolean {
    return this.maxEvents > 0 || this.digestEnabled || this.listeners.length > 0;
  }

  /** Count an event without building it (when !wantsEvents). */
  countOnly(type: string): void {
    this.total++;
    this.countsByType.set(type, (this.countsByType.get(type) ?? 0) + 1);
  }

  add(e: ClusterEvent): void {
    this.total++;
    this.countsByType.set(e.type, (this.countsByType.get(e.type) ?? 0) + 1);
    if (this.digestEnabled) this.mix(`${e.atMs}|${e.observer}|${e.type}|${e.subject}|${e.state ?? ''}|${e.incarnation ?? ''}|${e.addr ?? ''};`);
    if (this.maxEvents > 0) {
      this.events.push(e);
      if (this.events.length - this.start > this.maxEvents) {
        this.start++;
        this.dropped++;
        if (this.start > 4096 && this.start * 2 > this.events.length) {
          this.events.splice(0, this.start);
          this.start = 0;
        }
      }
    }
    for (const l of this.listeners) l(e);
  }

  onEvent(listener: ClusterEventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Events still held, oldest first. */
  entries(): ClusterEvent[] {
    return this.events.slice(this.start);
  }

  count(type: string): number {
    return this.countsByType.get(type) ?? 0;
  }

  /** FNV-1a 32-bit over every event added, as 8 hex digits (constant when the digest is off). */
  digest(): string {
    return (this.hash >>> 0).toString(16).padStart(8, '0');
  }

  private mix(s: string): void {
    let h = this.hash;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    this.hash = h;
  }
}
