import test from 'ava';
import { MemberState, MessageType, type SuspectMsg } from '../../../src/gossip/messages.js';
import { addrOf, Net } from './harness.js';

/** n cores named n1..nN, all joined through n1, after the join settled. */
function cluster(n: number, overrides = {}): Net {
  const net = new Net();
  for (let i = 1; i <= n; i++) net.add(`n${i}`, overrides);
  for (let i = 2; i <= n; i++) net.core(`n${i}`).join([addrOf('n1')], net.nowMs);
  net.runFor(3000);
  return net;
}

test('join: push-pull with the seed merges both tables', (t) => {
  const net = new Net();
  const a = net.add('n1');
  const b = net.add('n2');
  const c = net.add('n3');
  b.join([addrOf('n1')], 0);
  net.flush();
  t.is(a.numAlive(), 2);
  t.is(b.numAlive(), 2);
  t.like(net.eventsOf('n2', 'push-pull-complete')[0], { peer: addrOf('n1'), join: true });
  t.like(net.eventsOf('n1', 'member-join')[0], { member: { name: 'n2', state: MemberState.Alive } });
  // n3 joins through n2 and learns n1 from n2's table, not from n1.
  c.join([addrOf('n2')], 0);
  net.flush();
  t.deepEqual(c.members().map((m) => m.name).sort(), ['n1', 'n2', 'n3']);
  net.runFor(2000); // gossip carries n3's Alive to n1
  t.is(a.member('n3')?.state, MemberState.Alive);
});

test('a ping gets an ack and keeps the member alive and this node healthy', (t) => {
  const net = cluster(2);
  net.runFor(10_000);
  const a = net.core('n1');
  t.true(a.stats.probes >= 8);
  t.is(a.stats.acksReceived, a.stats.probes);
  t.is(a.stats.suspicions, 0);
  t.is(a.localHealth(), 0);
  const pings = net.log.filter((d) => d.msg.type === MessageType.Ping && d.from === addrOf('n1'));
  const acks = net.log.filter((d) => d.msg.type === MessageType.Ack && d.to === addrOf('n1'));
  t.deepEqual(
    acks.map((d) => (d.msg as { seqNo: number }).seqNo),
    pings.map((d) => (d.msg as { seqNo: number }).seqNo),
  );
});

test('an unanswered direct ping is rescued by an indirect ping through a relay', (t) => {
  const net = cluster(3, { tcpFallbackPing: false });
  const direct = (x: string, y: string): boolean => x === addrOf('n1') && y === addrOf('n3');
  net.filter = (d) => d.via === 'stream' || !(direct(d.from, d.to) || direct(d.to, d.from));
  net.runFor(10_000);
  const a = net.core('n1');
  t.true(a.stats.indirectPingsSent > 0);
  t.true(net.core('n2').stats.indirectPingsRelayed > 0);
  t.is(a.stats.suspicions, 0, 'the relayed ack saved every probe');
  t.is(a.stats.tcpFallbackPings, 0);
  t.is(a.member('n3')?.state, MemberState.Alive);
});

test('when UDP is blocked and no relay exists, the TCP ping saves the probe', (t) => {
  const net = cluster(2);
  net.filter = (d) => d.via === 'stream';
  net.runFor(10_000);
  const a = net.core('n1');
  t.is(a.stats.indirectPingsSent, 0);
  t.true(a.stats.tcpFallbackAcks >= 5);
  t.is(a.stats.suspicions, 0);
  t.is(a.member('n2')?.state, MemberState.Alive);
});

test('a dead member: indirect pings, nacks, suspect, then dead after the suspicion timeout', (t) => {
  const net = cluster(3);
  net.remove('n3'); // crash: everything to n3 vanishes
  net.reportFailedFrames = true;
  net.runFor(60_000);
  const a = net.core('n1');
  const ind = net.log.find((d) => d.msg.type === MessageType.IndirectPing && d.from === addrOf('n1'));
  t.like(ind?.msg, { target: 'n3', nack: true });
  t.true(net.core('n2').stats.nacksSent > 0);
  t.true(a.stats.nacksReceived > 0);
  t.true(a.stats.tcpFallbackPings > 0);
  const suspect = net.eventsOf('n1', 'member-suspect').find((e) => 'member' in e && e.member.name === 'n3');
  const failed = net.eventsOf('n1', 'member-failed').find((e) => 'member' in e && e.member.name === 'n3');
  t.truthy(suspect);
  t.truthy(failed);
  // n = 3, suspicionMult 3: min = 3 s, max = 18 s, k = 1; the timeout lies between them.
  const tookMs = failed!.nowMs - suspect!.nowMs;
  t.true(tookMs >= 3000 && tookMs <= 18_000, `took ${tookMs}`);
  t.is(a.member('n3')?.state, MemberState.Dead);
  t.is(net.core('n2').member('n3')?.state, MemberState.Dead);
  t.is(a.numAlive(), 2);
  t.is(net.eventsOf('n1', 'member-leave').length, 0);
});

