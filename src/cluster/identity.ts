/**
 * Who is on the other end of a connection, and whether to talk to them.
 * The handshake (handshake-codec.ts) carries a NodeIdentity each way; both
 * sides run checkPeer() on what they received. Pure: no I/O.
 */
import type { Address } from '../util/address.js';
import { RefuseReason } from './kinds.js';

export interface NodeIdentity {
  /** Cluster label: clusters with different labels never talk, even on one network ('' = none). */
  clusterLabel: string;
  /** The Raft cluster id once bootstrapped, '' before. */
  clusterId: string;
  /** Member name (gossip and Raft node id). */
  name: string;
  /** Random id made once per data directory: a wiped member comes back with a new one. */
  nodeId: string;
  /** The address this member advertises (gossip UDP and cluster TCP on one port). */
  addr: Address;
}

/** What a member knows about another name from membership: its node id and whether it is alive. */
export interface KnownMember {
  nodeId: string;
  /** Alive or suspect: a live holder of that name (dead or left members may come back as someone new). */
  live: boolean;
}

export interface PeerCheckContext {
  local: NodeIdentity;
  /** The member table's view of a name, or undefined for a name it does not know (or without a node id). */
  known(name: string): KnownMember | undefined;
  /** Told of every peer this member refused after reading its identity (not of refusals by the peer). */
  onRefused?(peer: NodeIdentity, reason: RefuseReason): void;
}

export type PeerVerdict = { ok: true } | { ok: false; reason: RefuseReason; message: string };

/**
 * Refuse a peer of another cluster (label, or both cluster ids set and
 * different), one using this member's own name, and a known live member's
 * name presented with another node id (a member whose data was wiped, or an
 * impostor) — the rule Consul applies to conflicting node ids.
 */
export function checkPeer(peer: NodeIdentity, ctx: PeerCheckContext): PeerVerdict {
  const { local } = ctx;
  if (peer.clusterLabel !== local.clusterLabel) {
    return refuse(RefuseReason.ClusterLabel, `cluster label "${peer.clusterLabel}" is not "${local.clusterLabel}"`);
  }
  if (peer.clusterId !== '' && local.clusterId !== '' && peer.clusterId !== local.clusterId) {
    return refuse(RefuseReason.ClusterId, `cluster id ${peer.clusterId} is not ${local.clusterId}`);
  }
  if (peer.name === local.name) {
    if (peer.nodeId === local.nodeId) return refuse(RefuseReason.SelfName, `connected to itself (${peer.name})`);
    return refuse(RefuseReason.SelfName, `name ${peer.name} is this member's own name (node id ${peer.nodeId}, ours ${local.nodeId})`);
  }
  const known = ctx.known(peer.name);
  if (known !== undefined && known.live && known.nodeId !== '' && known.nodeId !== peer.nodeId) {
    return refuse(RefuseReason.NodeId, `member ${peer.name} is alive with node id ${known.nodeId}, not ${peer.nodeId}`);
  }
  return { ok: true };
}

function refuse(reason: RefuseReason, message: string): PeerVerdict {
  return { ok: false, reason, message };
}

/** The gossip tag carrying a member's node id, so every member can check handshakes against it. */
export const TAG_NODE_ID = 'shoal.id';
