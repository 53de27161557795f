import test from 'ava';
import { DropReason } from '../../../src/gossip/events.js';
import { MemberState, MessageType, type GossipMessage, type PushNodeState } from '../../../src/gossip/messages.js';
import { encodePacket } from '../../../src/wire/gossip-codec.js';
import { ErrorCode, isShoalError } from '../../../src/util/errors.js';
import { addrOf, Net } from './harness.js';

function cluster(n: number, overrides = {}): Net {
  const net = new Net();
  for (let i = 1; i <= n; i++) net.add(`n${i}`, overrides);
  for (let i = 2; i <= n; i++) net.core(`n${i}`).join([addrOf('n1')], net.nowMs);
  net.runFor(3000);
  return net;
}

test('graceful leave gives left, never dead, and stays left after the node is gone', (t) => {
  const net = cluster(3);
  const c = net.core('n3');
  c.leave(net.nowMs);
  t.false(c.leaveComplete());
  t.is(c.localMember().state, MemberState.Left);
  net.runFor(2000);
  t.true(c.leaveComplete());
  net.remove('n3');
  net.runFor(60_000);
  for (const n of ['n1', 'n2']) {
    t.is(net.stateOf(n, 'n3'), MemberState.Left, n);
    t.is(net.eventsOf(n, 'member-leave').length, 1);
    t.is(net.eventsOf(n, 'member-failed').length, 0);
    t.is(net.core(n).numAlive(), 2);
  }
});

test('a leaving node refutes nothing and stops probing', (t) => {
  const net = cluster(2);
  const b = net.core('n2');
  b.leave(net.nowMs);
  const incarnation = b.localMember().incarnation;
  b.step(addrOf('n1'), { type: MessageType.Suspect, incarnation, name: 'n2', from: 'n1' }, 'packet', net.nowMs);
  b.step(addrOf('n1'), { type: MessageType.Alive, incarnation: incarnation + 3, name: 'n2', addr: addrOf('n2'), tags: {} }, 'packet', net.nowMs);
  t.is(b.stats.refutes, 0);
  t.is(b.localMember().incarnation, incarnation);
  t.is(b.localMember().state, MemberState.Left);
  const probes = b.stats.probes;
  net.runFor(10_000);
  t.is(b.stats.probes, probes);
  t.throws(() => b.setTags({ a: 'b' }, net.nowMs), { code: ErrorCode.NotRunning });
});

test('dead and left members are reaped after reapDeadAfterMs', (t) => {
  const net = cluster(3, { reapDeadAfterMs: 40_000, reconnectTimeoutMs: 20_000, gossipToTheDeadMs: 10_000 });
  net.core('n3').leave(net.nowMs);
  net.runFor(1000);
  net.remove('n3');
  net.runFor(39_000);
  t.is(net.stateOf('n1', 'n3'), MemberState.Left);
  net.runFor(2000);
  t.is(net.core('n1').member('n3'), undefined);
  t.like(net.eventsOf('n1', 'member-reaped')[0], { member: { name: 'n3', state: MemberState.Left } });
  t.is(net.core('n1').members().length, 2);
});

test('push-pull merge: remote Dead is only a suspicion, remote Left is a leave', (t) => {
  const net = cluster(3);
  const a = net.core('n1');
  const states: PushNodeState[] = [
    { name: 'n2', addr: addrOf('n2'), incarnation: 0, state: MemberState.Dead, tags: {} },
    { name: 'n3', addr: addrOf('n3'), incarnation: 0, state: MemberState.Left, tags: {} },
    { name: 'n7', addr: addrOf('n7'), incarnation: 4, state: MemberState.Alive, tags: { role: 'db' } },
  ];
  net.filter = () => false; // look at n1 alone
  a.step(addrOf('n9'), { type: MessageType.PushPull, join: false, reply: true, sourceName: 'n9', sourceAddr: addrOf('n9'), states, eventLtime: 0 }, 'stream', net.nowMs);
  t.is(a.member('n2')?.state, MemberState.Suspect);
  t.is(a.member('n3')?.state, MemberState.Left);
  t.like(a.member('n7'), { state: MemberState.Alive, incarnation: 4, tags: { role: 'db' } });
});

test('a push-pull that arrives over UDP is dropped and counted', (t) => {
  const net = cluster(2);
  const a = net.core('n1');
  a.step(addrOf('n2'), { type: MessageType.PushPull, join: true, reply: false, sourceName: 'n2', sourceAddr: addrOf('n2'), states: [], eventLtime: 0 }, 'packet', net.nowMs);
  t.is(a.stats.drops[DropReason.ViaMismatch], 1);
});

