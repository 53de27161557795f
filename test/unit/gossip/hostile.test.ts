/**
 * Hostile numbers and messages against the gossip core (issue "Security",
 * part 4): a member can always refute what is said about it, a forged number
 * cannot freeze its state, and replies go to the member's known address,
 * never to one the message names.
 */
import test from 'ava';
import { DropReason } from '../../../src/gossip/events.js';
import { incarnationNewer, nextIncarnation } from '../../../src/gossip/incarnation.js';
import { MemberState, MessageType, type GossipMessage } from '../../../src/gossip/messages.js';
import { encodeFrame, encodePacket } from '../../../src/wire/gossip-codec.js';
import { addrOf, Net } from './harness.js';

/** The wire bound (src/wire/uint.ts); written out so this file also runs against code without it. */
const wireUintMax = 2 ** 48 - 1;
const half = 2 ** 47;
const victim = '192.0.2.66:7946';

function cluster(n: number, overrides = {}): Net {
  const net = new Net();
  for (let i = 1; i <= n; i++) net.add(`n${i}`, overrides);
  for (let i = 2; i <= n; i++) net.core(`n${i}`).join([addrOf('n1')], net.nowMs);
  net.runFor(3000);
  return net;
}

/** Nothing a core emitted fails to encode (a shell drops a whole packet that does not). */
function allEncode(net: Net): boolean {
  try {
    for (const p of net.packets) encodePacket(p.msgs);
    for (const d of net.log) if (d.via === 'stream') encodeFrame(d.msg);
    return true;
  } catch {
    return false;
  }
}

// ---- the incarnation ring

test('incarnations form a ring: every value has a newer one, and "newer" is antisymmetric', (t) => {
  t.is(nextIncarnation(wireUintMax), 0);
  t.true(incarnationNewer(0, wireUintMax));
  t.true(incarnationNewer(5, 4));
  t.false(incarnationNewer(4, 4));
  for (const [a, b] of [
    [0, half],
    [3, 3 + half],
    [wireUintMax, wireUintMax - half],
    [1, 2],
    [0, half - 1],
    [0, half + 1],
    [12345, wireUintMax],
  ]) {
    t.not(incarnationNewer(a, b), incarnationNewer(b, a), `${a} vs ${b}`);
    t.true(incarnationNewer(nextIncarnation(a), a));
  }
});

// ---- a member can always refute an accusation about itself

/** The accusations a hostile peer would pick against a member known at incarnation `i`. */
const hardest = (i: number): number[] => [wireUintMax, (i + half - 1) % (wireUintMax + 1), (i + half) % (wireUintMax + 1), Number.MAX_SAFE_INTEGER];

for (const type of [MessageType.Suspect, MessageType.Dead, MessageType.Leave] as const) {
  test(`a forged ${type === MessageType.Suspect ? 'Suspect' : type === MessageType.Dead ? 'Dead' : 'Leave'} about a member, at the hardest incarnations, is refuted`, (t) => {
    for (const at of hardest(0)) {
      const net = cluster(3);
      const forged: GossipMessage =
        type === MessageType.Leave ? { type, incarnation: at, name: 'n1' } : { type, incarnation: at, name: 'n1', from: 'n3' };
      net.core('n2').step(addrOf('n3'), forged, 'packet', net.nowMs);
      net.runFor(30_000);
      for (const n of ['n2', 'n3']) t.is(net.stateOf(n, 'n1'), MemberState.Alive, `${n} sees n1 alive after an accusation at ${at}`);
      t.true(allEncode(net), `nothing unencodable after an accusation at ${at}`);
    }
  });
}

test('a forged Alive at the hardest incarnations cannot take over a member\'s tags for good', (t) => {
  for (const at of hardest(0)) {
    const net = cluster(3);
    net.core('n2').step(addrOf('n3'), { type: MessageType.Alive, incarnation: at, name: 'n1', addr: addrOf('n1'), tags: { role: 'forged' } }, 'packet', net.nowMs);
    net.runFor(30_000);
    for (const n of ['n2', 'n3']) t.deepEqual(net.core(n).member('n1')?.tags, {}, `${n}: n1's own tags after a forged Alive at ${at}`);
    t.true(allEncode(net));
  }
});

test('a forged Alive moving a live member to another address is refused as a name conflict', (t) => {
  const net = cluster(3);
  const b = net.core('n2');
  b.step(addrOf('n3'), { type: MessageType.Alive, incarnation: half - 1, name: 'n1', addr: victim, tags: {} }, 'packet', net.nowMs);
  t.is(b.member('n1')?.addr, addrOf('n1'));
  t.is(b.stats.drops[DropReason.NameConflict], 1);
  net.runFor(10_000);
  t.is(net.stateOf('n2', 'n1'), MemberState.Alive);
  t.false(net.log.some((d) => d.to === victim && d.from === addrOf('n2')), 'n2 sends nothing to the forged address');
});

