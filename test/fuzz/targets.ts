/**
 * One fuzz target per decoder and parser that reads bytes or documents from
 * outside the process: gossip packets (plain and sealed) and frames, Raft
 * messages and their bare records, WAL records and segments, snapshot files,
 * the config store's snapshot, the cluster handshake and frame header, HTTP
 * request bodies and agent config documents.
 *
 * Each target is an input arbitrary (random and mutated-valid, mutate.ts)
 * and a check that throws on a violation: the decoder never throws (or only
 * its documented error type), what it returns is bounded by what it read,
 * an accepted value re-encodes to itself, and where a decoder feeds a core,
 * a rejected input leaves the core exactly as it was and an accepted one
 * never makes it throw or emit something unencodable.
 *
 * test/fuzz/decoders.test.ts runs every target a few thousand times in
 * `npm test`; bench/fuzz-soak.ts (`npm run soak:fuzz`) runs 100,000 cases each.
 */
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { HttpError } from '../../src/api/config-http.js';
import { parseCompactBody, parseLeaseGrantBody, parseNames, parsePutBody, parseQuery, parseTxnBody } from '../../src/api/config-schema.js';
import { validateAgentConfig, type AgentConfig } from '../../src/agent/config.js';
import { decodeFrameHead, encodeFrameHead, frameHeaderBytes } from '../../src/cluster/frame-header.js';
import {
  decodeHandshake,
  encodeHandshake,
  handshakeBytesMax,
  identityFieldBytesMax,
  nonceBytesMax,
  protocolVersion,
  refuseMessageBytesMax,
  type Handshake,
} from '../../src/cluster/handshake-codec.js';
import { FrameType, RefuseReason, StreamKind } from '../../src/cluster/kinds.js';
import { ClusterSecurity } from '../../src/cluster/security.js';
import { ConfigStore } from '../../src/control/store/config-store.js';
import { decodeSnapshot } from '../../src/control/store/snapshot.js';
import { presets, validateGossipConfig } from '../../src/gossip/config.js';
import { GossipCore } from '../../src/gossip/core.js';
import { MemberState, type PushNodeState } from '../../src/gossip/messages.js';
import { validateRaftConfig } from '../../src/raft/config.js';
import { RaftNode } from '../../src/raft/node.js';
import type { Entry, HardState, Message, RaftInitialState } from '../../src/raft/types.js';
import {
  RecordType,
  decodeEntry as decodeWalEntry,
  decodeHardState as decodeWalHardState,
  decodeRecordAt,
  decodeSegmentHeader,
  decodeSnapshotMarker,
  encodeEntry as encodeWalEntry,
  encodeHardState as encodeWalHardState,
  encodeSegmentHeader,
  encodeSnapshotMarker,
} from '../../src/storage/record.js';
import { ReplayLog } from '../../src/storage/replay-log.js';
import { decodeSnapshotFile, encodeSnapshotFile } from '../../src/storage/snapshot-store.js';
import { parseSegment } from '../../src/storage/wal-segment.js';
import { ErrorCode, ShoalError } from '../../src/util/errors.js';
import { SeededRng } from '../../src/util/rng.js';
import { Keyring, encrypt } from '../../src/wire/crypto.js';
import {
  DecodeDropReason,
  decodeFrame,
  decodePacket,
  defaultDecodeLimits,
  encodeFrame,
  encodePacket,
  type DecodeResult,
} from '../../src/wire/gossip-codec.js';
import { WireKind } from '../../src/wire/kind.js';
import {
  decodeConfChange,
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeRaftMessage,
  defaultRaftDecodeLimits,
  encodeConfChange,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeRaftMessage,
  type RaftDecodeResult,
} from '../../src/wire/raft-codec.js';
import { wireUintMax } from '../../src/wire/uint.js';
import { Harness } from '../unit/control/store-helpers.js';
import { steps } from '../unit/control/store-arbitraries.js';
import { Cluster } from '../unit/raft/cluster.js';
import { confChangeArb, confStateArb, entryArb, hardStateArb, raftMessageArb } from '../unit/wire/raft-arbitraries.js';
import { gossipMessageArb, wireString } from '../unit/wire/gossip-arbitraries.js';
import { concat, decodedSize, hostileBytes, mutated } from './mutate.js';

