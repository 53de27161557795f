/**
 * Wire codec benchmark: the hand-written codecs of src/wire against protobufjs
 * reflection and pbjs static code of the same .proto files, so the choice is
 * measured. Prints one JSON object per line.
 *
 *   npx tsx bench/wire-codec.ts [--ms 300]   (CPU ms per round; best of 3 rounds)
 *
 * Codecs:
 *  - hand:        src/wire (GossipMessage in, GossipMessage out);
 *  - static:      pbjs -t static-module of the same .proto, generated at start;
 *  - reflection:  protobufjs Type.encode/decode of the .proto loaded at run time.
 * static and reflection encode a prebuilt protobufjs-shaped object and decode
 * to protobufjs messages (uint64 as Long): conversion to and from shoal's
 * types is NOT counted, which favours them; "-convert" rows include it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import { MessageType, type GossipMessage } from '../src/gossip/messages.js';
import { EntryType, MessageType as RaftMessageType, type Message } from '../src/raft/types.js';
import { decodeFrame, decodePacket, encodeFrame, encodePacket } from '../src/wire/gossip-codec.js';
import { Keyring, decrypt, encrypt, encryptionOverheadBytes } from '../src/wire/crypto.js';
import { decodeRaftMessage, encodeRaftMessage } from '../src/wire/raft-codec.js';
import { bigPushPull } from '../test/unit/wire/gossip-arbitraries.js';
import { fromProtoObject, gossipRoot, toProtoObject } from '../test/unit/wire/gossip-reflection.js';
import { raftRoot } from '../test/unit/wire/raft-arbitraries.js';

const msArg = process.argv.indexOf('--ms');
const runMs = msArg > 0 ? Number(process.argv[msArg + 1]) : 300;

interface Codec {
  encode(): Uint8Array;
  decode(buf: Uint8Array): unknown;
}

/** CPU microseconds this process has used (the machine is shared: wall time would count others' work). */
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Operations per CPU-second of `fn`: a warm-up, then `rounds` rounds of about
 * runMs CPU time each; the best round counts (least disturbed by GC and neighbours).
 */
function opsPerSec(fn: () => unknown, rounds = 3): number {
  const batch = (n: number) => {
    for (let i = 0; i < n; i++) fn();
  };
  let n = 1;
  const warmStart = cpuMicros();
  while (cpuMicros() - warmStart < (runMs * 1000) / 2) {
    batch(n);
    if (n < 1 << 16) n *= 2;
  }
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const start = cpuMicros();
    let used = 0;
    while (used < runMs * 1000) {
      batch(n);
      ops += n;
      used = cpuMicros() - start;
    }
    best = Math.max(best, (ops * 1e6) / used);
  }
  return Math.round(best);
}

function report(codec: string, msg: string, c: Codec): void {
  const bytes = c.encode();
  const encodesPerSec = opsPerSec(() => c.encode());
  const decodesPerSec = opsPerSec(() => c.decode(bytes));
  console.log(JSON.stringify({ bench: 'wire-codec', codec, msg, encodesPerSec, decodesPerSec, bytes: bytes.length }));
}

// ---- static code: generate with pbjs into a temp dir, importing protobufjs from this project

const require = createRequire(import.meta.url);
const pbjs = join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules', '.bin', 'pbjs');
const tmp = mkdtempSync(join(tmpdir(), 'shoal-bench-'));

async function loadStatic(proto: string): Promise<protobuf.Root> {
  const out = join(tmp, `${proto}.js`);
  const src = fileURLToPath(new URL(`../src/wire/${proto}.proto`, import.meta.url));
  execFileSync(pbjs, ['-t', 'static-module', '-w', 'es6', '-r', `shoal_bench_${proto}`, '--no-create', '--no-verify', '--no-convert', '--no-delimited', '--no-comments', '-o', out, src]);
  const minimal = pathToFileURL(require.resolve('protobufjs/minimal.js')).href;
  writeFileSync(out, readFileSync(out, 'utf8').replace('"protobufjs/minimal.js"', JSON.stringify(minimal)));
  const mod = (await import(pathToFileURL(out).href)) as { shoal: Record<string, Record<string, unknown>> };
  return mod.shoal as unknown as protobuf.Root;
}

type PbType = { encode(m: unknown): { finish(): Uint8Array }; decode(b: Uint8Array): unknown };

// ---- workloads