test('periodic push-pull repairs a table that gossip missed', (t) => {
  const net = cluster(2, { gossipNodes: 0, pushPullIntervalMs: 5000 });
  const a = net.core('n1');
  // n1 learns of n5 through a single message; no packet ever tells n2 about it.
  net.filter = (d) => !(d.via === 'packet' && d.msg.type === MessageType.Alive && d.msg.name === 'n5');
  a.step(addrOf('n9'), { type: MessageType.Alive, incarnation: 1, name: 'n5', addr: addrOf('n5'), tags: {} }, 'packet', net.nowMs);
  t.is(net.core('n2').member('n5'), undefined);
  net.runFor(12_000);
  t.truthy(net.core('n2').member('n5'));
  t.true(a.stats.pushPullsStarted + net.core('n2').stats.pushPullsStarted >= 2);
});

test('name conflict: an Alive for a live name from another address is rejected', (t) => {
  const net = cluster(2);
  const a = net.core('n1');
  a.step(addrOf('n9'), { type: MessageType.Alive, incarnation: 9, name: 'n2', addr: '10.9.9.9:7946', tags: {} }, 'packet', net.nowMs);
  t.is(a.member('n2')?.addr, addrOf('n2'));
  t.is(a.stats.nameConflicts, 1);
  net.flush();
  t.like(net.eventsOf('n1', 'name-conflict')[0], { member: { name: 'n2', addr: '10.9.9.9:7946' } });
});

test('name conflict: a dead name may be reclaimed by a new address after deadNodeReclaimMs', (t) => {
  const net = cluster(2, { deadNodeReclaimMs: 20_000 });
  const a = net.core('n1');
  net.remove('n2');
  net.runFor(10_000);
  t.is(a.member('n2')?.state, MemberState.Dead);
  const alive = { type: MessageType.Alive, incarnation: 0, name: 'n2', addr: '10.9.9.9:7946', tags: {} } as const;
  a.step(addrOf('n9'), alive, 'packet', net.nowMs);
  t.is(a.member('n2')?.addr, addrOf('n2'), 'too early to reclaim');
  net.runFor(25_000);
  a.step(addrOf('n9'), alive, 'packet', net.nowMs);
  t.like(a.member('n2'), { addr: '10.9.9.9:7946', state: MemberState.Alive });
  net.flush();
  t.is(net.eventsOf('n1', 'member-join').filter((e) => 'member' in e && e.member.name === 'n2').length, 2);
});

test('name conflict: a left name may be taken by a new address at once (memberlist)', (t) => {
  const net = cluster(2, { deadNodeReclaimMs: 20_000 });
  const a = net.core('n1');
  net.core('n2').leave(net.nowMs);
  net.runFor(1000);
  net.remove('n2');
  t.is(a.member('n2')?.state, MemberState.Left);
  a.step(addrOf('n9'), { type: MessageType.Alive, incarnation: 0, name: 'n2', addr: '10.9.9.9:7946', tags: {} }, 'packet', net.nowMs);
  t.like(a.member('n2'), { addr: '10.9.9.9:7946', state: MemberState.Alive });
  t.is(a.stats.nameConflicts, 0);
});

test('name conflict: an Alive claiming our own name elsewhere is refuted', (t) => {
  const net = cluster(2);
  const a = net.core('n1');
  a.step(addrOf('n9'), { type: MessageType.Alive, incarnation: 3, name: 'n1', addr: '10.9.9.9:7946', tags: {} }, 'packet', net.nowMs);
  t.is(a.localMember().incarnation, 4);
  t.is(a.localMember().addr, addrOf('n1'));
  net.runFor(1000);
  t.like(net.core('n2').member('n1'), { addr: addrOf('n1'), incarnation: 4 });
  t.is(net.eventsOf('n1', 'name-conflict').length, 1);
});

test('tags: setTags bumps the incarnation and spreads; over metaMaxBytes is refused', (t) => {
  const net = cluster(3);
  const a = net.core('n1');
  a.setTags({ zone: 'eu-1', role: 'db' }, net.nowMs);
  t.is(a.localMember().incarnation, 1);
  net.runFor(2000);
  t.deepEqual(net.core('n3').member('n1')?.tags, { zone: 'eu-1', role: 'db' });
  t.true(net.eventsOf('n3', 'member-update').some((e) => 'member' in e && e.member.name === 'n1'));
  const e = t.throws(() => a.setTags({ big: 'x'.repeat(600) }, net.nowMs));
  t.true(isShoalError(e, ErrorCode.MetaTooLarge));
  t.is(a.localMember().incarnation, 1);
  // An incoming Alive with oversized tags is dropped and counted.
  const b = net.core('n2');
  b.step(addrOf('n9'), { type: MessageType.Alive, incarnation: 1, name: 'n8', addr: addrOf('n8'), tags: { big: 'x'.repeat(600) } }, 'packet', net.nowMs);
  t.is(b.member('n8'), undefined);
  t.is(b.stats.drops[DropReason.MetaTooLarge], 1);
});