export interface FuzzTarget<T = unknown> {
  /** The decoder or parser under test (one JSON line per name in the soak). */
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Throws on a violation. */
  readonly check: (input: T) => void;
}

function target<T>(name: string, arbitrary: fc.Arbitrary<T>, check: (input: T) => void): FuzzTarget {
  return { name, arbitrary, check: check as (input: unknown) => void };
}

class Violation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Violation';
  }
}

function ensure(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Violation(what);
}

/** Runs `fn`; an exception that `allowed` does not accept is a violation. */
function only<T>(fn: () => T, allowed: (e: unknown) => boolean, what: string): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!allowed(e)) throw new Violation(`${what} threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    return undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const isShoal = (...codes: string[]) => (e: unknown): boolean => e instanceof ShoalError && codes.includes(e.code);

/** What a decoder returns is linear in what it read (objects of defaults included). */
function bounded(value: unknown, inputBytes: number, what: string): void {
  const size = decodedSize(value);
  ensure(size <= 32 * inputBytes + 256, `${what}: decoded size ${size} from ${inputBytes} input bytes`);
}

const decodeReasons = new Set<string>(Object.values(DecodeDropReason));

function wellFormedError(error: unknown, codes: readonly string[], what: string): void {
  ensure(error instanceof ShoalError, `${what}: error is not a ShoalError`);
  ensure(codes.includes(error.code), `${what}: error code ${error.code}`);
  ensure(decodeReasons.has(String(error.details?.reason)), `${what}: reason ${String(error.details?.reason)}`);
}

// ---- gossip

const gossipCodes = [ErrorCode.DecodeFailed, ErrorCode.PacketTooLarge, ErrorCode.FrameTooLarge];
const noPacketLimit = { packetMaxBytes: Number.MAX_SAFE_INTEGER, frameMaxBytes: Number.MAX_SAFE_INTEGER };

/** The victim core: 'self' at 10.0.0.1 with three known members. */
function gossipVictim(): GossipCore {
  const core = new GossipCore(presets.local('self', '10.0.0.1:7946'), new SeededRng(1), 0);
  const states: PushNodeState[] = ['a', 'b', 'c'].map((name, i) => ({ name, addr: `10.0.0.${i + 2}:7946`, incarnation: 3, state: MemberState.Alive, tags: {} }));
  core.seedMembers(states, 0);
  core.ready();
  return core;
}

function gossipSnapshot(core: GossipCore): unknown {
  return { members: core.members(), health: core.localHealth(), next: core.nextTickAtMs() };
}

/** Steps what decoded into a fresh core (as the shell does); a refused input must change nothing. */
function deliverGossip(r: DecodeResult, via: 'packet' | 'stream'): void {
  const core = gossipVictim();
  const before = gossipSnapshot(core);
  if (r.ok) for (const m of r.msgs) core.step('10.0.0.9:7946', m, via, 100);
  if (!r.ok) {
    const out = core.ready();
    ensure(isDeepStrictEqual(gossipSnapshot(core), before) && out.packets.length + out.frames.length + out.events.length === 0, 'a refused input changed the core');
    return;
  }
  core.tick(5000);
  const out = core.ready();
  for (const p of out.packets) encodePacket(p.msgs);
  for (const f of out.frames) encodeFrame(f.msg);
  ensure(core.localMember().state === MemberState.Alive, 'the core declared itself not alive');
  ensure(core.members().every((m) => m.incarnation >= 0 && m.incarnation <= wireUintMax), 'an incarnation left the wire bound');
}

function checkGossipResult(r: DecodeResult, buf: Uint8Array, what: string, via: 'packet' | 'stream'): void {
  if (!r.ok) {
    wellFormedError(r.error, gossipCodes, what);
  } else {
    ensure(r.msgs.length <= defaultDecodeLimits.messagesPerPacketMax, `${what}: ${r.msgs.length} messages`);
    bounded(r.msgs, buf.length, what);
    if (r.msgs.length > 0) {
      const again = via === 'packet' ? decodePacket(encodePacket(r.msgs), noPacketLimit) : decodeFrame(encodeFrame(r.msgs[0]), noPacketLimit);
      ensure(again.ok && isDeepStrictEqual(again.msgs, r.msgs), `${what}: re-encoding changed the messages`);
    }
  }
  deliverGossip(r, via);
}

const validPacket = fc.array(gossipMessageArb({ pushPull: false }), { minLength: 1, maxLength: 5 }).map((msgs) => encodePacket(msgs));
const validFrame = gossipMessageArb({ pushPull: true }).map((m) => encodeFrame(m));

const gossipPacket = target('gossip-packet', hostileBytes(validPacket, Uint8Array.of(WireKind.GossipPacket)), (buf: Uint8Array) => {
  checkGossipResult(decodePacket(buf), buf, 'gossip packet', 'packet');
});

const gossipFrame = target('gossip-frame', hostileBytes(validFrame, Uint8Array.of(WireKind.GossipFrame)), (buf: Uint8Array) => {
  checkGossipResult(decodeFrame(buf), buf, 'gossip frame', 'stream');
});

const ringKey = new Uint8Array(32).fill(7);
const otherKey = new Uint8Array(32).fill(9);
const security = new ClusterSecurity('prod', { keyring: new Keyring(ringKey, [otherKey]) });

/** A sealed packet and its mutation: only the untouched bytes may open (AES-GCM). */
const sealedArb = fc
  .tuple(validPacket, fc.constantFrom(ringKey, otherKey), fc.constantFrom('prod', 'test', ''))
  .chain(([plain, key, label]) => {
    const sealed = encrypt(new Keyring(key), label, plain);
    return fc.record({
      plain: fc.constant(plain),
      sealed: fc.constant(sealed),
      label: fc.constant(label),
      buf: fc.oneof({ weight: 4, arbitrary: mutated(fc.constant(sealed)) }, { weight: 1, arbitrary: fc.constant(sealed) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => concat(Uint8Array.of(WireKind.Encrypted, 1), b)) }),
    });
  });

const gossipSealed = target('gossip-packet-sealed', sealedArb, ({ plain, sealed, label, buf }) => {
  const opened = only(() => security.open(buf), () => false, 'ClusterSecurity.open');
  ensure(opened !== undefined, 'open returned nothing');
  const same = sameBytes(buf, sealed);
  if (opened.ok) {
    ensure(same && label === 'prod', 'a tampered, foreign-label or random packet opened');
    ensure(sameBytes(opened.plain, plain), 'opened to other bytes');
    checkGossipResult(decodePacket(opened.plain), opened.plain, 'sealed gossip packet', 'packet');
  } else {
    ensure(!same || label !== 'prod', 'an untouched packet of our label did not open');
  }
});

// ---- raft

const raftCodes = [ErrorCode.DecodeFailed, ErrorCode.FrameTooLarge];

/** A few hundred real messages of a running cluster, and a follower's and the leader's durable state to restart them from. */
const raftWorld = ((): { frames: Uint8Array[]; follower: RaftInitialState; leader: RaftInitialState; voters: string[] } => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 5, config: { snapshotChunkBytes: 64 } });
  c.node('a').campaign();
  c.stabilize();
  for (let i = 0; i < 12; i++) c.propose('a', `v${i}`);
  c.node('b').readIndex(new TextEncoder().encode('read-1'));
  c.stabilize();
  c.tickAll(3);
  const init = (id: string): RaftInitialState => {
    const s = c.storage.get(id)!;
    return { hardState: { ...s.hardState }, entries: [...s.entries], conf: { voters: [], learners: [] } };
  };
  const frames = c.sent.slice(0, 400).map((m) => encodeRaftMessage(m));
  return { frames, follower: init('b'), leader: init('a'), voters: ['a', 'b', 'c'] };
})();

const raftConfig = validateRaftConfig({ id: 'b', electionTicks: 10, heartbeatTicks: 1 });
const leaderConfig = validateRaftConfig({ id: 'a', electionTicks: 10, heartbeatTicks: 1 });

/** 'a' restarted from its storage and elected again with b's votes: a leader with two followers. */
function raftLeader(): RaftNode {
  const a = new RaftNode(leaderConfig, raftWorld.leader, new SeededRng(4));
  drainRaft(a);
  a.campaign();
  drainRaft(a);
  const term = a.status().term + 1;
  const vote = (type: Message['type']): Message => ({ type, from: 'b', to: 'a', term, index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(0) });
  a.step(vote(4)); // PreVoteResp
  drainRaft(a);
  a.step(vote(2)); // VoteResp
  drainRaft(a);
  ensure(a.status().role === 'leader', 'the fuzz leader was not elected');
  return a;
}

/** Steps `m` (retargeted) into a node, runs ticks, and checks what must hold; a non-member's message changes nothing time would not. */
function stepRaft(make: () => RaftNode, id: string, m: Message): void {
  const node = make();
  only(() => node.step({ ...m, to: id }), () => false, 'RaftNode.step');
  drainRaft(node);
  for (let i = 0; i < 25; i++) {
    node.tick();
    drainRaft(node);
  }
  const st = node.status();
  ensure(st.applied <= st.commit && st.commit <= st.lastIndex, `indexes out of order ${st.applied}/${st.commit}/${st.lastIndex}`);
  ensure(st.term <= wireUintMax && st.lastIndex <= wireUintMax, 'a number left the wire bound');
  if (raftWorld.voters.includes(m.from)) return;
  const fresh = make();
  drainRaft(fresh);
  for (let i = 0; i < 25; i++) {
    fresh.tick();
    drainRaft(fresh);
  }
  ensure(isDeepStrictEqual(raftView(node), raftView(fresh)), `a message from non-member ${m.from} changed ${id}`);
}

function drainRaft(node: RaftNode): void {
  for (let guard = 0; node.hasReady(); guard++) {
    ensure(guard < 1000, 'the Ready loop does not settle');
    const rd = node.ready();
    for (const m of rd.messages) encodeRaftMessage(m);
    for (const e of rd.entries) encodeEntry(e);
    if (rd.hardState !== undefined) encodeHardState(rd.hardState);
    node.advance(rd);
  }
}

function raftView(node: RaftNode): unknown {
  const s = node.status();
  return [s.term, s.vote, s.commit, s.lastIndex, s.leader, s.role, s.voters, s.learners];
}

const validRaftFrame = fc.oneof(fc.constantFrom(...raftWorld.frames), raftMessageArb.map((m) => encodeRaftMessage(m)));

const raftMessage = target('raft-message', hostileBytes(validRaftFrame, Uint8Array.of(WireKind.RaftMessage)), (buf: Uint8Array) => {
  const node = new RaftNode(raftConfig, raftWorld.follower, new SeededRng(3));
  drainRaft(node);
  const before = raftView(node);
  // What the Raft shell does with a frame (control-shell.ts): decode, and step only what decodes.
  const r = decodeRaftMessage(buf);
  if (r.ok) node.step({ ...r.msg, to: 'b' });
  drainRaft(node);
  if (!r.ok) {
    wellFormedError(r.error, raftCodes, 'raft message');
    ensure(isDeepStrictEqual(raftView(node), before), 'a refused message changed the node');
    return;
  }
  const m = r.msg;
  ensure(m.entries.length <= defaultRaftDecodeLimits.entriesPerMessageMax, 'entries over the limit');
  bounded(m, buf.length, 'raft message');
  const again = decodeRaftMessage(encodeRaftMessage(m));
  ensure(again.ok && isDeepStrictEqual(again.msg, m), 'raft message: re-encoding changed it');
  // To a follower and to a leader: a stranger moves neither (only time may: the follower campaigns, the leader steps down).
  stepRaft(() => new RaftNode(raftConfig, raftWorld.follower, new SeededRng(3)), 'b', m);
  stepRaft(raftLeader, 'a', m);
});

function checkBare<T>(what: string, r: RaftDecodeResult<T>, buf: Uint8Array, encode: (v: T) => Uint8Array, decode: (b: Uint8Array) => RaftDecodeResult<T>): void {
  if (!r.ok) return wellFormedError(r.error, raftCodes, what);
  bounded(r.value, buf.length, what);
  const again = decode(encode(r.value));
  ensure(again.ok && isDeepStrictEqual(again.value, r.value), `${what}: re-encoding changed it`);
}

const validBare = fc.oneof(entryArb.map(encodeEntry), hardStateArb.map(encodeHardState), confStateArb.map(encodeConfState), confChangeArb.map(encodeConfChange));

const raftBare = target('raft-bare-records', hostileBytes(validBare), (buf: Uint8Array) => {
  checkBare('entry', decodeEntry(buf), buf, encodeEntry, decodeEntry);
  checkBare('hard state', decodeHardState(buf), buf, encodeHardState, decodeHardState);
  checkBare('conf state', decodeConfState(buf), buf, encodeConfState, decodeConfState);
  checkBare('conf change', decodeConfChange(buf), buf, encodeConfChange, decodeConfChange);
});

// ---- storage: WAL records and segments, snapshot files

const walIndex = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(wireUintMax, 2 ** 40));
const walEntry: fc.Arbitrary<Entry> = fc.record({ index: walIndex, term: walIndex, type: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>, data: fc.uint8Array({ maxLength: 24 }) });
const walHardState: fc.Arbitrary<HardState> = fc.record({ term: walIndex, vote: wireString, commit: walIndex });
const walRecord = fc.oneof(
  { weight: 4, arbitrary: walEntry.map(encodeWalEntry) },
  { weight: 2, arbitrary: walHardState.map(encodeWalHardState) },
  { weight: 1, arbitrary: fc.record({ index: walIndex, term: walIndex }).map(encodeSnapshotMarker) },
);
const segmentSeq = 3;
const segmentFirst = 1;
const validSegment = fc.array(walRecord, { maxLength: 8 }).map((recs) => concat(encodeSegmentHeader({ seq: segmentSeq, firstIndex: segmentFirst }), ...recs));
const walPayloadMaxBytes = 4096;

const walSegment = target('wal-segment', hostileBytes(validSegment), (buf: Uint8Array) => {
  // Framing: every offset decodes or fails without throwing.
  for (const at of [0, 1, 9, buf.length >> 1, Math.max(0, buf.length - 9)]) {
    const r = only(() => decodeRecordAt(buf, at, walPayloadMaxBytes), () => false, 'decodeRecordAt');
    if (r?.ok) ensure(r.endOffset <= buf.length && r.payload.length <= walPayloadMaxBytes, 'record past the buffer');
  }
  // Recovery of one last segment, as wal-recovery.ts does it: ERR_CORRUPT_RECORD or records.
  const seg = only(() => parseSegment('0000000000000003-0000000000000001.wal', buf, { seq: segmentSeq, firstIndex: segmentFirst }, true, walPayloadMaxBytes), isShoal(ErrorCode.CorruptRecord), 'parseSegment');
  if (seg === undefined) return;
  if (seg.torn !== undefined) ensure(seg.torn.offset <= buf.length, 'torn offset past the end');
  const log = new ReplayLog();
  const payloadError = isShoal(ErrorCode.DecodeFailed);
  for (const rec of seg.records) {
    ensure(rec.payload.length <= buf.length, 'payload larger than the segment');
    switch (rec.type) {
      case RecordType.SegmentHeader:
        only(() => decodeSegmentHeader(rec.payload), payloadError, 'decodeSegmentHeader');
        break;
      case RecordType.HardState: {
        const h = only(() => decodeWalHardState(rec.payload), payloadError, 'decodeHardState');
        if (h !== undefined) ensure(h.term <= wireUintMax && h.commit <= wireUintMax, 'hard state beyond the bound');
        break;
      }
      case RecordType.SnapshotMarker: {
        const m = only(() => decodeSnapshotMarker(rec.payload), payloadError, 'decodeSnapshotMarker');
        if (m !== undefined) log.applyMarker(m);
        break;
      }
      case RecordType.Entry: {
        const e = only(() => decodeWalEntry(rec.payload), payloadError, 'decodeEntry');
        if (e === undefined) break;
        ensure(e.index <= wireUintMax && e.term <= wireUintMax && e.data.length < rec.payload.length, 'entry beyond the bound or its record');
        log.append(e);
        break;
      }
      default:
        throw new Violation(`parseSegment returned record type ${rec.type}`);
    }
  }
  ensure(log.toEntries().length <= seg.records.length, 'replay made entries out of nothing');
});

const validSnapshotFile = fc
  .record({
    index: walIndex,
    term: walIndex,
    voters: fc.array(wireString, { maxLength: 4 }),
    learners: fc.array(wireString, { maxLength: 2 }),
    data: fc.uint8Array({ maxLength: 64 }),
  })
  .map((s) => encodeSnapshotFile({ meta: { index: s.index, term: s.term, conf: { voters: s.voters, learners: s.learners } }, data: s.data }));

const snapshotFile = target('snapshot-file', hostileBytes(validSnapshotFile), (buf: Uint8Array) => {
  const snap = only(() => decodeSnapshotFile('snap-x.snap', buf), isShoal(ErrorCode.CorruptSnapshot), 'decodeSnapshotFile');
  if (snap === undefined) return;
  ensure(snap.meta.index <= wireUintMax && snap.meta.term <= wireUintMax, 'snapshot index or term beyond the bound');
  bounded(snap, buf.length, 'snapshot file');
  const again = decodeSnapshotFile('snap-x.snap', encodeSnapshotFile(snap));
  ensure(isDeepStrictEqual(again, snap), 'snapshot file: re-encoding changed it');
});

// ---- the config store's snapshot (the state machine's half of InstallSnapshot)

const validStoreSnapshot = steps(25).map((all) => {
  const h = new Harness();
  for (const st of all) h.step(st.body, st.retry);
  return h.store.snapshot();
});

const storeSnapshot = target('control-store-snapshot', hostileBytes(validStoreSnapshot, new TextEncoder().encode('SHCS')), (buf: Uint8Array) => {
  const r = only(() => decodeSnapshot(buf), () => false, 'decodeSnapshot');
  ensure(r !== undefined, 'decodeSnapshot returned nothing');
  if (!r.ok) {
    ensure(r.error instanceof ShoalError && r.error.code === ErrorCode.CorruptSnapshot, `decodeSnapshot error ${r.error.code}`);
    return;
  }
  bounded(r.state, buf.length, 'store snapshot');
  const store = only(() => ConfigStore.restore(buf), isShoal(ErrorCode.CorruptSnapshot), 'ConfigStore.restore');
  ensure(store !== undefined, 'a snapshot that decodes does not restore');
  ensure(isDeepStrictEqual(store.snapshot(), buf) || decodeSnapshot(store.snapshot()).ok, 'a restored store does not snapshot again');
});

// ---- cluster transport: handshake and frame header

const handshakeArb: fc.Arbitrary<Handshake> = fc.record({
  version: fc.oneof(fc.constant(protocolVersion), fc.nat(5)),
  identity: fc.record({ clusterLabel: wireString, clusterId: wireString, name: wireString.filter((s) => s.length > 0), nodeId: fc.stringMatching(/^[0-9a-f]{16}$/), addr: wireString }),
  refuseReason: fc.constantFrom('' as const, ...Object.values(RefuseReason)),
  refuseMessage: fc.string({ maxLength: 40 }),
  nonce: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 16, maxLength: 16 })),
});

const utf8 = new TextEncoder();

const handshake = target('cluster-handshake', hostileBytes(handshakeArb.map(encodeHandshake), Uint8Array.of(0x53, 0x48, 0x4c, 0x01)), (buf: Uint8Array) => {
  const r = only(() => decodeHandshake(buf), () => false, 'decodeHandshake');
  ensure(r !== undefined, 'decodeHandshake returned nothing');
  if (!r.ok) return wellFormedError(r.error, [ErrorCode.DecodeFailed], 'handshake');
  ensure(buf.length <= handshakeBytesMax, 'a handshake over its size bound decoded');
  const id = r.handshake.identity;
  for (const s of [id.clusterLabel, id.clusterId, id.name, id.nodeId, id.addr, r.handshake.refuseReason]) {
    ensure(utf8.encode(s).length <= identityFieldBytesMax, 'an identity field over its bound');
  }
  ensure(utf8.encode(r.handshake.refuseMessage).length <= refuseMessageBytesMax, 'refuse message over its bound');
  ensure(r.handshake.nonce.length <= nonceBytesMax, 'nonce over its bound');
  ensure(id.name !== '' && id.nodeId !== '', 'a handshake without name or node id decoded');
  const again = decodeHandshake(encodeHandshake(r.handshake));
  ensure(again.ok && isDeepStrictEqual(again.handshake, r.handshake), 'handshake: re-encoding changed it');
});

const frameTypes = new Set<number>(Object.values(FrameType));
const streamKinds = new Set<number>(Object.values(StreamKind));
const validHead = fc
  .tuple(fc.constantFrom(...frameTypes), fc.constantFrom(...streamKinds), fc.oneof(fc.nat(), fc.constant(0xffffffff)), fc.uint8Array({ maxLength: 16 }))
  .map(([type, kind, id, payload]) => concat(encodeFrameHead(type as FrameType, kind as StreamKind, id, payload.length).subarray(4), payload));

const frameHeader = target('cluster-frame-header', hostileBytes(validHead, new Uint8Array(0), 12), (buf: Uint8Array) => {
  const h = only(() => decodeFrameHead(buf), () => false, 'decodeFrameHead');
  if (h === undefined) {
    ensure(buf.length < frameHeaderBytes || !frameTypes.has(buf[0]), 'a valid header was refused');
    return;
  }
  // An unknown stream kind decodes (a newer peer's kind is routed nowhere and counted); an unknown frame type does not.
  ensure(frameTypes.has(h.type) && Number.isInteger(h.kind) && h.kind >= 0 && h.kind <= 255, 'unknown frame type accepted');
  ensure(Number.isInteger(h.requestId) && h.requestId >= 0 && h.requestId <= 0xffffffff, `request id ${h.requestId}`);
  const again = encodeFrameHead(h.type, h.kind, h.requestId, 0).subarray(4);
  ensure(again.every((b, i) => b === buf[i]), 'frame header: re-encoding changed it');
});

// ---- HTTP request bodies and agent config documents (JSON text from outside)

/** JSON text: valid bodies, mutated as text (a stray quote, a dropped brace), and any JSON at all. */
function jsonText(valid: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const text = valid.map((v) => JSON.stringify(v));
  return fc.oneof(
    { weight: 3, arbitrary: text },
    {
      weight: 3,
      arbitrary: fc.tuple(text, fc.nat(), fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '1e400', '-0', 'null', '\\u0000', '', '9007199254740993')).map(([s, at, ins]) => {
        const i = s.length === 0 ? 0 : at % s.length;
        return s.slice(0, i) + ins + s.slice(i + (at % 3 === 0 ? 1 : 0));
      }),
    },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
  );
}

const value = fc.oneof(fc.string({ maxLength: 8 }), fc.constant('x'.repeat(70_000)));
const key = fc.oneof(fc.constantFrom('/a', '/p/b', 'no-slash', '/', '//x', '/a/', ''), fc.string({ maxLength: 12 }));
const uint = fc.oneof(fc.nat(10), fc.constantFrom(-1, 1.5, 2 ** 53, 1e400, Number.NaN), fc.string({ maxLength: 3 }));
const validBody = fc.oneof(
  fc.record({ value, lease: uint, prevRevision: uint }, { requiredKeys: ['value'] }),
  fc.record({
    compare: fc.array(fc.record({ key, target: fc.constantFrom('value', 'version', 'createRevision', 'modRevision', 'bogus'), op: fc.constantFrom('=', '!=', '<', '>', '=='), value: fc.oneof(value, uint) }), { maxLength: 3 }),
    success: fc.array(fc.oneof(fc.record({ put: fc.record({ key, value }) }), fc.record({ delete: fc.record({ key }) }), fc.record({ get: fc.record({ key }) })), { maxLength: 3 }),
    failure: fc.array(fc.record({ get: fc.record({ key }) }), { maxLength: 2 }),
  }),
  fc.record({ ttlMs: uint, ttl: uint, id: uint }, { requiredKeys: [] }),
  fc.record({ revision: uint }),
  fc.record({ name: fc.string({ maxLength: 6 }), target: fc.string({ maxLength: 6 }) }, { requiredKeys: [] }),
);

const isHttpError = (e: unknown): boolean => e instanceof HttpError && e.status >= 400 && e.status < 500;

const httpBodies = target('http-bodies', fc.tuple(jsonText(validBody), fc.string({ maxLength: 40 })), ([text, query]: [string, string]) => {
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    return; // the HTTP layer answers 400 to text that is not JSON (readJson)
  }
  only(() => parsePutBody(body, '/k'), isHttpError, 'parsePutBody');
  only(() => parseTxnBody(body), isHttpError, 'parseTxnBody');
  only(() => parseLeaseGrantBody(body), isHttpError, 'parseLeaseGrantBody');
  only(() => parseCompactBody(body), isHttpError, 'parseCompactBody');
  only(() => parseNames(body, ['name', 'target'] as const), isHttpError, 'parseNames');
  only(() => parseQuery(new URLSearchParams(query), { revision: 'uint', prefix: 'bool', from: 'string' }), isHttpError, 'parseQuery');
});

const addr = fc.oneof(fc.constantFrom('127.0.0.1:7946', '0.0.0.0:0', '[::1]:80', 'host:1', ':80', '10.0.0.1:99999', ''), fc.string({ maxLength: 12 }));
const validConfig: fc.Arbitrary<AgentConfig> = fc.record(
  {
    name: fc.oneof(fc.constantFrom('n1', 'node-1'), fc.string({ maxLength: 10 })),
    bind: addr,
    advertise: addr,
    clusterLabel: fc.oneof(fc.constantFrom('prod', ''), fc.string({ maxLength: 6 })),
    join: fc.array(addr, { maxLength: 3 }),
    joinTimeoutMs: uint,
    dataDir: fc.constantFrom('/tmp/shoal', ''),
    tags: fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 4 }), fc.nat())),
    preset: fc.constantFrom('lan', 'wan', 'local', 'mars'),
    http: addr,
    gossip: fc.record({ probeIntervalMs: uint, suspicionMult: uint, metaMaxBytes: uint, bogus: uint }, { requiredKeys: [] }),
    leaveTimeoutMs: uint,
    rngSeed: uint,
    control: fc.oneof(fc.constant({}), fc.record({ bootstrapExpect: uint, eligible: fc.boolean() }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })),
    apiToken: fc.oneof(fc.constant('x'.repeat(32)), fc.string({ maxLength: 40 })),
    apiTlsCert: fc.constantFrom('/etc/cert.pem', ''),
    apiTlsKey: fc.constantFrom('/etc/key.pem', ''),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<AgentConfig>;

const agentConfig = target('agent-config', jsonText(validConfig), (text: string) => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return;
  }
  const invalidConfig = isShoal(ErrorCode.InvalidConfig);
  only(() => validateAgentConfig(doc as AgentConfig), invalidConfig, 'validateAgentConfig');
  const overrides = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
  only(() => validateGossipConfig({ ...presets.lan('n1', '10.0.0.1:7946'), ...(overrides.gossip as object) }), invalidConfig, 'validateGossipConfig');
  only(() => validateRaftConfig({ ...(overrides as object), id: 'n1' }), invalidConfig, 'validateRaftConfig');
});

/** Every target, in the order the soak prints them. */
export const fuzzTargets: readonly FuzzTarget[] = [
  gossipPacket,
  gossipSealed,
  gossipFrame,
  raftMessage,
  raftBare,
  walSegment,
  snapshotFile,
  storeSnapshot,
  handshake,
  frameHeader,
  httpBodies,
  agentConfig,
];

