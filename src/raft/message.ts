/** Building and checking Raft messages. */
import { isWireUint } from '../wire/uint.js';
import { MessageType, type Message, type NodeId } from './types.js';

export const emptyBytes = new Uint8Array(0);

/** Context of a vote request sent because of TimeoutNow: it overrides leader stickiness. */
export const campaignTransferContext = new TextEncoder().encode('CampaignTransfer');

export type MessageFields = Partial<Message> & { type: MessageType; to: NodeId };

export function newMessage(from: NodeId, f: MessageFields): Message {
  return {
    type: f.type,
    from,
    to: f.to,
    term: f.term ?? 0,
    index: f.index ?? 0,
    logTerm: f.logTerm ?? 0,
    entries: f.entries ?? [],
    commit: f.commit ?? 0,
    reject: f.reject ?? false,
    rejectHint: f.rejectHint ?? 0,
    context: f.context ?? emptyBytes,
    ...(f.snapshot === undefined ? {} : { snapshot: f.snapshot }),
  };
}

const knownTypes: ReadonlySet<number> = new Set(Object.values(MessageType));

export function isKnownMessageType(t: number): t is MessageType {
  return knownTypes.has(t);
}

/** Messages a peer may send without a term (etcd's MsgProp / MsgReadIndex forwarding). */
export function isTermless(t: MessageType): boolean {
  return t === MessageType.Prop || t === MessageType.ReadIndex;
}

export function voteResponseType(t: MessageType): MessageType {
  return t === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Structural checks on a message (the decoder already made them for bytes
 * from the network; an in-memory transport skips the decoder): every number
 * within the wire bound, so the core's arithmetic stays exact. Failures are
 * dropped and counted, never thrown.
 */
export function isWellFormed(m: Message): boolean {
  if (typeof m !== 'object' || m === null) return false;
  if (typeof m.from !== 'string' || m.from.length === 0 || typeof m.to !== 'string') return false;
  if (!isWireUint(m.term) || !isWireUint(m.index) || !isWireUint(m.logTerm) || !isWireUint(m.commit) || !isWireUint(m.rejectHint)) return false;
  if (!Array.isArray(m.entries) || !(m.context instanceof Uint8Array)) return false;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i];
    if (typeof e !== 'object' || e === null) return false;
    if (!(e.data instanceof Uint8Array) || !isWireUint(e.index) || !isWireUint(e.term)) return false;
  }
  return m.snapshot === undefined || snapshotChunkWellFormed(m.snapshot);
}

function snapshotChunkWellFormed(s: NonNullable<Message['snapshot']>): boolean {
  if (typeof s !== 'object' || s === null || typeof s.meta !== 'object' || s.meta === null) return false;
  const { meta } = s;
  if (!isWireUint(meta.index) || !isWireUint(meta.term)) return false;
  if (!isWireUint(s.offset) || !(s.data instanceof Uint8Array) || typeof s.done !== 'boolean') return false;
  const c = meta.conf;
  if (typeof c !== 'object' || c === null || !Array.isArray(c.voters) || !Array.isArray(c.learners)) return false;
  return c.voters.every((v) => typeof v === 'string') && c.learners.every((l) => typeof l === 'string');
}
