/** Log compaction and InstallSnapshot in chunks (Raft paper §7). */
import test from 'ava';
import { Cluster } from './cluster.js';
import { MessageType } from '../../../src/raft/types.js';

function lagging(seed: number, chunkBytes = 16): { c: Cluster; snapIndex: number } {
  const c = new Cluster({ voters: ['a', 'b', 'c'], config: { snapshotChunkBytes: chunkBytes }, seed });
  c.node('a').campaign();
  c.stabilize();
  c.isolate('c');
  for (let i = 0; i < 20; i++) c.propose('a', `value-${i}`);
  const snapIndex = c.compact('a');
  c.compact('b');
  return { c, snapIndex };
}

test('§7 "the leader must occasionally send snapshots to followers that lag behind": chunks install in order', (t) => {
  const { c, snapIndex } = lagging(51);
  t.is(c.node('a').status().firstIndex, snapIndex + 1, 'the leader dropped its log up to the snapshot');
  c.heal();
  let sawSnapshotState = false;
  for (let i = 0; i < 10; i++) {
    c.tickAll(1);
    if (c.node('a').status().progress.c?.state === 'snapshot') sawSnapshotState = true;
  }
  const chunks = c.messagesOfType(MessageType.Snap);
  const total = c.storage.get('a')!.snapshot!.data.length;
  t.true(total > 16 * 3, `snapshot of ${total} bytes`);
  t.true(chunks.length >= Math.ceil(total / 16), `${chunks.length} chunks`);
  t.true(chunks.every((m) => m.snapshot!.data.length <= 16));
  t.is(chunks.filter((m) => m.snapshot!.done).length >= 1, true);
  t.is(c.storage.get('c')!.snapshot?.meta.index, snapIndex, 'c persisted the snapshot from Ready.snapshot');
  t.deepEqual(c.applied.get('c'), c.applied.get('a'));
  t.is(c.node('a').status().progress.c.state, 'replicate', 'back to replicate after the install');
  const acks = c.messagesOfType(MessageType.SnapResp).filter((m) => m.from === 'c');
  t.true(acks.filter((m) => m.commit === 0).length >= chunks.length - 1, 'every chunk but the last is acknowledged');
  t.is(acks.filter((m) => m.commit === snapIndex).length, 1, 'one SnapResp reports the install');
  t.is(c.node('c').status().counters.snapshotsInstalled, 1);
  t.true(sawSnapshotState || c.node('a').status().counters.snapshotsSent === 1);
  c.propose('a', 'after');
  t.is(c.applied.get('c')!.at(-1), 'after', 'replication continues from the snapshot');
  c.checkStateMachineSafety();
});

test('a lost chunk in the middle: later chunks are rejected with the expected offset and resent from there', (t) => {
  const { c } = lagging(52);
  let dropped = 0;
  c.heal();
  c.filter = (m) => {
    if (m.type === MessageType.Snap && m.snapshot!.offset === 32 && dropped < 2) {
      dropped++;
      return false;
    }
    return true;
  };
  c.tickAll(3);
  t.is(dropped, 2);
  t.true(c.node('c').status().counters.snapshotChunksRejected >= 1, 'out-of-order chunks are rejected, not assembled');
  t.deepEqual(c.applied.get('c'), c.applied.get('a'));
  t.is(c.node('a').status().progress.c.state, 'replicate');
});

test('a follower stays in snapshot state until the install is acknowledged; a lost last chunk is resent after a stall', (t) => {
  const { c } = lagging(55);
  let dropped = 0;
  c.heal();
  c.filter = (m) => {
    if (m.type === MessageType.Snap && m.snapshot!.done && dropped < 1) {
      dropped++;
      return false;
    }
    return true;
  };
  c.tickAll(1);
  t.is(dropped, 1);
  t.is(c.node('a').status().progress.c.state, 'snapshot', 'waiting for the install');
  t.is(c.storage.get('c')!.snapshot, undefined);
  c.tickAll(4);
  t.deepEqual(c.applied.get('c'), c.applied.get('a'));
  t.is(c.node('a').status().progress.c.state, 'replicate');
});

test('a node restarts from its snapshot and later entries', (t) => {
  const { c } = lagging(53);
  c.heal();
  c.tickAll(5);
  c.propose('a', 'tail');
  c.compact('c');
  c.propose('a', 'tail2');
  const before = [...c.applied.get('c')!];
  c.restart('c');
  c.tickAll(3);
  t.deepEqual(c.applied.get('c'), before.concat(c.applied.get('c')!.slice(before.length)));
  t.deepEqual(c.applied.get('c'), c.applied.get('a'));
  t.deepEqual(c.node('c').status().voters, ['a', 'b', 'c'], 'membership restored from the snapshot');
});

test('a leader elected after compaction sends its own snapshot', (t) => {
  const { c } = lagging(54);
  // a goes away; b (compacted too) must bring c up to date.
  c.heal();
  c.isolate('a');
  c.cut('b', 'c');
  c.tickAll(1);
  c.heal();
  c.isolate('a');
  c.node('b').campaign();
  c.stabilize();
  c.tickAll(30);
  t.is(c.leader(), 'b');
  t.deepEqual(c.applied.get('c'), c.applied.get('b'));
  t.true(c.node('b').status().counters.snapshotsSent >= 1);
});
