import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { ConfChangeType, EntryType, type ConfChange, type ConfState, type Entry, type HardState, type Message } from '../../../src/raft/types.js';
import { WireKind } from '../../../src/wire/kind.js';
import { wireString, wireUint } from './gossip-arbitraries.js';

/** fast-check arbitraries of Raft data, and the protobufjs reflection reference of raft.proto. */

function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const bytesArb = fc.uint8Array({ maxLength: 40 });

export const entryArb: fc.Arbitrary<Entry> = rec({
  term: wireUint,
  index: wireUint,
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
  data: bytesArb,
});

export const hardStateArb: fc.Arbitrary<HardState> = rec({ term: wireUint, vote: wireString, commit: wireUint });
export const confStateArb: fc.Arbitrary<ConfState> = rec({
  voters: fc.array(wireString, { maxLength: 5 }),
  learners: fc.array(wireString, { maxLength: 3 }),
});
export const confChangeArb: fc.Arbitrary<ConfChange> = rec({
  type: fc.constantFrom(ConfChangeType.AddVoter, ConfChangeType.AddLearner, ConfChangeType.RemoveNode),
  node: wireString,
});

const snapshotArb = rec({
  meta: rec({ index: wireUint, term: wireUint, conf: confStateArb }),
  offset: wireUint,
  data: bytesArb,
  done: fc.boolean(),
});

export const raftMessageArb: fc.Arbitrary<Message> = fc
  .tuple(
    rec({
      type: fc.integer({ min: 1, max: 15 }) as fc.Arbitrary<Message['type']>,
      from: wireString,
      to: wireString,
      term: wireUint,
      index: wireUint,
      logTerm: wireUint,
      entries: fc.array(entryArb, { maxLength: 5 }),
      commit: wireUint,
      reject: fc.boolean(),
      rejectHint: wireUint,
      context: bytesArb,
    }),
    fc.option(snapshotArb, { nil: undefined }),
  )
  .map(([m, snapshot]) => (snapshot === undefined ? m : { ...m, snapshot }));

// ---- reflection reference

export const raftRoot = protobuf.loadSync(fileURLToPath(new URL('../../../src/wire/raft.proto', import.meta.url)));
export const RaftMessageType = raftRoot.lookupType('shoal.raft.Message');
export const RaftEntryType = raftRoot.lookupType('shoal.raft.Entry');
export const RaftHardStateType = raftRoot.lookupType('shoal.raft.HardState');
export const RaftConfStateType = raftRoot.lookupType('shoal.raft.ConfState');
export const RaftConfChangeType = raftRoot.lookupType('shoal.raft.ConfChange');

const toObjectOptions: protobuf.IConversionOptions = { longs: Number, defaults: true, arrays: true, objects: true };

type Obj = Record<string, unknown>;
const u8 = (b: unknown): Uint8Array => new Uint8Array(b as Uint8Array);

function normEntry(e: Obj): Entry {
  return { ...(e as unknown as Entry), data: u8(e.data) };
}

function normMessage(o: Obj): Message {
  const m = { ...o, entries: (o.entries as Obj[]).map(normEntry), context: u8(o.context) } as Obj;
  if (o.snapshot === null || o.snapshot === undefined) delete m.snapshot;
  else {
    const s = o.snapshot as Obj;
    m.snapshot = { ...s, data: u8(s.data) };
  }
  return m as unknown as Message;
}

export function reflectEncodeRaftMessage(m: Message): Uint8Array {
  const body = RaftMessageType.encode(RaftMessageType.fromObject(m)).finish();
  return Uint8Array.from([WireKind.RaftMessage, ...body]);
}

export function reflectDecodeRaftMessage(buf: Uint8Array): Message {
  return normMessage(RaftMessageType.toObject(RaftMessageType.decode(buf.subarray(1)), toObjectOptions));
}

export function reflectEncode(type: protobuf.Type, value: object): Uint8Array {
  return Uint8Array.from(type.encode(type.fromObject(value)).finish());
}

export function reflectDecode(type: protobuf.Type, buf: Uint8Array): Obj {
  const o = type.toObject(type.decode(buf), toObjectOptions);
  return type === RaftEntryType ? (normEntry(o) as unknown as Obj) : o;
}
