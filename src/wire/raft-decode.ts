import {
  ConfChangeType,
  EntryType,
  MessageType,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type SnapshotMeta,
} from '../raft/types.js';
import { DecodeDropReason } from './limits.js';
import { DecodeFail, EMPTY_BYTES, type ProtoSource } from './pb-read.js';

/**
 * Decoder of raft.proto on the bounded primitives of pb-read.ts. Each
 * function reads one message body in [src.pos, end); absent fields take
 * proto3 defaults, unknown fields are skipped. Terms, indexes, commit points
 * and offsets above wireUintMax refuse the whole message (OutOfRange), so no
 * core arithmetic on them (term + 1, index + 1) can leave the safe range.
 */

/** Bounds of the Raft decoders, checked before anything is allocated. */
export interface RaftDecodeLimits {
  /** Largest frame accepted by decodeRaftMessage. */
  frameMaxBytes: number;
  /** Entries in one App/Prop message. */
  entriesPerMessageMax: number;
  /** Bytes of one entry's data. */
  entryBytesMax: number;
  /** UTF-8 bytes of one node id. */
  nodeIdBytesMax: number;
  /** Bytes of a message's context. */
  contextBytesMax: number;
  /** Bytes of one snapshot chunk's data. */
  snapshotChunkBytesMax: number;
  /** Voters plus learners in one ConfState. */
  confNodesMax: number;
}

const LIMIT = DecodeDropReason.LimitExceeded;
const BAD = DecodeDropReason.BadValue;

function entryType(n: number): EntryType {
  if (n !== EntryType.Normal && n !== EntryType.ConfChange) throw new DecodeFail(BAD, `unknown entry type ${n}`);
  return n;
}

function confChangeType(n: number): ConfChangeType {
  if (n > ConfChangeType.RemoveNode) throw new DecodeFail(BAD, `unknown conf change type ${n}`);
  return n as ConfChangeType;
}

function messageType(n: number): MessageType {
  if (n < MessageType.Vote || n > MessageType.TransferLeader) throw new DecodeFail(BAD, `unknown raft message type ${n}`);
  return n as MessageType;
}

export function decodeEntryBody(src: ProtoSource, end: number, lim: RaftDecodeLimits): Entry {
  const e: Entry = { term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) e.term = src.uint(end);
    else if (t === 0x10) e.index = src.uint(end);
    else if (t === 0x18) e.type = entryType(src.varint(end));
    else if (t === 0x22) e.data = src.bytes(end, lim.entryBytesMax, 'entry data');
    else src.skip(t, end);
  }
  return e;
}

export function decodeHardStateBody(src: ProtoSource, end: number, lim: RaftDecodeLimits): HardState {
  const h: HardState = { term: 0, vote: '', commit: 0 };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) h.term = src.uint(end);
    else if (t === 0x12) h.vote = src.string(end, lim.nodeIdBytesMax, 'vote');
    else if (t === 0x18) h.commit = src.uint(end);
    else src.skip(t, end);
  }
  return h;
}

export function decodeConfChangeBody(src: ProtoSource, end: number, lim: RaftDecodeLimits): ConfChange {
  const c: ConfChange = { type: ConfChangeType.AddVoter, node: '' };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) c.type = confChangeType(src.varint(end));
    else if (t === 0x12) c.node = src.string(end, lim.nodeIdBytesMax, 'node');
    else src.skip(t, end);
  }
  return c;
}

export function decodeConfStateBody(src: ProtoSource, end: number, lim: RaftDecodeLimits): ConfState {
  const c: ConfState = { voters: [], learners: [] };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x0a || t === 0x12) {
      if (c.voters.length + c.learners.length >= lim.confNodesMax) throw new DecodeFail(LIMIT, `more than ${lim.confNodesMax} nodes`);
      const id = src.string(end, lim.nodeIdBytesMax, 'node id');
      if (t === 0x0a) c.voters.push(id);
      else c.learners.push(id);
    } else src.skip(t, end);
  }
  return c;
}

function decodeSnapshotMeta(src: ProtoSource, end: number, lim: RaftDecodeLimits): SnapshotMeta {
  const m: SnapshotMeta = { index: 0, term: 0, conf: { voters: [], learners: [] } };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) m.index = src.uint(end);
    else if (t === 0x10) m.term = src.uint(end);
    else if (t === 0x1a) {
      const n = src.len(end, end - src.pos, 'conf state');
      m.conf = decodeConfStateBody(src, src.pos + n, lim);
    } else src.skip(t, end);
  }
  return m;
}

type Chunk = NonNullable<Message['snapshot']>;

function decodeChunk(src: ProtoSource, end: number, lim: RaftDecodeLimits): Chunk {
  const c: Chunk = { meta: { index: 0, term: 0, conf: { voters: [], learners: [] } }, offset: 0, data: EMPTY_BYTES, done: false };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x0a) {
      const n = src.len(end, end - src.pos, 'snapshot meta');
      c.meta = decodeSnapshotMeta(src, src.pos + n, lim);
    } else if (t === 0x10) c.offset = src.uint(end);
    else if (t === 0x1a) c.data = src.bytes(end, lim.snapshotChunkBytesMax, 'snapshot chunk');
    else if (t === 0x20) c.done = src.bool(end);
    else src.skip(t, end);
  }
  return c;
}

export function decodeMessageBody(src: ProtoSource, end: number, lim: RaftDecodeLimits): Message {
  const m: Message = {
    type: MessageType.Vote,
    from: '',
    to: '',
    term: 0,
    index: 0,
    logTerm: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: EMPTY_BYTES,
  };
  let typeSeen = false;
  while (src.pos < end) {
    const t = src.tag(end);
    switch (t) {
      case 0x08:
        m.type = messageType(src.varint(end));
        typeSeen = true;
        break;
      case 0x12:
        m.from = src.string(end, lim.nodeIdBytesMax, 'from');
        break;
      case 0x1a:
        m.to = src.string(end, lim.nodeIdBytesMax, 'to');
        break;
      case 0x20:
        m.term = src.uint(end);
        break;
      case 0x28:
        m.index = src.uint(end);
        break;
      case 0x30:
        m.logTerm = src.uint(end);
        break;
      case 0x3a: {
        if (m.entries.length >= lim.entriesPerMessageMax) throw new DecodeFail(LIMIT, `more than ${lim.entriesPerMessageMax} entries`);
        const n = src.len(end, end - src.pos, 'entry');
        m.entries.push(decodeEntryBody(src, src.pos + n, lim));
        break;
      }
      case 0x40:
        m.commit = src.uint(end);
        break;
      case 0x48:
        m.reject = src.bool(end);
        break;
      case 0x50:
        m.rejectHint = src.uint(end);
        break;
      case 0x5a:
        m.context = src.bytes(end, lim.contextBytesMax, 'context');
        break;
      case 0x62: {
        const n = src.len(end, end - src.pos, 'snapshot chunk');
        m.snapshot = decodeChunk(src, src.pos + n, lim);
        break;
      }
      default:
        src.skip(t, end);
    }
  }
  // Type 0 (absent) is never sent: a message without a type is refused.
  if (!typeSeen) throw new DecodeFail(BAD, 'raft message without a type');
  return m;
}