test('bad and unknown messages are counted, never thrown', (t) => {
  const net = cluster(2);
  const a = net.core('n1');
  const junk: unknown[] = [
    null,
    42,
    { type: 99 },
    { type: MessageType.Ping, seqNo: -1, target: 'n1', sourceName: 'x', sourceAddr: 'y' },
    { type: MessageType.Alive, incarnation: 1, name: 'z', addr: 'a:1', tags: { k: 5 } },
    { type: MessageType.PushPull, join: false, reply: false, sourceName: 'x', sourceAddr: 'y:1', states: [{ name: 'q' }], eventLtime: 0 },
    { type: MessageType.UserEvent, ltime: 1, name: 'e', payload: 'not bytes', coalesce: false },
  ];
  for (const m of junk) t.notThrows(() => a.step('1.2.3.4:5', m as GossipMessage, 'packet', net.nowMs));
  t.is(a.stats.drops[DropReason.UnknownType], 1);
  t.is(a.stats.drops[DropReason.Malformed], 6);
  // Well-formed but meaningless: counted too.
  a.step('1.2.3.4:5', { type: MessageType.Ack, seqNo: 123456 }, 'packet', net.nowMs);
  a.step('1.2.3.4:5', { type: MessageType.Nack, seqNo: 123456 }, 'packet', net.nowMs);
  a.step('1.2.3.4:5', { type: MessageType.Ping, seqNo: 1, target: 'someone-else', sourceName: 'x', sourceAddr: 'y:1' }, 'packet', net.nowMs);
  a.step('1.2.3.4:5', { type: MessageType.Suspect, incarnation: 0, name: 'nobody', from: 'x' }, 'packet', net.nowMs);
  t.is(a.stats.drops[DropReason.UnknownSeq], 2);
  t.is(a.stats.drops[DropReason.WrongTarget], 1);
  t.is(a.stats.drops[DropReason.UnknownMember], 1);
  t.is(a.member('n2')?.state, MemberState.Alive);
});

test('user events reach every member exactly once, in Lamport order', (t) => {
  const net = cluster(4);
  const payload = new Uint8Array([1, 2, 3]);
  net.core('n2').sendUserEvent('deploy', payload, net.nowMs);
  net.core('n2').sendUserEvent('deploy', new Uint8Array([4]), net.nowMs);
  net.runFor(5000);
  for (const n of ['n1', 'n2', 'n3', 'n4']) {
    const evs = net.eventsOf(n, 'user-event');
    t.is(evs.length, 2, n);
    t.deepEqual(evs.map((e) => ('ltime' in e ? e.ltime : -1)).sort(), [0, 1]);
  }
  const c = net.core('n3');
  const dup = c.stats.userEventsDuplicate;
  c.step(addrOf('n9'), { type: MessageType.UserEvent, ltime: 0, name: 'deploy', payload, coalesce: false }, 'packet', net.nowMs);
  t.is(c.stats.userEventsDuplicate, dup + 1);
  net.flush();
  t.is(net.eventsOf('n3', 'user-event').length, 2);
  // The Lamport clock moved past what was seen: the next event gets a later ltime.
  c.sendUserEvent('x', new Uint8Array(), net.nowMs);
  net.flush();
  t.like(net.eventsOf('n3', 'user-event')[2], { name: 'x', ltime: 2 });
  t.throws(() => c.sendUserEvent('huge', new Uint8Array(2000), net.nowMs), { code: ErrorCode.PacketTooLarge });
});

test('every packet fits packetMaxBytes and the broadcast queue stays bounded', (t) => {
  const net = cluster(3, { broadcastQueueMax: 16 });
  const a = net.core('n1');
  for (let i = 0; i < 200; i++) {
    a.step(addrOf('n9'), { type: MessageType.Alive, incarnation: 1, name: `m${i}`, addr: `10.1.${i >> 8}.${i & 255}:1`, tags: { k: 'v'.repeat(50) } }, 'packet', net.nowMs);
  }
  t.true(a.stats.broadcastsDropped >= 200 - 16);
  net.remove('n2');
  net.runFor(5000);
  t.true(net.packets.length > 0);
  let full = 0;
  for (const p of net.packets) {
    const sizeBytes = encodePacket(p.msgs).length;
    t.true(sizeBytes <= 1400, `packet of ${sizeBytes} bytes`);
    if (sizeBytes > 1200) full++;
  }
  t.true(full > 0, 'piggybacking fills packets');
});
