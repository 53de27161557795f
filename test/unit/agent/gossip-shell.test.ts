import test from 'ava';
import { GossipShell, GossipShellLimits, type DrivenCore, type GossipNet } from '../../../src/agent/gossip-shell.js';
import type { GossipReady, MemberEvent } from '../../../src/gossip/events.js';
import { MessageType, MemberState, type GossipMessage, type PingMsg, type Via } from '../../../src/gossip/messages.js';
import { decodeFrame, decodePacket, encodeFrame, encodePacket } from '../../../src/wire/gossip-codec.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';

class FakeTransport implements GossipNet {
  packets: [string, Uint8Array][] = [];
  frames: [string, Uint8Array][] = [];
  failFramesTo = new Set<string>();
  sendPacket(to: string, data: Uint8Array): void {
    this.packets.push([to, data]);
  }
  async sendFrame(to: string, data: Uint8Array): Promise<void> {
    if (this.failFramesTo.has(to)) throw new ShoalError(ErrorCode.Unreachable, 'no route');
    this.frames.push([to, data]);
  }
}

class FakeCore implements DrivenCore {
  ticks: number[] = [];
  steps: [string, GossipMessage, Via][] = [];
  failed: [string, GossipMessage][] = [];
  next: (nowMs: number) => number = () => Infinity;
  pending: GossipReady = { packets: [], frames: [], events: [] };
  tick(nowMs: number): void {
    this.ticks.push(nowMs);
  }
  step(from: string, msg: GossipMessage, via: Via): void {
    this.steps.push([from, msg, via]);
  }
  frameFailed(to: string, msg: GossipMessage): void {
    this.failed.push([to, msg]);
  }
  ready(): GossipReady {
    const r = this.pending;
    this.pending = { packets: [], frames: [], events: [] };
    return r;
  }
  nextTickAtMs(): number {
    return this.next(performance.now());
  }
}

const ping: PingMsg = { type: MessageType.Ping, seqNo: 7, target: 'b', sourceName: 'a', sourceAddr: '127.0.0.1:2' };

function setup() {
  const core = new FakeCore();
  const transport = new FakeTransport();
  const events: MemberEvent[] = [];
  const shell = new GossipShell({ core, transport, onEvent: (e) => events.push(e) });
  return { core, transport, events, shell };
}

test('ticks at nextTickAtMs, and a core that is always due is clamped, never a busy loop', async (t) => {
  const { core, shell } = setup();
  t.teardown(() => shell.stop());
  const startMs = performance.now();
  core.next = () => startMs + 30;
  shell.start();
  await shell.waitFor(() => core.ticks.length > 0, 1_000);
  t.true(core.ticks.length >= 1);
  t.true(core.ticks[0] >= Math.floor(startMs + 29), `first tick at ${core.ticks[0] - startMs} ms`);
  // Now the core claims it is always overdue: the shell must still pace itself.
  core.next = (now) => now - 100;
  const before = core.ticks.length;
  const windowStart = performance.now();
  await new Promise((r) => setTimeout(r, 100));
  const elapsed = performance.now() - windowStart;
  const ticks = core.ticks.length - before;
  t.true(ticks <= elapsed / GossipShellLimits.tickDelayMinMs + 2, `${ticks} ticks in ${elapsed} ms`);
  t.true(shell.stats.ticksClamped > 0);
  shell.stop();
  const stoppedAt = core.ticks.length;
  await new Promise((r) => setTimeout(r, 20));
  t.is(core.ticks.length, stoppedAt, 'no tick after stop');
});

test('inbound packets and frames are decoded and stepped; garbage is dropped and counted', (t) => {
  const { core, shell } = setup();
  t.teardown(() => shell.stop());
  shell.handlePacket('10.0.0.1:7946', encodePacket([ping, { type: MessageType.Nack, seqNo: 3 }]));
  shell.handleFrame('10.0.0.1:5555', encodeFrame(ping));
  shell.handlePacket('10.0.0.1:7946', new Uint8Array([1, 0xff, 0xff, 0xff]));
  shell.handleFrame('10.0.0.1:5555', new Uint8Array([9, 9, 9]));
  t.deepEqual(
    core.steps.map(([from, m, via]) => [from, m.type, via]),
    [
      ['10.0.0.1:7946', MessageType.Ping, 'packet'],
      ['10.0.0.1:7946', MessageType.Nack, 'packet'],
      ['10.0.0.1:5555', MessageType.Ping, 'stream'],
    ],
  );
  t.deepEqual(core.steps[0][1], ping);
  t.is(shell.stats.packetsIn.decoded, 1);
  t.is(shell.stats.packetsIn.messages, 2);
  t.is(shell.stats.packetsIn.dropped, 1);
  t.is(shell.stats.framesIn.dropped, 1);
});

test('ready() packets and frames go out encoded; failed frames are reported to the core', async (t) => {
  const { core, transport, shell, events } = setup();
  t.teardown(() => shell.stop());
  const member = { name: 'b', addr: '10.0.0.2:7946', state: MemberState.Alive, incarnation: 1, tags: {}, stateChangeMs: 0 };
  const pushPull: GossipMessage = {
    type: MessageType.PushPull,
    join: true,
    reply: false,
    sourceName: 'a',
    sourceAddr: '127.0.0.1:1',
    states: [],
    eventLtime: 0,
  };
  transport.failFramesTo.add('10.0.0.9:7946');
  core.pending = {
    packets: [{ to: '10.0.0.2:7946', msgs: [ping, { type: MessageType.Nack, seqNo: 1 }] }],
    frames: [
      { to: '10.0.0.3:7946', msg: pushPull },
      { to: '10.0.0.9:7946', msg: pushPull },
    ],
    events: [{ type: 'member-join', member, nowMs: 1 }],
  };
  shell.start();
  t.is(transport.packets.length, 1);
  const decoded = decodePacket(transport.packets[0][1]);
  t.true(decoded.ok && decoded.msgs.length === 2);
  t.is(transport.frames.length, 1);
  const frame = decodeFrame(transport.frames[0][1]);
  t.true(frame.ok && frame.msgs[0].type === MessageType.PushPull);
  t.deepEqual(events.map((e) => e.type), ['member-join']);
  t.true(await shell.waitFor(() => core.failed.length === 1, 1_000));
  t.is(core.failed[0][0], '10.0.0.9:7946');
  t.is(core.failed[0][1], pushPull);
  t.is(shell.stats.msgsSent, 4);
  t.is(shell.stats.framesFailed, 1);
});

test('a throwing event listener is counted and does not stop the pump', (t) => {
  const core = new FakeCore();
  const transport = new FakeTransport();
  const shell = new GossipShell({
    core,
    transport,
    onEvent: () => {
      throw new Error('listener bug');
    },
  });
  t.teardown(() => shell.stop());
  core.pending = {
    packets: [],
    frames: [],
    events: [
      { type: 'user-event', name: 'x', payload: new Uint8Array(), ltime: 1 },
      { type: 'user-event', name: 'y', payload: new Uint8Array(), ltime: 2 },
    ],
  };
  shell.start();
  t.is(shell.stats.listenerErrors, 2);
  shell.act(() => {
    core.pending.packets.push({ to: '10.0.0.2:7946', msgs: [ping] });
  });
  t.is(transport.packets.length, 1);
});
