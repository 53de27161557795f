import test from 'ava';
import { MemberState } from '../../../src/gossip/messages.js';
import { addrOf, Net } from './harness.js';

const half = (addr: string): number => (addr === addrOf('n1') || addr === addrOf('n2') ? 0 : 1);

function partitioned(overrides: Record<string, number>): Net {
  const net = new Net();
  for (let i = 1; i <= 4; i++) net.add(`n${i}`, overrides);
  for (let i = 2; i <= 4; i++) net.core(`n${i}`).join([addrOf('n1')], net.nowMs);
  net.runFor(3000);
  for (const v of ['n1', 'n2', 'n3', 'n4']) if (!allAlive(net, v)) throw new Error(`${v} did not converge before the partition`);
  net.filter = (d) => half(d.from) === half(d.to);
  net.runFor(60_000); // longer than gossipToTheDeadMs: nobody gossips across any more
  return net;
}

function allAlive(net: Net, viewer: string): boolean {
  return ['n1', 'n2', 'n3', 'n4'].every((n) => net.stateOf(viewer, n) === MemberState.Alive);
}

test('after a partition heals, periodic re-contact of the recently dead merges the halves', (t) => {
  const net = partitioned({});
  t.is(net.stateOf('n1', 'n3'), MemberState.Dead);
  t.is(net.stateOf('n4', 'n2'), MemberState.Dead);
  net.filter = () => true;
  net.runFor(60_000);
  for (const v of ['n1', 'n2', 'n3', 'n4']) t.true(allAlive(net, v), `${v} sees everyone alive`);
  t.true([...net.cores.values()].some((c) => c.stats.reconnectAttempts > 0));
});

test('without re-contact (memberlist behaviour) the halves stay apart', (t) => {
  const net = partitioned({ reconnectIntervalMs: 0 });
  net.filter = () => true;
  net.runFor(60_000);
  t.is(net.stateOf('n1', 'n3'), MemberState.Dead);
  t.is(net.stateOf('n3', 'n1'), MemberState.Dead);
});
