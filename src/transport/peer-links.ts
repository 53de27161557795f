/**
 * Raft's network: a listener for inbound frames plus one outbound PeerLink per
 * peer, addressed by node id. send() never throws and never waits: a frame is
 * queued (bounded) or refused, and counted either way.
 *
 *   const links = await PeerLinks.start({ listen, peers, decode, onMessage });
 *   links.send('n2', encodeRaftMessage(m));
 */
import type { HostPort } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { newPeerLinkStats, resolvePeerLinkLimits, type PeerLinkLimits, type PeerLinkStats } from './peer-link-config.js';
import { PeerLinkListener } from './peer-link-listener.js';
import { PeerLink, type PeerLinkState } from './peer-link.js';

export interface PeerLinksOptions<T> {
  listen: HostPort;
  /** Peers by id (this node excluded). */
  peers: Iterable<readonly [string, HostPort]>;
  /** Decode one inbound frame; undefined means garbled. Must not throw. */
  decode(frame: Uint8Array): T | undefined;
  /** Called for every decoded inbound message; a throw is counted, not propagated. */
  onMessage(msg: T): void;
  limits?: Partial<PeerLinkLimits>;
  /** Reconnect jitter; Math.random by default (the real world only). */
  rng?: Rng;
}

const mathRng: Rng = {
  next: () => Math.random(),
  int: (n: number) => Math.floor(Math.random() * n),
};

export class PeerLinks<T> {
  readonly stats: PeerLinkStats;
  private readonly links = new Map<string, PeerLink>();
  private closed = false;

  private constructor(
    private readonly listener: PeerLinkListener<T>,
    private readonly limits: PeerLinkLimits,
    stats: PeerLinkStats,
    private readonly rng: Rng,
  ) {
    this.stats = stats;
  }

  /** Listen, then start connecting to every peer. Rejects with ERR_BIND_FAILED if the port is taken. */
  static async start<T>(options: PeerLinksOptions<T>): Promise<PeerLinks<T>> {
    const limits = resolvePeerLinkLimits(options.limits);
    const stats = newPeerLinkStats();
    const listener = await PeerLinkListener.listen<T>(options.listen, {
      limits,
      stats,
      decode: options.decode,
      onMessage: options.onMessage,
    });
    const links = new PeerLinks(listener, limits, stats, options.rng ?? mathRng);
    try {
      for (const [id, addr] of options.peers) links.addPeer(id, addr);
    } catch (e) {
      await links.close();
      throw e;
    }
    return links;
  }

  get localAddress(): HostPort {
    return this.listener.address;
  }

  get inboundConnections(): number {
    return this.listener.connectionCount;
  }

  /** Throws ShoalError(ERR_INVALID_ARGUMENT) for an address that cannot be dialled (port 0). */
  addPeer(id: string, addr: HostPort): void {
    if (!Number.isInteger(addr.port) || addr.port < 1 || addr.port > 65535) {
      throw new ShoalError(ErrorCode.InvalidArgument, `peer ${id}: cannot dial port ${addr.port}`);
    }
    if (this.closed) return;
    this.removePeer(id);
    const link = new PeerLink(id, addr, this.limits, this.stats, this.rng);
    this.links.set(id, link);
    link.start();
  }

  removePeer(id: string): void {
    this.links.get(id)?.close();
    this.links.delete(id);
  }

  /** Queue a frame for a peer; false when refused (unknown peer, oversized, closed). */
  send(peerId: string, frame: Uint8Array): boolean {
    const link = this.links.get(peerId);
    if (link === undefined) {
      this.stats.framesRefusedUnknownPeer++;
      return false;
    }
    return link.send(frame);
  }

  peerState(peerId: string): PeerLinkState | undefined {
    return this.links.get(peerId)?.state;
  }

  /** The reconnect delays a peer's link chose recently (for tests and diagnostics). */
  recentBackoffMs(peerId: string): readonly number[] {
    return this.links.get(peerId)?.recentBackoffMs ?? [];
  }

  queuedFrames(peerId: string): number {
    return this.links.get(peerId)?.queuedFrames ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    await this.listener.close();
  }
}
