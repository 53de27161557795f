import type { Address } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Tags } from './messages.js';
import { tagsSizeBytes } from './size.js';

/**
 * Configuration of the SWIM + Lifeguard membership core. Every duration is in
 * milliseconds. Start from a preset (lan, wan, local: memberlist's
 * DefaultLANConfig / DefaultWANConfig / DefaultLocalConfig) and pass the
 * result through validateGossipConfig().
 */
export interface GossipConfig {
  /** Unique node name in the cluster. */
  name: string;
  /** Address other members use to reach this node ("host:port"). */
  advertiseAddr: Address;
  /** One member is probed per interval (scaled by local health). */
  probeIntervalMs: number;
  /** Direct ping timeout before indirect pings start (scaled by local health). */
  probeTimeoutMs: number;
  /** k: number of relays asked to ping a target that did not answer. */
  indirectChecks: number;
  /** Suspicion timeout base: suspicionMult * log10(n) * probeInterval. */
  suspicionMult: number;
  /** Upper suspicion timeout = this * the base timeout (Lifeguard). */
  suspicionMaxTimeoutMult: number;
  /** Each update is retransmitted retransmitMult * ceil(log10(n+1)) times. */
  retransmitMult: number;
  /** Period of the separate gossip loop. */
  gossipIntervalMs: number;
  /** Random members each gossip round sends to. */
  gossipNodes: number;
  /** Dead members still receive gossip for this long (so they learn they are dead and refute). */
  gossipToTheDeadMs: number;
  /** Period of full-state push-pull sync (scaled with cluster size above 32 members); 0 disables. */
  pushPullIntervalMs: number;
  /** Local health score ranges over 0..awarenessMaxMultiplier-1. */
  awarenessMaxMultiplier: number;
  /** After this a dead name may be reused by another address. */
  deadNodeReclaimMs: number;
  /** Dead/left members are dropped from the table after this. */
  reapDeadAfterMs: number;
  /** Partition healing: period of push-pull with one recently dead member; 0 disables. */
  reconnectIntervalMs: number;
  /** Partition healing: only members dead for less than this are re-contacted. */
  reconnectTimeoutMs: number;
  /** Send a TCP ping frame in parallel with indirect pings. */
  tcpFallbackPing: boolean;
  /** Upper bound of one encoded UDP packet. */
  packetMaxBytes: number;
  /** Upper bound of the encoded tags of one member. */
  metaMaxBytes: number;
  /** Upper bound of pending broadcasts; past it the most transmitted are dropped. */
  broadcastQueueMax: number;
  /** This node's tags (metadata). */
  tags: Tags;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** Smallest packet the core can still pack a ping + an alive into. */
export const PACKET_MIN_BYTES = 512;
/** memberlist's MetaMaxSize: tags beyond this never fit beside a probe. */
export const META_LIMIT_BYTES = 512;

function lan(name: string, advertiseAddr: Address): GossipConfig {
  return {
    name, // unique per cluster; the caller picks it
    advertiseAddr, // where peers reach us
    probeIntervalMs: 1 * SECOND_MS, // failure check every second
    probeTimeoutMs: 500, // reasonable RTT for a LAN, with room for GC pauses
    indirectChecks: 3, // 3 relays: a single lossy path does not cause a suspicion
    suspicionMult: 4, // suspect for 4 * log10(n) * interval before declaring dead
    suspicionMaxTimeoutMult: 6, // Lifeguard: start at 6x the base, shrink with confirmations
    retransmitMult: 4, // retransmit each update 4 * ceil(log10(n+1)) times
    gossipIntervalMs: 200, // gossip faster than probing so updates spread quickly
    gossipNodes: 3, // 3 peers per round: fan-out enough for log(n) spread
    gossipToTheDeadMs: 30 * SECOND_MS, // a wrongly dead member learns it soon and refutes
    pushPullIntervalMs: 30 * SECOND_MS, // full sync is expensive: low frequency
    awarenessMaxMultiplier: 8, // Lifeguard: an unhealthy node waits up to 8x longer
    deadNodeReclaimMs: 30 * SECOND_MS, // a replaced host may take over a dead name after 30 s
    reapDeadAfterMs: 24 * HOUR_MS, // serf's tombstone/reconnect timeout: keep history a day
    reconnectIntervalMs: 30 * SECOND_MS, // serf's reconnect interval: cheap, heals partitions
    reconnectTimeoutMs: 24 * HOUR_MS, // serf: give up re-contacting after a day
    tcpFallbackPing: true, // a TCP ping catches UDP-only loss (firewalls)
    packetMaxBytes: 1400, // fits an Ethernet MTU with IP/UDP headers and encryption overhead
    metaMaxBytes: META_LIMIT_BYTES, // memberlist's MetaMaxSize
    broadcastQueueMax: 4096, // serf's MaxQueueDepth: bounded memory under join storms
    tags: {}, // none unless the user sets them
  };
}

function wan(name: string, advertiseAddr: Address): GossipConfig {
  return {
    ...lan(name, advertiseAddr),
    probeIntervalMs: 5 * SECOND_MS, // WAN RTTs and loss: probe less often
    probeTimeoutMs: 3 * SECOND_MS, // long-haul RTT plus jitter
    suspicionMult: 6, // more patience before declaring a remote node dead
    gossipIntervalMs: 500, // gossip less frequently...
    gossipNodes: 4, // ...but to one more node
    gossipToTheDeadMs: 60 * SECOND_MS, // slower probing: give the dead longer to hear it
    pushPullIntervalMs: 60 * SECOND_MS, // full sync over WAN is costly
    deadNodeReclaimMs: 60 * SECOND_MS, // matches gossipToTheDeadMs
  };
}

function local(name: string, advertiseAddr: Address): GossipConfig {
  return {
    ...lan(name, advertiseAddr),
    probeTimeoutMs: 200, // loopback RTT is tiny
    indirectChecks: 1, // loopback hardly loses packets: one relay is enough
    suspicionMult: 3, // few nodes: detect failures faster
    retransmitMult: 2, // few nodes, reliable network: fewer retransmits
    gossipIntervalMs: 100, // cheap on loopback
    gossipToTheDeadMs: 15 * SECOND_MS, // short-lived demo clusters
    pushPullIntervalMs: 15 * SECOND_MS, // cheap on loopback
    deadNodeReclaimMs: 15 * SECOND_MS, // restarted demo nodes reuse their names quickly
    reapDeadAfterMs: 10 * MINUTE_MS, // keep demo member lists short
    reconnectIntervalMs: 10 * SECOND_MS, // heal demo partitions quickly
    reconnectTimeoutMs: 10 * MINUTE_MS, // must not exceed reapDeadAfterMs
  };
}

export const presets = { lan, wan, local } as const;

type Numeric = { [K in keyof GossipConfig]: GossipConfig[K] extends number ? K : never }[keyof GossipConfig];

/** Fields that must be integers >= the given minimum. */
const MINIMUMS: Readonly<Record<Numeric, number>> = {
  probeIntervalMs: 1,
  probeTimeoutMs: 1,
  indirectChecks: 0,
  suspicionMult: 1,
  suspicionMaxTimeoutMult: 1,
  retransmitMult: 1,
  gossipIntervalMs: 0,
  gossipNodes: 0,
  gossipToTheDeadMs: 0,
  pushPullIntervalMs: 0,
  awarenessMaxMultiplier: 1,
  deadNodeReclaimMs: 0,
  reapDeadAfterMs: 0,
  reconnectIntervalMs: 0,
  reconnectTimeoutMs: 0,
  packetMaxBytes: PACKET_MIN_BYTES,
  metaMaxBytes: 0,
  broadcastQueueMax: 1,
};

function invalid(field: string, why: string): ShoalError {
  return new ShoalError(ErrorCode.InvalidConfig, `gossip config: ${field} ${why}`, { details: { field } });
}

/**
 * Fills defaults from the LAN preset and rejects bad values and bad pairs with
 * ShoalError ERR_INVALID_CONFIG (details.field names the field).
 */
export function validateGossipConfig(
  partial: Partial<GossipConfig> & { name: string; advertiseAddr: Address },
): GossipConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const c: GossipConfig = { ...lan(partial.name, partial.advertiseAddr), ...defined };
  if (typeof c.name !== 'string' || c.name.length === 0) throw invalid('name', 'must be a non-empty string');
  if (typeof c.advertiseAddr !== 'string' || !/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(c.advertiseAddr)) {
    throw invalid('advertiseAddr', 'must be "host:port"');
  }
  for (const [field, min] of Object.entries(MINIMUMS) as [Numeric, number][]) {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw invalid(field, `must be an integer >= ${min} (got ${String(v)})`);
    }
  }
  if (typeof c.tcpFallbackPing !== 'boolean') throw invalid('tcpFallbackPing', 'must be a boolean');
  if (c.tags === null || typeof c.tags !== 'object') throw invalid('tags', 'must be a string map');
  for (const [k, v] of Object.entries(c.tags)) {
    if (typeof v !== 'string') throw invalid('tags', `value of "${k}" must be a string`);
  }
  if (tagsSizeBytes(c.tags) > c.metaMaxBytes) {
    throw invalid('tags', `take ${tagsSizeBytes(c.tags)} bytes, over metaMaxBytes ${c.metaMaxBytes}`);
  }
  if (c.probeTimeoutMs >= c.probeIntervalMs) {
    throw invalid('probeTimeoutMs', 'must be less than probeIntervalMs (indirect pings need the rest of the interval)');
  }
  if (c.metaMaxBytes > META_LIMIT_BYTES) throw invalid('metaMaxBytes', `must be <= ${META_LIMIT_BYTES}`);
  if (c.metaMaxBytes > c.packetMaxBytes / 2) throw invalid('metaMaxBytes', 'must be at most half of packetMaxBytes');
  if (c.reconnectIntervalMs > 0 && c.reconnectTimeoutMs > c.reapDeadAfterMs) {
    throw invalid('reconnectTimeoutMs', 'must be <= reapDeadAfterMs (reaped members cannot be re-contacted)');
  }
  if (c.gossipToTheDeadMs > c.reapDeadAfterMs) {
    throw invalid('gossipToTheDeadMs', 'must be <= reapDeadAfterMs');
  }
  if (c.gossipNodes > 0 && c.gossipIntervalMs === 0) {
    throw invalid('gossipIntervalMs', 'must be > 0 when gossipNodes > 0');
  }
  return c;
}