const ping: GossipMessage = { type: MessageType.Ping, seqNo: 123_456, target: 'node-00042.dc1', sourceName: 'node-00007.dc1', sourceAddr: '10.0.0.7:7946' };
const alive: GossipMessage = {
  type: MessageType.Alive,
  incarnation: 17,
  name: 'node-00042.dc1',
  addr: '10.0.0.42:7946',
  tags: { role: 'data', zone: 'zone-1', http: '8500', raft: '8300' },
};
const compound: GossipMessage[] = [
  ping,
  alive,
  { type: MessageType.Suspect, incarnation: 3, name: 'node-00013.dc1', from: 'node-00007.dc1' },
  { type: MessageType.Ack, seqNo: 99 },
  alive,
  { type: MessageType.Dead, incarnation: 4, name: 'node-00099.dc1', from: 'node-00007.dc1' },
  alive,
  { type: MessageType.Leave, incarnation: 9, name: 'node-00100.dc1' },
  { type: MessageType.UserEvent, ltime: 5, name: 'deploy', payload: new Uint8Array(32), coalesce: true },
  alive,
];
const pushPull = bigPushPull(1000);
const raftApp: Message = {
  type: RaftMessageType.App,
  from: 'node-00001',
  to: 'node-00002',
  term: 12,
  index: 100_000,
  logTerm: 12,
  entries: Array.from({ length: 64 }, (_, i) => ({ term: 12, index: 100_001 + i, type: EntryType.Normal, data: new Uint8Array(128).fill(i) })),
  commit: 99_990,
  reject: false,
  rejectHint: 0,
  context: new Uint8Array(0),
};

async function main(): Promise<void> {
  // The reflection roots the conformance tests load (one parse of each .proto).
  const reflGossip = gossipRoot;
  const reflRaft = raftRoot;
  const staticGossip = (await loadStatic('gossip')) as unknown as { gossip: Record<string, PbType> };
  const staticRaft = (await loadStatic('raft')) as unknown as { raft: Record<string, PbType> };

  const gossipPb = (impl: 'static' | 'reflection', name: string): PbType =>
    impl === 'static' ? staticGossip.gossip[name] : (reflGossip.lookupType(`shoal.gossip.${name}`) as unknown as PbType);
  const raftPb = (impl: 'static' | 'reflection'): PbType =>
    impl === 'static' ? staticRaft.raft.Message : (reflRaft.lookupType('shoal.raft.Message') as unknown as PbType);
  const GossipRefl = reflGossip.lookupType('shoal.gossip.Gossip');
  const PacketRefl = reflGossip.lookupType('shoal.gossip.Packet');
  const toObj: protobuf.IConversionOptions = { longs: Number, defaults: true, arrays: true, objects: true };

  const packets: [string, GossipMessage[]][] = [
    ['ping', [ping]],
    ['alive', [alive]],
    ['compound-10', compound],
  ];
  for (const [name, msgs] of packets) {
    report('hand', name, { encode: () => encodePacket(msgs), decode: (b) => decodePacket(b) });
    for (const impl of ['static', 'reflection'] as const) {
      const Packet = gossipPb(impl, 'Packet');
      const obj = { msgs: msgs.map(toProtoObject) };
      report(impl, name, { encode: () => Packet.encode(obj).finish(), decode: (b) => Packet.decode(b) });
    }
    report('reflection-convert', name, {
      encode: () => PacketRefl.encode({ msgs: msgs.map(toProtoObject) }).finish(),
      decode: (b) => (PacketRefl.toObject(PacketRefl.decode(b), toObj).msgs as Record<string, unknown>[]).map(fromProtoObject),
    });
  }

  report('hand', 'push-pull-1000', { encode: () => encodeFrame(pushPull), decode: (b) => decodeFrame(b) });
  for (const impl of ['static', 'reflection'] as const) {
    const Gossip = gossipPb(impl, 'Gossip');
    const obj = toProtoObject(pushPull);
    report(impl, 'push-pull-1000', { encode: () => Gossip.encode(obj).finish(), decode: (b) => Gossip.decode(b) });
  }
  report('reflection-convert', 'push-pull-1000', {
    encode: () => GossipRefl.encode(toProtoObject(pushPull)).finish(),
    decode: (b) => fromProtoObject(GossipRefl.toObject(GossipRefl.decode(b), toObj)),
  });

  report('hand', 'raft-app-64x128', { encode: () => encodeRaftMessage(raftApp), decode: (b) => decodeRaftMessage(b) });
  for (const impl of ['static', 'reflection'] as const) {
    const M = raftPb(impl);
    report(impl, 'raft-app-64x128', { encode: () => M.encode(raftApp).finish(), decode: (b) => M.decode(b) });
  }

  // Encryption of a full packet; the second row decrypts with the ring's second key (during a rotation).
  const plain = new Uint8Array(1400 - encryptionOverheadBytes).fill(7);
  const k1 = new Uint8Array(32).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  const sender = new Keyring(k1);
  const packet = encrypt(sender, 'prod', plain);
  for (const [keyIndex, ring] of [
    [0, new Keyring(k1)],
    [1, new Keyring(k2, [k1])],
  ] as const) {
    const encryptsPerSec = opsPerSec(() => encrypt(sender, 'prod', plain));
    const decryptsPerSec = opsPerSec(() => decrypt(ring, 'prod', packet));
    console.log(JSON.stringify({ bench: 'wire-crypto', cipher: 'aes-256-gcm', keyIndex, bytes: packet.length, encryptsPerSec, decryptsPerSec }));
  }
}

try {
  await main();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
