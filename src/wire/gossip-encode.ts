import { MessageType, type GossipMessage, type PushNodeState, type Tags } from '../gossip/messages.js';
import { assert, unreachable } from '../util/assert.js';
import {
  ProtoSink,
  WireType,
  assertWireUint,
  boolFieldSize,
  bytesFieldSize,
  lenFieldSize,
  stringFieldSize,
  tag,
  utf8Length,
  varintFieldSize,
  varintSize,
} from './pb-write.js';

/**
 * Encoder of gossip.proto, written by hand on the size-then-write primitives
 * of pb-write.ts. Field tags below mirror gossip.proto; the conformance test
 * decodes these bytes with protobufjs reflection of that file.
 */

const V = WireType.Varint;
const L = WireType.Len;

// Tags shared by several messages (same field number and wire type).
const T1v = tag(1, V);
const T1l = tag(1, L);
const T2v = tag(2, V);
const T2l = tag(2, L);
const T3l = tag(3, L);
const T3v = tag(3, V);
const T4l = tag(4, L);
const T4v = tag(4, V);
const T5l = tag(5, L);
const T6l = tag(6, L);
const T6v = tag(6, V);

/** Packet.msgs (field 1, length-delimited). */
export const packetMsgsTag = T1l;

// ---- tags (map<string, string>: repeated entry { string key = 1; string value = 2; }, both always written)

function tagEntrySize(k: string, v: string): number {
  const kl = utf8Length(k);
  const vl = utf8Length(v);
  return 2 + varintSize(kl) + kl + varintSize(vl) + vl;
}

function tagsFieldSize(tags: Tags): number {
  let size = 0;
  const keys = Object.keys(tags);
  for (let i = 0; i < keys.length; i++) size += lenFieldSize(tagEntrySize(keys[i], tags[keys[i]]));
  return size;
}

function writeTags(sink: ProtoSink, tagByte: number, tags: Tags): void {
  const keys = Object.keys(tags);
  for (let i = 0; i < keys.length; i++) {
    const slot = sink.beginLen(tagByte);
    sink.stringAlways(T1l, keys[i]);
    sink.stringAlways(T2l, tags[keys[i]]);
    sink.endLen(slot);
  }
}

// ---- push-pull node states

function nodeStateSize(s: PushNodeState): number {
  assertWireUint(s.incarnation, 'incarnation');
  return (
    stringFieldSize(s.name) +
    stringFieldSize(s.addr) +
    varintFieldSize(s.incarnation) +
    varintFieldSize(s.state) +
    tagsFieldSize(s.tags)
  );
}

function writeNodeState(sink: ProtoSink, s: PushNodeState, bodyBytes: number): void {
  sink.lenHeader(T5l, bodyBytes);
  sink.stringField(T1l, s.name);
  sink.stringField(T2l, s.addr);
  sink.varintField(T3v, s.incarnation);
  sink.varintField(T4v, s.state);
  writeTags(sink, T5l, s.tags);
}

// ---- message bodies

/**
 * Bytes of a message's body (the Ping, Alive... message itself). For a
 * push-pull, `stateSizes` (if given) receives each node state's body size so
 * the write pass need not measure them again.
 */
