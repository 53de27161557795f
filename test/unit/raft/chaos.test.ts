/**
 * Randomized runs in the style of hashicorp/raft's fuzzy tests: partitions,
 * message loss, duplication and reordering, restarts, compaction and
 * leadership transfers; then election safety, log matching and state machine
 * safety are checked, and after healing every acknowledged write is applied.
 */
import test from 'ava';
import { Cluster } from './cluster.js';
import { SeededRng } from '../../../src/util/rng.js';

const ids = ['a', 'b', 'c', 'd', 'e'];

function run(seed: number): { terms: number; applied: number; members: number; reads: number } {
  const rng = new SeededRng(seed);
  const variant = seed % 4;
  const config = {
    snapshotChunkBytes: 64,
    maxSizePerMsgBytes: 256,
    maxInflightMsgs: 4,
    preVote: variant !== 1,
    checkQuorum: variant !== 2,
    readOnlyOption: variant === 3 ? ('lease-based' as const) : ('safe' as const),
  };
  const c = new Cluster({ voters: ids, config, seed });
  // ReadIndex linearizability: a read's index covers every commit known anywhere when it was issued.
  const readFloor = new Map<string, number>();
  let reads = 0;
  const maxCommit = (): number => Math.max(...ids.map((i) => c.node(i).status().commit));
  c.shuffleDelivery = true;
  c.duplicateRate = 0.05;
  let dropRate = 0;
  c.filter = () => rng.next() >= dropRate;
  let n = 0;
  for (let step = 0; step < Number(process.env.RAFT_CHAOS_STEPS ?? 400); step++) {
    const r = rng.next();
    const id = ids[rng.int(ids.length)];
    if (r < 0.05) {
      c.isolate(id);
    } else if (r < 0.1) {
      c.heal();
      c.filter = () => rng.next() >= dropRate;
    } else if (r < 0.13) {
      dropRate = rng.next() * 0.3;
    } else if (r < 0.16) {
      c.restart(id);
    } else if (r < 0.2) {
      if (c.node(id).status().applied > c.node(id).status().firstIndex) c.compact(id);
    } else if (r < 0.22) {
      c.node(id).transferLeadership(ids[rng.int(ids.length)]);
    } else if (r < 0.25) {
      // Membership churn among the five: remove one (keeping three voters) or add it back.
      const target = ids[rng.int(ids.length)];
      const voters = c.node(id).status().voters;
      if (voters.includes(target) && voters.length > 3) c.node(id).proposeConfChange({ type: 2, node: target });
      else if (!voters.includes(target)) c.node(id).proposeConfChange({ type: rng.int(2) as 0 | 1, node: target });
    } else if (r < 0.3) {
      const ctx = `r${seed}-${n++}`;
      readFloor.set(ctx, maxCommit());
      c.node(id).readIndex(new TextEncoder().encode(ctx));
    } else if (r < 0.6) {
      c.node(id).propose(new TextEncoder().encode(`s${seed}-${n++}`));
    }
    c.tickAll(1);
  }
  for (const id of ids) {
    for (const rs of c.readStates.get(id)!) {
      const ctx = new TextDecoder().decode(rs.context);
      const floor = readFloor.get(ctx);
      if (floor === undefined) throw new Error(`unknown read ${ctx}`);
      if (rs.index < floor) throw new Error(`read ${ctx} at ${rs.index} misses commit ${floor}`);
      reads++;
    }
  }
  c.heal();
  c.duplicateRate = 0;
  c.shuffleDelivery = false;
  c.tickAll(60);
  const leader = c.electLeader();
  c.propose(leader, 'final');
  c.tickAll(5);
  c.checkLogMatching();
  c.checkStateMachineSafety();
  const reference = c.applied.get(leader)!;
  const st = c.node(leader).status();
  const members = [...st.voters, ...st.learners];
  for (const id of ids) {
    const applied = c.applied.get(id)!;
    const same = members.includes(id)
      ? JSON.stringify(applied) === JSON.stringify(reference)
      : JSON.stringify(applied) === JSON.stringify(reference.slice(0, applied.length));
    if (!same) throw new Error(`${id} applied ${applied.length} values, leader ${reference.length}`);
  }
  if (reference.at(-1) !== 'final') throw new Error('final write not applied');
  return { terms: c.leadersByTerm.size, applied: reference.length, members: members.length, reads };
}

test('randomized faults keep election safety, log matching and state machine safety; the cluster converges', (t) => {
  const seeds = Array.from({ length: Number(process.env.RAFT_CHAOS_SEEDS ?? 40) }, (_, i) => 1000 + i);
  for (const seed of seeds) {
    try {
      const r = run(seed);
      if (process.env.RAFT_CHAOS_VERBOSE) t.log(seed, r);
    } catch (e) {
      t.fail(`seed ${seed}: ${(e as Error).stack ?? String(e)}`);
      return;
    }
  }
  t.pass();
});
