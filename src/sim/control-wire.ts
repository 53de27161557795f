/**
 * What travels on the control simulation's one network: gossip packets and
 * frames (as in the gossip simulation) and Raft messages, told apart by kind.
 * Gossip uses each member's gossip address, Raft its `raft:<name>` address,
 * so partitions and crashes cut both by cutting both addresses.
 */
import type { Message } from '../raft/types.js';
import type { GossipPayload } from './gossip-node.js';

export type ControlPayload = GossipPayload | { kind: 'raft'; msg: Message };
