import type { Address } from '../util/address.js';

/**
 * The gossip protocol's messages as plain typed objects. The pure core speaks
 * only these; src/wire/ turns them into protobuf bytes (compound packets over
 * UDP, length-prefixed frames over TCP).
 *
 * ONLY APPEND TO MessageType. The numeric values are part of the protocol.
 */
export const MessageType = {
  Ping: 1,
  IndirectPing: 2,
  Ack: 3,
  Nack: 4,
  Alive: 5,
  Suspect: 6,
  Dead: 7,
  Leave: 8,
  PushPull: 9,
  UserEvent: 10,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Member states as seen by the protocol. Numeric values are on the wire: append only. */
export const MemberState = {
  Alive: 0,
  Suspect: 1,
  Dead: 2,
  Left: 3,
} as const;
export type MemberState = (typeof MemberState)[keyof typeof MemberState];

export const memberStateName = (s: MemberState): 'alive' | 'suspect' | 'dead' | 'left' =>
  s === MemberState.Alive ? 'alive' : s === MemberState.Suspect ? 'suspect' : s === MemberState.Dead ? 'dead' : 'left';

/** Node tags (metadata): small string map, encoded size bounded by config.metaMaxBytes. */
export type Tags = Readonly<Record<string, string>>;

/** Direct probe. `target` lets the receiver reject a ping meant for another node at the same address. */
export interface PingMsg {
  type: typeof MessageType.Ping;
  seqNo: number;
  target: string;
  sourceName: string;
  sourceAddr: Address;
}

/** Ask a relay to ping `target` for us; `nack` asks the relay to send a Nack if the target does not answer. */
export interface IndirectPingMsg {
  type: typeof MessageType.IndirectPing;
  seqNo: number;
  target: string;
  targetAddr: Address;
  nack: boolean;
  sourceName: string;
  sourceAddr: Address;
}

export interface AckMsg {
  type: typeof MessageType.Ack;
  seqNo: number;
  /** Optional payload (e.g. for RTT estimates or user ping data). */
  payload?: Uint8Array;
}

export interface NackMsg {
  type: typeof MessageType.Nack;
  seqNo: number;
}

export interface AliveMsg {
  type: typeof MessageType.Alive;
  incarnation: number;
  name: string;
  addr: Address;
  tags: Tags;
}

export interface SuspectMsg {
  type: typeof MessageType.Suspect;
  incarnation: number;
  name: string;
  /** Who suspects. Independent confirmations shrink the suspicion timeout. */
  from: string;
}

export interface DeadMsg {
  type: typeof MessageType.Dead;
  incarnation: number;
  name: string;
  from: string;
}

/** Graceful leave: the member itself announces it is going. Distinct from Dead. */
export interface LeaveMsg {
  type: typeof MessageType.Leave;
  incarnation: number;
  name: string;
}

export interface PushNodeState {
  name: string;
  addr: Address;
  incarnation: number;
  state: MemberState;
  tags: Tags;
}

/** Full-state exchange over a stream (TCP). `join` marks the first sync of a joining node; `reply` marks the answer. */
export interface PushPullMsg {
  type: typeof MessageType.PushPull;
  join: boolean;
  reply: boolean;
  sourceName: string;
  sourceAddr: Address;
  states: PushNodeState[];
  /** Lamport time of user events, so a joiner can ignore old events. */
  eventLtime: number;
}

/** A serf-style user event, disseminated by gossip. */
export interface UserEventMsg {
  type: typeof MessageType.UserEvent;
  ltime: number;
  name: string;
  payload: Uint8Array;
  coalesce: boolean;
}

export type GossipMessage =
  | PingMsg
  | IndirectPingMsg
  | AckMsg
  | NackMsg
  | AliveMsg
  | SuspectMsg
  | DeadMsg
  | LeaveMsg
  | PushPullMsg
  | UserEventMsg;

/** How a message travels: `packet` is best-effort UDP (compound, <= packetMaxBytes); `stream` is reliable TCP. */
export type Via = 'packet' | 'stream';
