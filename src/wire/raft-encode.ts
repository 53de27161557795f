import type { ConfChange, ConfState, Entry, HardState, Message, SnapshotMeta } from '../raft/types.js';
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
 * Encoder of raft.proto on the size-then-write primitives of pb-write.ts.
 * Field tags mirror raft.proto; the conformance test decodes these bytes with
 * protobufjs reflection of that file.
 */

const V = WireType.Varint;
const L = WireType.Len;
/** TV[f] / TL[f]: the one-byte tag of field f as a varint / length-delimited field. */
const TV = Array.from({ length: 16 }, (_, f) => (f === 0 ? 0 : tag(f, V)));
const TL = Array.from({ length: 16 }, (_, f) => (f === 0 ? 0 : tag(f, L)));

// ---- Entry

export function entrySize(e: Entry): number {
  assertWireUint(e.term, 'entry term');
  assertWireUint(e.index, 'entry index');
  return varintFieldSize(e.term) + varintFieldSize(e.index) + varintFieldSize(e.type) + bytesFieldSize(e.data);
}

export function writeEntry(sink: ProtoSink, e: Entry): void {
  sink.varintField(TV[1], e.term);
  sink.varintField(TV[2], e.index);
  sink.varintField(TV[3], e.type);
  sink.bytesField(TL[4], e.data);
}

// ---- HardState, ConfChange

export function hardStateSize(h: HardState): number {
  assertWireUint(h.term, 'term');
  assertWireUint(h.commit, 'commit');
  return varintFieldSize(h.term) + stringFieldSize(h.vote) + varintFieldSize(h.commit);
}

export function writeHardState(sink: ProtoSink, h: HardState): void {
  sink.varintField(TV[1], h.term);
  sink.stringField(TL[2], h.vote);
  sink.varintField(TV[3], h.commit);
}

export function confChangeSize(c: ConfChange): number {
  return varintFieldSize(c.type) + stringFieldSize(c.node);
}

export function writeConfChange(sink: ProtoSink, c: ConfChange): void {
  sink.varintField(TV[1], c.type);
  sink.stringField(TL[2], c.node);
}

// ---- ConfState (repeated strings are written even when empty, as protobuf does for repeated fields)

function repeatedStringSize(xs: readonly string[]): number {
  let size = 0;
  for (const s of xs) {
    const n = utf8Length(s);
    size += 1 + varintSize(n) + n;
  }
  return size;
}

export function confStateSize(c: ConfState): number {
  return repeatedStringSize(c.voters) + repeatedStringSize(c.learners);
}

export function writeConfState(sink: ProtoSink, c: ConfState): void {
  for (const s of c.voters) sink.stringAlways(TL[1], s);
  for (const s of c.learners) sink.stringAlways(TL[2], s);
}

// ---- Snapshot meta and chunk

function snapshotMetaSize(m: SnapshotMeta): number {
  assertWireUint(m.index, 'snapshot index');
  assertWireUint(m.term, 'snapshot term');
  return varintFieldSize(m.index) + varintFieldSize(m.term) + lenFieldSize(confStateSize(m.conf));
}

function writeSnapshotMeta(sink: ProtoSink, m: SnapshotMeta): void {
  sink.varintField(TV[1], m.index);
  sink.varintField(TV[2], m.term);
  sink.lenHeader(TL[3], confStateSize(m.conf));
  writeConfState(sink, m.conf);
}

type Chunk = NonNullable<Message['snapshot']>;

function chunkSize(c: Chunk): number {
  assertWireUint(c.offset, 'snapshot offset');
  return lenFieldSize(snapshotMetaSize(c.meta)) + varintFieldSize(c.offset) + bytesFieldSize(c.data) + boolFieldSize(c.done);
}

function writeChunk(sink: ProtoSink, c: Chunk): void {
  sink.lenHeader(TL[1], snapshotMetaSize(c.meta));
  writeSnapshotMeta(sink, c.meta);
  sink.varintField(TV[2], c.offset);
  sink.bytesField(TL[3], c.data);
  sink.boolField(TV[4], c.done);
}

// ---- Message

/** Bytes of a Message; `entrySizes` receives each entry's body size for the write pass. */
export function messageSize(m: Message, entrySizes: number[]): number {
  assertWireUint(m.term, 'term');
  assertWireUint(m.index, 'index');
  assertWireUint(m.logTerm, 'logTerm');
  assertWireUint(m.commit, 'commit');
  assertWireUint(m.rejectHint, 'rejectHint');
  let size =
    varintFieldSize(m.type) +
    stringFieldSize(m.from) +
    stringFieldSize(m.to) +
    varintFieldSize(m.term) +
    varintFieldSize(m.index) +
    varintFieldSize(m.logTerm) +
    varintFieldSize(m.commit) +
    boolFieldSize(m.reject) +
    varintFieldSize(m.rejectHint) +
    bytesFieldSize(m.context);
  for (const e of m.entries) {
    const n = entrySize(e);
    entrySizes.push(n);
    size += lenFieldSize(n);
  }
  if (m.snapshot !== undefined) size += lenFieldSize(chunkSize(m.snapshot));
  return size;
}

export function writeMessage(sink: ProtoSink, m: Message, entrySizes: readonly number[]): void {
  sink.varintField(TV[1], m.type);
  sink.stringField(TL[2], m.from);
  sink.stringField(TL[3], m.to);
  sink.varintField(TV[4], m.term);
  sink.varintField(TV[5], m.index);
  sink.varintField(TV[6], m.logTerm);
  for (let i = 0; i < m.entries.length; i++) {
    sink.lenHeader(TL[7], entrySizes[i]);
    writeEntry(sink, m.entries[i]);
  }
  sink.varintField(TV[8], m.commit);
  sink.boolField(TV[9], m.reject);
  sink.varintField(TV[10], m.rejectHint);
  sink.bytesField(TL[11], m.context);
  if (m.snapshot !== undefined) {
    sink.lenHeader(TL[12], chunkSize(m.snapshot));
    writeChunk(sink, m.snapshot);
  }
}
