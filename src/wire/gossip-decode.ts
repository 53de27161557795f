import {
  MemberState,
  MessageType,
  type AckMsg,
  type AliveMsg,
  type DeadMsg,
  type GossipMessage,
  type IndirectPingMsg,
  type LeaveMsg,
  type NackMsg,
  type PingMsg,
  type PushNodeState,
  type PushPullMsg,
  type SuspectMsg,
  type UserEventMsg,
} from '../gossip/messages.js';
import { DecodeDropReason, type DecodeLimits } from './limits.js';
import { DecodeFail, EMPTY_BYTES, type ProtoSource } from './pb-read.js';

/**
 * Decoder of gossip.proto, written by hand on the bounded primitives of
 * pb-read.ts. Each function reads one message body in [src.pos, end).
 * Fields absent on the wire take proto3 defaults (0, '', false, empty);
 * unknown fields are skipped; a known field with an unexpected wire type is
 * skipped like an unknown one. Incarnations, Lamport times and sequence
 * numbers above wireUintMax refuse the whole input (OutOfRange).
 */

const LIMIT = DecodeDropReason.LimitExceeded;

function setTag(tags: Record<string, string>, k: string, v: string): void {
  // A key "__proto__" must become an own property, not the object's prototype.
  if (k === '__proto__') Object.defineProperty(tags, k, { value: v, enumerable: true, writable: true, configurable: true });
  else tags[k] = v;
}

/** Tags of one node; `count` and the byte budget bound the whole map. */
class TagsReader {
  readonly tags: Record<string, string> = {};
  private count = 0;
  private budgetBytes: number;

  constructor(private readonly lim: DecodeLimits) {
    this.budgetBytes = lim.tagsBytesMax;
  }

  entry(src: ProtoSource, end: number): void {
    if (++this.count > this.lim.tagsMax) throw new DecodeFail(LIMIT, `more than ${this.lim.tagsMax} tags`);
    const entryBytes = src.len(end, end - src.pos, 'tag entry');
    const entryEnd = src.pos + entryBytes;
    let k = '';
    let v = '';
    while (src.pos < entryEnd) {
      const t = src.tag(entryEnd);
      if (t === 0x0a || t === 0x12) {
        const s = src.string(entryEnd, this.budgetBytes, 'tags');
        this.budgetBytes -= src.lastLenBytes;
        if (t === 0x0a) k = s;
        else v = s;
      } else src.skip(t, entryEnd);
    }
    setTag(this.tags, k, v);
  }
}

function decodePing(src: ProtoSource, end: number, lim: DecodeLimits): PingMsg {
  const m: PingMsg = { type: MessageType.Ping, seqNo: 0, target: '', sourceName: '', sourceAddr: '' };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) m.seqNo = src.uint(end);
    else if (t === 0x12) m.target = src.string(end, lim.stringBytesMax, 'target');
    else if (t === 0x1a) m.sourceName = src.string(end, lim.stringBytesMax, 'sourceName');
    else if (t === 0x22) m.sourceAddr = src.string(end, lim.stringBytesMax, 'sourceAddr');
    else src.skip(t, end);
  }
  return m;
}

function decodeIndirectPing(src: ProtoSource, end: number, lim: DecodeLimits): IndirectPingMsg {
  const m: IndirectPingMsg = {
    type: MessageType.IndirectPing,
    seqNo: 0,
    target: '',
    targetAddr: '',
    nack: false,
    sourceName: '',
    sourceAddr: '',
  };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) m.seqNo = src.uint(end);
    else if (t === 0x12) m.target = src.string(end, lim.stringBytesMax, 'target');
    else if (t === 0x1a) m.targetAddr = src.string(end, lim.stringBytesMax, 'targetAddr');
    else if (t === 0x20) m.nack = src.bool(end);
    else if (t === 0x2a) m.sourceName = src.string(end, lim.stringBytesMax, 'sourceName');
    else if (t === 0x32) m.sourceAddr = src.string(end, lim.stringBytesMax, 'sourceAddr');
    else src.skip(t, end);
  }
  return m;
}

function decodeAck(src: ProtoSource, end: number, lim: DecodeLimits): AckMsg {
  const m: AckMsg = { type: MessageType.Ack, seqNo: 0 };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) m.seqNo = src.uint(end);
    else if (t === 0x12) m.payload = src.bytes(end, lim.payloadBytesMax, 'payload');
    else src.skip(t, end);
  }
  return m;
}

function decodeNack(src: ProtoSource, end: number): NackMsg {
  const m: NackMsg = { type: MessageType.Nack, seqNo: 0 };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) m.seqNo = src.uint(end);
    else src.skip(t, end);
  }
  return m;
}

function decodeAlive(src: ProtoSource, end: number, lim: DecodeLimits): AliveMsg {
  let incarnation = 0;
  let name = '';
  let addr = '';
  let tags: TagsReader | undefined;
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) incarnation = src.uint(end);
    else if (t === 0x12) name = src.string(end, lim.stringBytesMax, 'name');
    else if (t === 0x1a) addr = src.string(end, lim.stringBytesMax, 'addr');
    else if (t === 0x22) (tags ??= new TagsReader(lim)).entry(src, end);
    else src.skip(t, end);
  }
  return { type: MessageType.Alive, incarnation, name, addr, tags: tags?.tags ?? {} };
}

