import test from 'ava';
import { DropReason } from '../../../src/gossip/events.js';
import { MemberState, MessageType } from '../../../src/gossip/messages.js';
import { PUSH_STATES_MAX } from '../../../src/gossip/pushpull.js';
import { MEMBERS_MAX } from '../../../src/gossip/state.js';
import { encodeFrame, encodePacket } from '../../../src/wire/gossip-codec.js';
import { wireUintMax } from '../../../src/wire/uint.js';
import { addrOf, Net } from './harness.js';

const MAX = wireUintMax;

function pair(): Net {
  const net = new Net();
  net.add('n1');
  net.add('n2');
  net.core('n2').join([addrOf('n1')], net.nowMs);
  net.runFor(3000);
  return net;
}

/**
 * Drive `name`'s own incarnation to `target` with accusations it refutes, in
 * steps of less than half the ring (incarnations are serial numbers: a value
 * more than half the ring ahead reads as older).
 */
function refuteUpTo(net: Net, name: string, target: number): void {
  const core = net.core(name);
  for (let guard = 0; core.localMember().incarnation !== target && guard < 4; guard++) {
    const at = core.localMember().incarnation;
    const step = Math.min(target - 1 - at, 2 ** 47 - 1);
    core.step(addrOf('n2'), { type: MessageType.Suspect, incarnation: at + step, name, from: 'n2' }, 'packet', net.nowMs);
    net.runFor(1000); // let each step spread: a jump of more than half the ring at once would read as older
  }
}

/** Every packet and frame the cores emitted encodes (the shell drops a whole packet that does not). */
function unencodable(net: Net, from: string): number {
  let bad = 0;
  for (const d of net.log.filter((x) => x.from === addrOf(from) && x.via === 'stream')) {
    try {
      encodeFrame(d.msg);
    } catch {
      bad++;
    }
  }
  for (const p of net.packets.filter((x) => x.from === addrOf(from))) {
    try {
      encodePacket(p.msgs);
    } catch {
      bad++;
    }
  }
  return bad;
}

test('an accusation at the largest incarnation is refuted: incarnations wrap, and nothing unencodable is sent', (t) => {
  const net = pair();
  const a = net.core('n1');
  refuteUpTo(net, 'n1', MAX - 1);
  t.is(a.localMember().incarnation, MAX - 1);
  a.step(addrOf('n2'), { type: MessageType.Suspect, incarnation: MAX, name: 'n1', from: 'n2' }, 'packet', net.nowMs);
  t.is(a.localMember().incarnation, 0, 'the incarnation after the largest is 0, newer in the ring');
  a.step(addrOf('n2'), { type: MessageType.Alive, incarnation: Number.MAX_SAFE_INTEGER, name: 'n1', addr: addrOf('n1'), tags: {} }, 'packet', net.nowMs);
  t.is(a.stats.drops[DropReason.Malformed], 1, 'above the wire bound: dropped, as the decoder would');
  net.runFor(5000);
  t.is(unencodable(net, 'n1'), 0);
  t.is(net.core('n2').member('n1')?.state, MemberState.Alive, 'n1 still answers n2 probes');
});

test('setTags at the largest incarnation wraps to 0 and the new tags spread', (t) => {
  const net = pair();
  const a = net.core('n1');
  refuteUpTo(net, 'n1', MAX);
  t.is(a.localMember().incarnation, MAX);
  net.runFor(3000);
  t.is(net.core('n2').member('n1')?.incarnation, MAX);
  a.setTags({ role: 'db' }, net.nowMs);
  t.is(a.localMember().incarnation, 0);
  net.runFor(3000);
  t.is(unencodable(net, 'n1'), 0);
  t.like(net.core('n2').member('n1'), { incarnation: 0, tags: { role: 'db' }, state: MemberState.Alive });
});

test('a user event with the largest ltime does not push our Lamport clock past what the wire carries', (t) => {
  const net = pair();
  const a = net.core('n1');
  a.step(addrOf('n2'), { type: MessageType.UserEvent, ltime: MAX + 1, name: 'e', payload: new Uint8Array([9]), coalesce: false }, 'packet', net.nowMs);
  t.is(a.stats.drops[DropReason.Malformed], 1, 'an ltime above the wire bound is dropped');
  a.step(addrOf('n2'), { type: MessageType.UserEvent, ltime: MAX, name: 'e', payload: new Uint8Array([1]), coalesce: false }, 'packet', net.nowMs);
  a.sendUserEvent('mine', new Uint8Array([2]), net.nowMs);
  a.sendUserEvent('mine', new Uint8Array([3]), net.nowMs);
  net.runFor(3000);
  net.core('n2').join([addrOf('n1')], net.nowMs); // push-pull carries the clock
  net.runFor(1000);
  t.is(unencodable(net, 'n1'), 0);
  t.is(unencodable(net, 'n2'), 0);
  t.is(net.eventsOf('n2', 'user-event').length, 3);
});

test('the member table is bounded: new names past MEMBERS_MAX are dropped and counted', (t) => {
  const net = pair();
  const a = net.core('n1');
  const perPushPull = PUSH_STATES_MAX;
  let i = 0;
  while (i < MEMBERS_MAX + 10) {
    const states = [];
    for (let j = 0; j < perPushPull; j++, i++) {
      states.push({ name: `x${i}`, addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:1`, incarnation: 1, state: MemberState.Alive, tags: {} });
    }
    a.step(addrOf('n2'), { type: MessageType.PushPull, join: false, reply: true, sourceName: 'n2', sourceAddr: addrOf('n2'), states, eventLtime: 0 }, 'stream', net.nowMs);
    a.ready();
  }
  t.is(a.members().length, MEMBERS_MAX);
  t.is(a.stats.drops[DropReason.LimitExceeded], i - (MEMBERS_MAX - 2));
  t.is(a.member('n2')?.state, MemberState.Alive, 'known members are still updated');
});