test('two nodes: no confirmations expected, dead exactly suspicionMult * probeInterval after suspect', (t) => {
  const net = cluster(2);
  net.remove('n2');
  net.runFor(30_000);
  const s = net.eventsOf('n1', 'member-suspect')[0];
  const f = net.eventsOf('n1', 'member-failed')[0];
  t.is(f.nowMs - s.nowMs, 3000);
});

test('confirmations from another member shorten the suspicion to the minimum', (t) => {
  const net = cluster(4); // n = 4, k = 1, min 3 s, max 18 s
  net.remove('n4');
  net.runFor(60_000);
  const s = net.eventsOf('n1', 'member-suspect')[0];
  const f = net.eventsOf('n1', 'member-failed')[0];
  t.true(net.core('n1').stats.suspicionConfirmations >= 1);
  t.true(f.nowMs - s.nowMs < 18_000, 'a confirmation shortened the max timeout');
});

/** The highest local health score n1 had right after its timers ran. */
function maxHealth(net: Net, ms: number): number {
  let max = 0;
  net.afterTick = () => (max = Math.max(max, net.core('n1').localHealth()));
  net.runFor(ms);
  return max;
}

test('missed nacks raise the local health score; nacks that arrive do not', (t) => {
  const withNacks = cluster(3);
  withNacks.remove('n3');
  t.is(maxHealth(withNacks, 20_000), 0, 'the relay vouched that the fault is not ours');
  t.true(withNacks.core('n1').stats.nacksReceived > 0);
  t.is(withNacks.core('n1').stats.missedNacks, 0);

  const noNacks = cluster(3);
  noNacks.remove('n3');
  noNacks.filter = (d) => d.msg.type !== MessageType.Nack;
  t.true(maxHealth(noNacks, 20_000) >= 1);
  t.true(noNacks.core('n1').stats.missedNacks > 0);
  noNacks.runFor(10_000); // n3 is dead by now; probes of n2 succeed
  t.is(noNacks.core('n1').localHealth(), 0);
});

test('an unhealthy node stretches its probe interval by (score + 1)', (t) => {
  const net = cluster(2, { suspicionMult: 20 }); // keep n2 suspect, not dead, while we measure
  net.remove('n2');
  net.runFor(12_000);
  const a = net.core('n1');
  t.true(a.localHealth() >= 2);
  const times = net.log
    .filter((d) => d.msg.type === MessageType.Ping && d.via === 'packet' && d.from === addrOf('n1'))
    .map((d) => d.atMs);
  const gaps = times.slice(1).map((x, i) => x - times[i]);
  // Each failed probe without relays adds 1: the gaps grow 1 s, 2 s, 3 s ...
  t.deepEqual(gaps.slice(-3), [gaps.at(-3)!, gaps.at(-3)! + 1000, gaps.at(-3)! + 2000]);
});

test('refutation: a suspected member answers with a higher incarnation', (t) => {
  const net = cluster(3);
  const b = net.core('n2');
  b.step(addrOf('n1'), { type: MessageType.Suspect, incarnation: 0, name: 'n2', from: 'n1' } as SuspectMsg, 'packet', net.nowMs);
  t.is(b.localMember().incarnation, 1);
  t.is(b.stats.refutes, 1);
  t.is(b.localHealth(), 1);
  // A Dead about itself at a higher incarnation is refuted above it.
  b.step(addrOf('n1'), { type: MessageType.Dead, incarnation: 5, name: 'n2', from: 'n1' }, 'packet', net.nowMs);
  t.is(b.localMember().incarnation, 6);
  net.runFor(2000);
  t.is(net.core('n1').member('n2')?.incarnation, 6);
  t.is(net.core('n3').member('n2')?.state, MemberState.Alive);
});