export function bodySize(m: GossipMessage, stateSizes?: number[]): number {
  switch (m.type) {
    case MessageType.Ping:
      assertWireUint(m.seqNo, 'seqNo');
      return varintFieldSize(m.seqNo) + stringFieldSize(m.target) + stringFieldSize(m.sourceName) + stringFieldSize(m.sourceAddr);
    case MessageType.IndirectPing:
      assertWireUint(m.seqNo, 'seqNo');
      return (
        varintFieldSize(m.seqNo) +
        stringFieldSize(m.target) +
        stringFieldSize(m.targetAddr) +
        boolFieldSize(m.nack) +
        stringFieldSize(m.sourceName) +
        stringFieldSize(m.sourceAddr)
      );
    case MessageType.Ack:
      assertWireUint(m.seqNo, 'seqNo');
      return varintFieldSize(m.seqNo) + (m.payload === undefined ? 0 : bytesFieldSize(m.payload, true));
    case MessageType.Nack:
      assertWireUint(m.seqNo, 'seqNo');
      return varintFieldSize(m.seqNo);
    case MessageType.Alive:
      assertWireUint(m.incarnation, 'incarnation');
      return varintFieldSize(m.incarnation) + stringFieldSize(m.name) + stringFieldSize(m.addr) + tagsFieldSize(m.tags);
    case MessageType.Suspect:
    case MessageType.Dead:
      assertWireUint(m.incarnation, 'incarnation');
      return varintFieldSize(m.incarnation) + stringFieldSize(m.name) + stringFieldSize(m.from);
    case MessageType.Leave:
      assertWireUint(m.incarnation, 'incarnation');
      return varintFieldSize(m.incarnation) + stringFieldSize(m.name);
    case MessageType.PushPull: {
      assertWireUint(m.eventLtime, 'eventLtime');
      let size =
        boolFieldSize(m.join) +
        boolFieldSize(m.reply) +
        stringFieldSize(m.sourceName) +
        stringFieldSize(m.sourceAddr) +
        varintFieldSize(m.eventLtime);
      for (const s of m.states) {
        const n = nodeStateSize(s);
        stateSizes?.push(n);
        size += lenFieldSize(n);
      }
      return size;
    }
    case MessageType.UserEvent:
      assertWireUint(m.ltime, 'ltime');
      return varintFieldSize(m.ltime) + stringFieldSize(m.name) + bytesFieldSize(m.payload) + boolFieldSize(m.coalesce);
    default:
      return unreachable(m, 'gossip message type');
  }
}

function writeBody(sink: ProtoSink, m: GossipMessage, stateSizes: readonly number[] | undefined): void {
  switch (m.type) {
    case MessageType.Ping:
      sink.varintField(T1v, m.seqNo);
      sink.stringField(T2l, m.target);
      sink.stringField(T3l, m.sourceName);
      sink.stringField(T4l, m.sourceAddr);
      return;
    case MessageType.IndirectPing:
      sink.varintField(T1v, m.seqNo);
      sink.stringField(T2l, m.target);
      sink.stringField(T3l, m.targetAddr);
      sink.boolField(T4v, m.nack);
      sink.stringField(T5l, m.sourceName);
      sink.stringField(T6l, m.sourceAddr);
      return;
    case MessageType.Ack:
      sink.varintField(T1v, m.seqNo);
      if (m.payload !== undefined) sink.bytesField(T2l, m.payload, true);
      return;
    case MessageType.Nack:
      sink.varintField(T1v, m.seqNo);
      return;
    case MessageType.Alive:
      sink.varintField(T1v, m.incarnation);
      sink.stringField(T2l, m.name);
      sink.stringField(T3l, m.addr);
      writeTags(sink, T4l, m.tags);
      return;
    case MessageType.Suspect:
    case MessageType.Dead:
      sink.varintField(T1v, m.incarnation);
      sink.stringField(T2l, m.name);
      sink.stringField(T3l, m.from);
      return;
    case MessageType.Leave:
      sink.varintField(T1v, m.incarnation);
      sink.stringField(T2l, m.name);
      return;
    case MessageType.PushPull:
      sink.boolField(T1v, m.join);
      sink.boolField(T2v, m.reply);
      sink.stringField(T3l, m.sourceName);
      sink.stringField(T4l, m.sourceAddr);
      for (let i = 0; i < m.states.length; i++) {
        const s = m.states[i];
        writeNodeState(sink, s, stateSizes === undefined ? nodeStateSize(s) : stateSizes[i]);
      }
      sink.varintField(T6v, m.eventLtime);
      return;
    case MessageType.UserEvent:
      sink.varintField(T1v, m.ltime);
      sink.stringField(T2l, m.name);
      sink.bytesField(T3l, m.payload);
      sink.boolField(T4v, m.coalesce);
      return;
    default:
      unreachable(m, 'gossip message type');
  }
}

/** The oneof tag of a message in Gossip: case number = MessageType. */
function gossipCaseTag(m: GossipMessage): number {
  return tag(m.type, L);
}

/** Bytes of the Gossip envelope holding `m`, given its body size. */
export function gossipSizeFromBody(body: number): number {
  return lenFieldSize(body);
}

/** Write Gossip { <case>: body } (the envelope's own length prefix is the caller's). */
export function writeGossip(sink: ProtoSink, m: GossipMessage, body: number, stateSizes?: readonly number[]): void {
  sink.lenHeader(gossipCaseTag(m), body);
  const start = sink.pos;
  writeBody(sink, m, stateSizes);
  if (sink.pos - start !== body) assert(false, `gossip ${m.type}: wrote ${sink.pos - start} bytes, size pass said ${body}`);
}
