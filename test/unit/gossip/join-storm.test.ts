import test from 'ava';
import { MemberState, MessageType } from '../../../src/gossip/messages.js';
import { JOIN_SYNC_FIRST_DELAY_PROBES } from '../../../src/gossip/pushpull.js';
import { addrOf, Net } from './harness.js';

/**
 * Many nodes join one seed at about the same time (the `local` preset, as the
 * 24-agent demo runs it). Each member's Alive spreads by an epidemic that ends
 * after retransmitMult * ceil(log10(n + 1)) sends per node (4 here); a node
 * that few knew while that epidemic ran misses the member until a push-pull.
 */
function storm(seed: number, n: number, staggerMs: number): Net {
  const net = new Net();
  net.add('n1', {}, seed);
  for (let i = 2; i <= n; i++) {
    net.runFor(staggerMs);
    net.add(`n${i}`, {}, seed);
    net.core(`n${i}`).join([addrOf('n1')], net.nowMs);
  }
  return net;
}

function missing(net: Net, n: number): string[] {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= n; j++) {
      if (net.stateOf(`n${i}`, `n${j}`) !== MemberState.Alive) out.push(`n${i} misses n${j}`);
    }
  }
  return out;
}

for (const staggerMs of [5, 100]) {
  test(`24 nodes joining one seed ${staggerMs} ms apart all see each other long before the first periodic push-pull`, (t) => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const net = storm(seed, 24, staggerMs);
      net.runFor(6000);
      t.true(net.nowMs < net.core('n1').localMember().stateChangeMs + 15_000, 'periodic push-pull (15 s) has not run yet');
      t.deepEqual(missing(net, 24), [], `seed ${seed}`);
    }
  });
}

test('a new node gossips its own Alive too, not only the seed (memberlist queues it at start)', (t) => {
  const net = new Net();
  net.add('n1');
  net.add('n2');
  net.core('n2').join([addrOf('n1')], net.nowMs);
  net.runFor(3000);
  net.add('n3');
  net.core('n3').join([addrOf('n1')], net.nowMs);
  const before = net.packets.length;
  net.runFor(300);
  const fromN3 = net.packets.slice(before).filter((p) => p.from === addrOf('n3'));
  t.true(fromN3.length > 0);
  t.true(fromN3[0].msgs.some((m) => m.type === MessageType.Alive && m.name === 'n3'), 'first packet of n3 carries its Alive');
});

test('after a join is answered, one follow-up push-pull goes to a member other than the seed', (t) => {
  const net = new Net();
  for (const name of ['n1', 'n2', 'n3']) net.add(name);
  net.core('n2').join([addrOf('n1')], net.nowMs);
  net.core('n3').join([addrOf('n1')], net.nowMs);
  net.runFor(10);
  const joinedAtMs = net.nowMs;
  net.add('n4');
  net.core('n4').join([addrOf('n1'), addrOf('n2')], net.nowMs); // two seeds answer: still one follow-up
  const before = net.log.length;
  net.runFor(12_000); // below the first periodic push-pull (15 s)
  const syncs = net.log
    .slice(before)
    .filter((d) => d.from === addrOf('n4') && d.via === 'stream' && d.msg.type === MessageType.PushPull && !d.msg.join && !d.msg.reply);
  t.is(syncs.length, 1, 'the table did not grow after the first follow-up: no more');
  const probeIntervalMs = 1000;
  t.is(syncs[0].atMs, joinedAtMs + JOIN_SYNC_FIRST_DELAY_PROBES * probeIntervalMs);
  t.not(syncs[0].to, addrOf('n1'), 'not the seed that answered first');
});

test('follow-up syncs repeat at doubling delays while members keep arriving, at most three', (t) => {
  const net = storm(1, 2, 0);
  for (let i = 3; i <= 12; i++) {
    net.runFor(1000);
    net.add(`n${i}`);
    net.core(`n${i}`).join([addrOf('n1')], net.nowMs);
  }
  net.runFor(4000); // n2 joined at 0: follow-ups at 2 s, 6 s, 14 s; first periodic push-pull at 15 s
  const syncs = net.log.filter(
    (d) => d.from === addrOf('n2') && d.via === 'stream' && d.msg.type === MessageType.PushPull && !d.msg.join && !d.msg.reply,
  );
  t.deepEqual(
    syncs.map((d) => d.atMs),
    [2000, 6000, 14_000],
  );
});