test('a name taken over by a forged address while its member was away is won back once that address stops answering', (t) => {
  const net = cluster(3);
  net.core('n3').leave(net.nowMs);
  net.runFor(2000);
  net.remove('n3');
  for (const n of ['n1', 'n2']) {
    net.core(n).step(addrOf('n2'), { type: MessageType.Alive, incarnation: half - 1, name: 'n3', addr: victim, tags: {} }, 'packet', net.nowMs);
    t.is(net.core(n).member('n3')?.addr, victim, 'a left name is free at once (memberlist): the forgery takes it');
  }
  const back = net.add('n3');
  back.join([addrOf('n1')], net.nowMs);
  net.runFor(120_000);
  for (const n of ['n1', 'n2']) t.like(net.core(n).member('n3'), { addr: addrOf('n3'), state: MemberState.Alive }, n);
  t.true(allEncode(net));
});

// ---- replies go to the known address

function lastOut(core: ReturnType<Net['core']>): { packets: { to: string; msgs: GossipMessage[] }[]; frames: { to: string; msg: GossipMessage }[] } {
  return core.ready();
}

test('a ping naming another source address is acked at the sender\'s known address', (t) => {
  const net = cluster(2);
  const a = net.core('n1');
  a.ready();
  a.step(victim, { type: MessageType.Ping, seqNo: 77, target: 'n1', sourceName: 'n2', sourceAddr: victim }, 'packet', net.nowMs);
  const out = lastOut(a);
  const acks = out.packets.filter((p) => p.msgs.some((m) => m.type === MessageType.Ack));
  t.deepEqual(acks.map((p) => p.to), [addrOf('n2')]);
  // Over a stream, `from` is the address the peer's handshake proved: the TCP ack goes there.
  a.step(addrOf('n2'), { type: MessageType.Ping, seqNo: 78, target: 'n1', sourceName: 'n2', sourceAddr: victim }, 'stream', net.nowMs);
  t.deepEqual(lastOut(a).frames.map((f) => f.to), [addrOf('n2')]);
});

test('a ping from an unknown sender is acked where it came from, not where it says it is', (t) => {
  const net = cluster(2);
  const a = net.core('n1');
  a.ready();
  a.step('198.51.100.7:7946', { type: MessageType.Ping, seqNo: 5, target: 'n1', sourceName: 'stranger', sourceAddr: victim }, 'packet', net.nowMs);
  t.deepEqual(lastOut(a).packets.map((p) => p.to), ['198.51.100.7:7946']);
});

test('an indirect ping is relayed to the target\'s known address; an unknown target is nacked at once and not pinged', (t) => {
  const net = cluster(3);
  const b = net.core('n2');
  b.ready();
  b.step(addrOf('n1'), { type: MessageType.IndirectPing, seqNo: 9, target: 'n3', targetAddr: victim, nack: true, sourceName: 'n1', sourceAddr: victim }, 'packet', net.nowMs);
  t.deepEqual(lastOut(b).packets.map((p) => [p.to, p.msgs[0].type]), [[addrOf('n3'), MessageType.Ping]]);
  b.step(addrOf('n1'), { type: MessageType.IndirectPing, seqNo: 10, target: 'nobody', targetAddr: victim, nack: true, sourceName: 'n1', sourceAddr: victim }, 'packet', net.nowMs);
  t.deepEqual(lastOut(b).packets.map((p) => [p.to, p.msgs[0].type]), [[addrOf('n1'), MessageType.Nack]]);
  t.is(b.stats.drops[DropReason.UnknownMember], 1);
  // The relayed ack and the late nack go back to the requester's known address too.
  net.runFor(1000);
  t.false(net.log.some((d) => d.to === victim), 'nothing is ever sent to the named address');
});

test('a push-pull is answered where its stream came from (the address the handshake proved), never where it says', (t) => {
  const net = cluster(2);
  const a = net.core('n1');
  a.ready();
  const pp = (sourceName: string): GossipMessage => ({ type: MessageType.PushPull, join: false, reply: false, sourceName, sourceAddr: victim, states: [{ name: sourceName, addr: victim, incarnation: 0, state: MemberState.Alive, tags: {} }], eventLtime: 0 });
  a.step(addrOf('n2'), pp('n2'), 'stream', net.nowMs);
  t.deepEqual(lastOut(a).frames.map((f) => f.to), [addrOf('n2')]);
  a.step('198.51.100.8:7946', pp('newcomer'), 'stream', net.nowMs);
  t.deepEqual(lastOut(a).frames.map((f) => f.to), ['198.51.100.8:7946'], 'not the address its states name');
});

test('join still works: a joiner unknown to everyone is answered and then probed normally', (t) => {
  const net = cluster(3);
  const d = net.add('n4');
  d.join([addrOf('n2')], net.nowMs);
  net.runFor(10_000);
  for (const n of ['n1', 'n2', 'n3', 'n4']) t.is(net.core(n).numAlive(), 4, n);
  t.is(d.stats.suspicions, 0);
  t.is(d.stats.acksReceived, d.stats.probes);
});
