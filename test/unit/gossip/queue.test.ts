import test from 'ava';
import { emptyStats } from '../../../src/gossip/events.js';
import { MessageType, type GossipMessage, type SuspectMsg } from '../../../src/gossip/messages.js';
import { BroadcastQueue, retransmitLimit } from '../../../src/gossip/queue.js';
import { messageSizeBytes, PACKET_PER_MESSAGE_BYTES } from '../../../src/gossip/size.js';

const suspect = (name: string, incarnation = 1): SuspectMsg => ({ type: MessageType.Suspect, incarnation, name, from: 'x' });
const names = (msgs: GossipMessage[]): string[] => msgs.map((m) => (m as SuspectMsg).name);
const BIG = 100_000;

test('retransmit limit is retransmitMult * ceil(log10(n + 1))', (t) => {
  t.is(retransmitLimit(4, 1), 4);
  t.is(retransmitLimit(4, 9), 4);
  t.is(retransmitLimit(4, 10), 8);
  t.is(retransmitLimit(4, 99), 8);
  t.is(retransmitLimit(4, 100), 12);
  t.is(retransmitLimit(3, 10_000), 15);
});

test('take prefers the fewest transmits', (t) => {
  const q = new BroadcastQueue(100, emptyStats());
  q.push('a', suspect('a'));
  q.push('b', suspect('b'));
  const one = messageSizeBytes(suspect('a')) + PACKET_PER_MESSAGE_BYTES;
  t.deepEqual(names(q.take(one, 10)), ['a']); // room for one: the oldest untransmitted
  q.push('c', suspect('c'));
  t.deepEqual(names(q.take(one * 2, 10)), ['b', 'c']); // both at 0 transmits, before a (1)
  t.deepEqual(names(q.take(one, 10)), ['a']);
  t.deepEqual(names(q.take(BIG, 10)), ['b', 'c', 'a']); // b and c have 1 transmit, a has 2
  t.is(q.transmitsOf('a'), 3);
});

test('each update leaves the queue after the retransmit limit', (t) => {
  const stats = emptyStats();
  const q = new BroadcastQueue(100, stats);
  q.push('a', suspect('a'));
  for (let i = 0; i < 3; i++) t.is(q.take(BIG, 3).length, 1);
  t.is(q.length, 0);
  t.deepEqual(q.take(BIG, 3), []);
  t.is(stats.broadcastsTransmitted, 3);
  // A smaller limit (the cluster shrank) retires items already sent often enough.
  q.push('b', suspect('b'));
  q.take(BIG, 10);
  q.take(BIG, 10);
  t.deepEqual(q.take(BIG, 2), []);
  t.false(q.has('b'));
});

test('a newer update for the same member replaces the older one', (t) => {
  const stats = emptyStats();
  const q = new BroadcastQueue(100, stats);
  q.push('a', suspect('a', 1));
  q.take(BIG, 10);
  q.push('a', suspect('a', 2));
  t.is(q.length, 1);
  t.is(q.transmitsOf('a'), 0);
  const got = q.take(BIG, 10) as SuspectMsg[];
  t.is(got.length, 1);
  t.is(got[0].incarnation, 2);
  t.is(stats.broadcastsInvalidated, 1);
});

test('past the bound the most transmitted are dropped and counted', (t) => {
  const stats = emptyStats();
  const q = new BroadcastQueue(3, stats);
  q.push('old', suspect('old'));
  q.take(BIG, 10);
  q.take(BIG, 10);
  q.push('mid', suspect('mid'));
  q.take(BIG, 10); // old: 3, mid: 1
  q.push('n1', suspect('n1'));
  t.is(q.length, 3);
  q.push('n2', suspect('n2'));
  t.is(q.length, 3);
  t.false(q.has('old'));
  t.true(q.has('mid') && q.has('n1') && q.has('n2'));
  q.push('n3', suspect('n3'));
  t.false(q.has('mid'));
  t.is(stats.broadcastsDropped, 2);
  t.is(stats.broadcastsQueued, 5);
});

test('take never exceeds the byte budget and skips items that do not fit', (t) => {
  const q = new BroadcastQueue(100, emptyStats());
  const long: SuspectMsg = { type: MessageType.Suspect, incarnation: 1, name: 'x'.repeat(300), from: 'x' };
  q.push('long', long);
  q.push('a', suspect('a'));
  const small = messageSizeBytes(suspect('a')) + PACKET_PER_MESSAGE_BYTES;
  t.deepEqual(names(q.take(small + 10, 10)), ['a']);
  t.is(q.transmitsOf('long'), 0);
  const budget = 1000;
  for (let i = 0; i < 50; i++) q.push(`m${i}`, suspect(`m${i}`));
  const got = q.take(budget, 10);
  const used = got.reduce((s, m) => s + messageSizeBytes(m) + PACKET_PER_MESSAGE_BYTES, 0);
  t.true(used <= budget);
  t.true(budget - used < small, 'packs until the next one cannot fit');
});
