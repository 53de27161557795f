import test from 'ava';
import fc from 'fast-check';
import { GossipCore } from '../../../src/gossip/core.js';
import { presets } from '../../../src/gossip/config.js';
import { MemberState, MessageType, type GossipMessage } from '../../../src/gossip/messages.js';
import { SeededRng } from '../../../src/util/rng.js';
import { encodeFrame, encodePacket } from '../../../src/wire/gossip-codec.js';

const names = ['self', 'a', 'b', 'c'];
const addrs = ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1'];
const name = fc.constantFrom(...names);
const addr = fc.constantFrom(...addrs);
const inc = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER));
const ltime = fc.oneof(fc.nat(10), fc.constant(Number.MAX_SAFE_INTEGER));
const state = fc.constantFrom(MemberState.Alive, MemberState.Suspect, MemberState.Dead, MemberState.Left);
const tags = fc.constantFrom({}, { role: 'db' }, { big: 'x'.repeat(600) });

const message: fc.Arbitrary<GossipMessage> = fc.oneof(
  fc.record({ type: fc.constant(MessageType.Ping), seqNo: fc.nat(5), target: fc.constantFrom('', 'self', 'a'), sourceName: name, sourceAddr: addr }),
  fc.record({ type: fc.constant(MessageType.IndirectPing), seqNo: fc.nat(5), target: name, targetAddr: addr, nack: fc.boolean(), sourceName: name, sourceAddr: addr }),
  fc.record({ type: fc.constant(MessageType.Ack), seqNo: fc.nat(5) }),
  fc.record({ type: fc.constant(MessageType.Nack), seqNo: fc.nat(5) }),
  fc.record({ type: fc.constant(MessageType.Alive), incarnation: inc, name, addr, tags }),
  fc.record({ type: fc.constant(MessageType.Suspect), incarnation: inc, name, from: name }),
  fc.record({ type: fc.constant(MessageType.Dead), incarnation: inc, name, from: name }),
  fc.record({ type: fc.constant(MessageType.Leave), incarnation: inc, name }),
  fc.record({
    type: fc.constant(MessageType.PushPull),
    join: fc.boolean(),
    reply: fc.boolean(),
    sourceName: name,
    sourceAddr: addr,
    states: fc.array(fc.record({ name, addr, incarnation: inc, state, tags }), { maxLength: 4 }),
    eventLtime: ltime,
  }),
  fc.record({ type: fc.constant(MessageType.UserEvent), ltime, name: fc.constantFrom('e', 'f'), payload: fc.uint8Array({ maxLength: 4 }), coalesce: fc.boolean() }),
) as fc.Arbitrary<GossipMessage>;

const action = fc.oneof(
  fc.record({ kind: fc.constant('msg' as const), msg: message, stream: fc.boolean(), advanceMs: fc.nat(3000) }),
  fc.record({ kind: fc.constant('leave' as const), advanceMs: fc.nat(3000) }),
  fc.record({ kind: fc.constant('tags' as const), advanceMs: fc.nat(3000) }),
  fc.record({ kind: fc.constant('event' as const), advanceMs: fc.nat(3000) }),
);

/** The shell drops a packet or frame that does not encode: the core must never emit one. */
function encodes(r: { packets: { msgs: GossipMessage[] }[]; frames: { msg: GossipMessage }[] }): boolean {
  try {
    for (const p of r.packets) encodePacket(p.msgs);
    for (const f of r.frames) encodeFrame(f.msg);
    return true;
  } catch {
    return false;
  }
}

test('any sequence of messages: never throws, everything emitted encodes, counts stay consistent, the node never dies in its own eyes', (t) => {
  fc.assert(
    fc.property(fc.array(action, { maxLength: 60 }), fc.nat(), (actions, seed) => {
      const core = new GossipCore(presets.local('self', '10.0.0.1:1'), new SeededRng(seed), 0);
      let now = 0;
      for (const a of actions) {
        now += a.advanceMs;
        core.tick(now);
        if (a.kind === 'leave') core.leave(now);
        else if (a.kind === 'tags') {
          try {
            core.setTags({ n: String(now) }, now);
          } catch {
            // refused after leave or at the incarnation limit: typed, checked elsewhere
          }
        } else if (a.kind === 'event') core.sendUserEvent('u', new Uint8Array([1]), now);
        else core.step('1.1.1.1:1', a.msg, a.stream ? 'stream' : 'packet', now);
        const r = core.ready();
        for (const p of r.packets) if (p.msgs.length === 0) return false;
        if (!encodes(r)) return false;
        const live = core.members().filter((m) => m.state === MemberState.Alive || m.state === MemberState.Suspect).length;
        if (live !== core.numAlive()) return false;
        const self = core.localMember();
        if (self.state === MemberState.Dead || self.state === MemberState.Suspect) return false;
        if (core.localHealth() < 0 || core.localHealth() > 7) return false;
        if (core.nextTickAtMs() < now) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});