test('a suspect that can be reached again refutes before it is declared dead', (t) => {
  const net = cluster(3);
  const toB = (d: { to: string; from: string }) => d.to === addrOf('n2') || d.from === addrOf('n2');
  net.filter = (d) => !toB(d);
  let guard = 0;
  while (net.core('n1').member('n2')?.state !== MemberState.Suspect && guard++ < 100) net.runFor(200);
  t.is(net.core('n1').member('n2')?.state, MemberState.Suspect);
  net.filter = () => true;
  net.runFor(30_000);
  t.is(net.core('n1').member('n2')?.state, MemberState.Alive);
  t.true(net.core('n1').member('n2')!.incarnation >= 1);
  t.is(net.eventsOf('n1', 'member-failed').length, 0);
  t.true(net.eventsOf('n1', 'member-alive').some((e) => 'member' in e && e.member.name === 'n2'));
});

test('buddy system: a ping to a suspect carries the suspicion, and the ack carries the refutation', (t) => {
  const net = cluster(2, { gossipNodes: 0 }); // only pings and acks carry news
  const a = net.core('n1');
  a.step(addrOf('n9'), { type: MessageType.Suspect, incarnation: 0, name: 'n2', from: 'n9' }, 'packet', net.nowMs);
  t.is(a.member('n2')?.state, MemberState.Suspect);
  const start = net.packets.length;
  net.runFor(2000);
  const pings = net.packets.slice(start).filter((p) => p.from === addrOf('n1') && p.msgs.some((m) => m.type === MessageType.Ping));
  t.true(pings.length > 0);
  // The queued broadcast says from n9; the buddy copy is n1's own.
  t.true(pings[0].msgs.some((m) => m.type === MessageType.Suspect && m.name === 'n2' && m.from === 'n1'));
  const ack = net.packets.slice(start).find((p) => p.from === addrOf('n2') && p.msgs[0].type === MessageType.Ack);
  t.like(ack?.msgs.find((m) => m.type === MessageType.Alive), { name: 'n2', incarnation: 1 });
  t.is(a.member('n2')?.state, MemberState.Alive);
});

test('a member we hold dead that pings us is told so in the ack, and refutes', (t) => {
  const net = cluster(2, { gossipNodes: 0 });
  const a = net.core('n1');
  a.step(addrOf('n9'), { type: MessageType.Dead, incarnation: 0, name: 'n2', from: 'n9' }, 'packet', net.nowMs);
  t.is(a.member('n2')?.state, MemberState.Dead);
  net.runFor(3000);
  const ack = net.packets.find((p) => p.from === addrOf('n1') && p.msgs[0].type === MessageType.Ack && p.msgs.some((m) => m.type === MessageType.Dead));
  t.truthy(ack, 'the ack told n2 it is dead');
  t.true(net.core('n2').localMember().incarnation >= 1);
  t.is(a.member('n2')?.state, MemberState.Alive);
});

test('the probe order stays bounded under churn of reaped names, and keeps the members still there', (t) => {
  const net = new Net();
  // Probing far slower than reaping: every churned name is reaped before the first probe (no reshuffle yet).
  const core = net.add('n1', { probeIntervalMs: 60_000, reapDeadAfterMs: 1000, reconnectTimeoutMs: 1000, gossipToTheDeadMs: 1000 });
  const step = (msg: Parameters<typeof core.step>[1]): void => core.step(addrOf('n9'), msg, 'packet', net.nowMs);
  step({ type: MessageType.Alive, incarnation: 1, name: 'keep', addr: '10.9.9.9:1', tags: {} });
  const churned = 2000;
  for (let i = 0; i < churned; i++) {
    step({ type: MessageType.Alive, incarnation: 1, name: `x${i}`, addr: `10.8.${i >> 8}.${i & 255}:1`, tags: {} });
    step({ type: MessageType.Leave, incarnation: 1, name: `x${i}` });
    if (i % 100 === 99) {
      net.nowMs += 1500;
      core.tick(net.nowMs);
      core.ready();
    }
  }
  t.true(net.nowMs < 60_000, 'no probe ran yet');
  t.is(core.stats.reaped, churned);
  const prober = (core as unknown as { prober: { order: string[]; reapedSinceShuffle: Set<string> } }).prober;
  t.true(prober.order.length <= 64 + core.members().length, `probe order holds ${prober.order.length} names`);
  t.true(prober.reapedSinceShuffle.size <= 64 + core.members().length);
  t.true(prober.order.includes('keep'));
  net.nowMs = 60_000;
  core.tick(net.nowMs);
  const pings = core.ready().packets.filter((p) => p.msgs.some((m) => m.type === MessageType.Ping));
  t.deepEqual(pings.map((p) => p.to), ['10.9.9.9:1'], 'the member that stayed is probed');
});