function decodeSuspectOrDead<T extends typeof MessageType.Suspect | typeof MessageType.Dead>(
  type: T,
  src: ProtoSource,
  end: number,
  lim: DecodeLimits,
): { type: T; incarnation: number; name: string; from: string } {
  const m = { type, incarnation: 0, name: '', from: '' };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) m.incarnation = src.uint(end);
    else if (t === 0x12) m.name = src.string(end, lim.stringBytesMax, 'name');
    else if (t === 0x1a) m.from = src.string(end, lim.stringBytesMax, 'from');
    else src.skip(t, end);
  }
  return m;
}

function decodeLeave(src: ProtoSource, end: number, lim: DecodeLimits): LeaveMsg {
  const m: LeaveMsg = { type: MessageType.Leave, incarnation: 0, name: '' };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) m.incarnation = src.uint(end);
    else if (t === 0x12) m.name = src.string(end, lim.stringBytesMax, 'name');
    else src.skip(t, end);
  }
  return m;
}

function memberState(n: number): MemberState {
  if (n > MemberState.Left) throw new DecodeFail(DecodeDropReason.BadValue, `unknown member state ${n}`);
  return n as MemberState;
}

function decodeNodeState(src: ProtoSource, end: number, lim: DecodeLimits): PushNodeState {
  let name = '';
  let addr = '';
  let incarnation = 0;
  let state: MemberState = MemberState.Alive;
  let tags: TagsReader | undefined;
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x0a) name = src.string(end, lim.stringBytesMax, 'name');
    else if (t === 0x12) addr = src.string(end, lim.stringBytesMax, 'addr');
    else if (t === 0x18) incarnation = src.uint(end);
    else if (t === 0x20) state = memberState(src.varint(end));
    else if (t === 0x2a) (tags ??= new TagsReader(lim)).entry(src, end);
    else src.skip(t, end);
  }
  return { name, addr, incarnation, state, tags: tags?.tags ?? {} };
}

function decodePushPull(src: ProtoSource, end: number, lim: DecodeLimits): PushPullMsg {
  const m: PushPullMsg = {
    type: MessageType.PushPull,
    join: false,
    reply: false,
    sourceName: '',
    sourceAddr: '',
    states: [],
    eventLtime: 0,
  };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) m.join = src.bool(end);
    else if (t === 0x10) m.reply = src.bool(end);
    else if (t === 0x1a) m.sourceName = src.string(end, lim.stringBytesMax, 'sourceName');
    else if (t === 0x22) m.sourceAddr = src.string(end, lim.stringBytesMax, 'sourceAddr');
    else if (t === 0x2a) {
      if (m.states.length >= lim.nodeStatesMax) throw new DecodeFail(LIMIT, `more than ${lim.nodeStatesMax} node states`);
      const n = src.len(end, end - src.pos, 'node state');
      m.states.push(decodeNodeState(src, src.pos + n, lim));
    } else if (t === 0x30) m.eventLtime = src.uint(end);
    else src.skip(t, end);
  }
  return m;
}

function decodeUserEvent(src: ProtoSource, end: number, lim: DecodeLimits): UserEventMsg {
  const m: UserEventMsg = { type: MessageType.UserEvent, ltime: 0, name: '', payload: EMPTY_BYTES, coalesce: false };
  while (src.pos < end) {
    const t = src.tag(end);
    if (t === 0x08) m.ltime = src.uint(end);
    else if (t === 0x12) m.name = src.string(end, lim.stringBytesMax, 'name');
    else if (t === 0x1a) m.payload = src.bytes(end, lim.payloadBytesMax, 'payload');
    else if (t === 0x20) m.coalesce = src.bool(end);
    else src.skip(t, end);
  }
  return m;
}

/**
 * Decode one Gossip envelope in [src.pos, end). Returns undefined when it
 * holds no body this version knows (an empty envelope or a newer message type).
 * When a body case repeats, the last one wins (protobuf oneof semantics).
 */
export function decodeGossip(src: ProtoSource, end: number, lim: DecodeLimits): GossipMessage | undefined {
  let msg: GossipMessage | undefined;
  while (src.pos < end) {
    const t = src.tag(end);
    if ((t & 7) !== 2 || t >>> 3 > MessageType.UserEvent) {
      src.skip(t, end);
      continue;
    }
    const n = src.len(end, end - src.pos, 'message body');
    const bodyEnd = src.pos + n;
    msg = decodeBody(t >>> 3, src, bodyEnd, lim);
    if (src.pos !== bodyEnd) throw new DecodeFail(DecodeDropReason.Malformed, 'message body overran its length');
  }
  return msg;
}

function decodeBody(type: number, src: ProtoSource, end: number, lim: DecodeLimits): GossipMessage {
  switch (type) {
    case MessageType.Ping:
      return decodePing(src, end, lim);
    case MessageType.IndirectPing:
      return decodeIndirectPing(src, end, lim);
    case MessageType.Ack:
      return decodeAck(src, end, lim);
    case MessageType.Nack:
      return decodeNack(src, end);
    case MessageType.Alive:
      return decodeAlive(src, end, lim);
    case MessageType.Suspect:
      return decodeSuspectOrDead(MessageType.Suspect, src, end, lim) satisfies SuspectMsg;
    case MessageType.Dead:
      return decodeSuspectOrDead(MessageType.Dead, src, end, lim) satisfies DeadMsg;
    case MessageType.Leave:
      return decodeLeave(src, end, lim);
    case MessageType.PushPull:
      return decodePushPull(src, end, lim);
    case MessageType.UserEvent:
      return decodeUserEvent(src, end, lim);
    default:
      throw new DecodeFail(DecodeDropReason.Malformed, `no decoder for message type ${type}`);
  }
}
