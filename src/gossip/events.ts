import type { Address } from '../util/address.js';
import type { GossipMessage, MemberState, Tags } from './messages.js';

/** A member as the table sees it (a copy: mutating it changes nothing). */
export interface MemberInfo {
  name: string;
  addr: Address;
  state: MemberState;
  incarnation: number;
  tags: Tags;
  /** When the state last changed, in the core's ms clock. */
  stateChangeMs: number;
}

export type MemberEventType =
  | 'member-join'
  | 'member-update'
  | 'member-suspect'
  | 'member-alive'
  | 'member-failed'
  | 'member-leave'
  | 'member-reaped'
  | 'name-conflict';

export type MemberEvent =
  | { type: MemberEventType; member: MemberInfo; nowMs: number }
  | { type: 'push-pull-complete'; peer: Address; join: boolean; nowMs: number }
  | { type: 'user-event'; name: string; payload: Uint8Array; ltime: number };

/** What the shell must do after tick()/step()/...: drained by GossipCore.ready(). */
export interface GossipReady {
  /** Each entry is one UDP packet; the encoded compound fits packetMaxBytes. */
  packets: { to: Address; msgs: GossipMessage[] }[];
  /** Each entry goes over a stream (TCP). */
  frames: { to: Address; msg: GossipMessage }[];
  events: MemberEvent[];
}

/** Why an incoming message was dropped. */
export const DropReason = {
  Malformed: 'malformed',
  UnknownType: 'unknown-type',
  WrongTarget: 'wrong-target',
  UnknownSeq: 'unknown-seq',
  UnknownMember: 'unknown-member',
  Stale: 'stale',
  AfterLeave: 'after-leave',
  ViaMismatch: 'via-mismatch',
  NameConflict: 'name-conflict',
  MetaTooLarge: 'meta-too-large',
  RelayLimit: 'relay-limit',
  OversizeMessage: 'oversize-message',
  OutboxFull: 'outbox-full',
  LimitExceeded: 'limit-exceeded',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

/** Monotonic counters; read them, never write them. */
export interface GossipStats {
  messagesIn: number;
  probes: number;
  pingsSent: number;
  pingsReceived: number;
  acksSent: number;
  acksReceived: number;
  indirectPingsSent: number;
  indirectPingsRelayed: number;
  nacksSent: number;
  nacksReceived: number;
  missedNacks: number;
  tcpFallbackPings: number;
  tcpFallbackAcks: number;
  probeFailures: number;
  suspicions: number;
  suspicionConfirmations: number;
  deaths: number;
  leaves: number;
  refutes: number;
  reaped: number;
  nameConflicts: number;
  pushPullsStarted: number;
  pushPullsCompleted: number;
  pushPullsFailed: number;
  reconnectAttempts: number;
  gossipRounds: number;
  broadcastsQueued: number;
  broadcastsInvalidated: number;
  broadcastsDropped: number;
  broadcastsTransmitted: number;
  userEventsSent: number;
  userEventsDelivered: number;
  userEventsDuplicate: number;
  packetsOut: number;
  framesOut: number;
  drops: Record<DropReason, number>;
}

export function emptyStats(): GossipStats {
  const drops = Object.fromEntries(Object.values(DropReason).map((r) => [r, 0])) as Record<DropReason, number>;
  return {
    messagesIn: 0,
    probes: 0,
    pingsSent: 0,
    pingsReceived: 0,
    acksSent: 0,
    acksReceived: 0,
    indirectPingsSent: 0,
    indirectPingsRelayed: 0,
    nacksSent: 0,
    nacksReceived: 0,
    missedNacks: 0,
    tcpFallbackPings: 0,
    tcpFallbackAcks: 0,
    probeFailures: 0,
    suspicions: 0,
    suspicionConfirmations: 0,
    deaths: 0,
    leaves: 0,
    refutes: 0,
    reaped: 0,
    nameConflicts: 0,
    pushPullsStarted: 0,
    pushPullsCompleted: 0,
    pushPullsFailed: 0,
    reconnectAttempts: 0,
    gossipRounds: 0,
    broadcastsQueued: 0,
    broadcastsInvalidated: 0,
    broadcastsDropped: 0,
    broadcastsTransmitted: 0,
    userEventsSent: 0,
    userEventsDelivered: 0,
    userEventsDuplicate: 0,
    packetsOut: 0,
    framesOut: 0,
    drops,
  };
}
