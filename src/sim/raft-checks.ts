/**
 * End-of-run checks of a Raft simulation (the monitors in raft-cluster.ts
 * check Election Safety and State Machine Safety while it runs):
 *  - Log Matching: every server's durable log agrees, up to its commit index,
 *    with the entries applied at those indexes;
 *  - convergence: after healing, every member applied the same prefix and
 *    holds the same key/value state;
 *  - no acknowledged write lost: each key's final value is the effect of a
 *    write that no acknowledged write definitely superseded.
 */
import { bytesEqual } from '../raft/message.js';
import { RaftRole, type NodeId } from '../raft/types.js';
import { OpStatus, type Operation } from './history.js';
import type { KvInput, KvOutput } from './linearizability-kv.js';
import type { RaftCluster } from './raft-cluster.js';

/** Report at most this many problems per check. */
const problemsMax = 20;

export function checkLogMatching(cluster: RaftCluster): string[] {
  const problems: string[] = [];
  const ids = cluster.options.nodeIds;
  // Committed prefixes agree with what was applied at each index.
  for (const id of ids) {
    const durable = cluster.storages.get(id)!.durableState;
    const commit = Math.max(durable.hardState.commit, cluster.host(id)?.status().commit ?? 0);
    for (const e of durable.entries) {
      if (e.index > commit) break;
      const applied = cluster.appliedByIndex.get(e.index);
      if (applied === undefined) continue;
      if (applied.term !== e.term || !bytesEqual(applied.data, e.data)) {
        problems.push(`log matching: ${id} holds term ${e.term} at committed index ${e.index}, ${applied.by} applied term ${applied.term}`);
        if (problems.length >= problemsMax) return problems;
      }
    }
  }
  // Log Matching Property: two logs with an entry of the same index and term agree on everything before it.
  for (let a = 0; a < ids.length; a++) {
    for (let b = a + 1; b < ids.length; b++) {
      const problem = logsDisagree(cluster, ids[a], ids[b]);
      if (problem !== undefined) problems.push(problem);
      if (problems.length >= problemsMax) return problems;
    }
  }
  return problems;
}

function logsDisagree(cluster: RaftCluster, a: NodeId, b: NodeId): string | undefined {
  const sa = cluster.storages.get(a)!;
  const sb = cluster.storages.get(b)!;
  const ea = sa.durableState.entries;
  let anchor = -1;
  for (let i = ea.length - 1; i >= 0; i--) {
    const other = sb.entry(ea[i].index);
    if (other !== undefined && other.term === ea[i].term) {
      anchor = i;
      break;
    }
  }
  for (let i = anchor; i >= 0; i--) {
    const other = sb.entry(ea[i].index);
    if (other === undefined) break;
    if (other.term !== ea[i].term || !bytesEqual(other.data, ea[i].data)) {
      return `log matching: ${a} and ${b} agree at index ${ea[anchor].index} term ${ea[anchor].term} but differ at ${ea[i].index}`;
    }
  }
  return undefined;
}

/** Members of the final configuration, per the leader (undefined when there is none). */
export function finalMembers(cluster: RaftCluster): NodeId[] | undefined {
  const lead = cluster.leader();
  if (lead === undefined) return undefined;
  const s = lead.status();
  return [...s.voters, ...s.learners];
}

/** Run until every member applied the leader's commit index (or maxMs passes). */
export function awaitConvergence(cluster: RaftCluster, maxMs: number): boolean {
  return cluster.scheduler.runUntilCondition(() => {
    const lead = cluster.leader();
    if (lead === undefined) return false;
    const s = lead.status();
    if (s.role !== RaftRole.Leader || lead.appliedIndex < s.commit) return false;
    return [...s.voters, ...s.learners].every((id) => (cluster.host(id)?.appliedIndex ?? -1) === lead.appliedIndex);
  }, maxMs);
}

export function checkConvergence(cluster: RaftCluster): string[] {
  const members = finalMembers(cluster);
  if (members === undefined) return ['convergence: no leader after healing'];
  const lead = cluster.leader()!;
  const expected = lead.machine.entries();
  const problems: string[] = [];
  for (const id of members) {
    const h = cluster.host(id);
    if (h === undefined) {
      problems.push(`convergence: member ${id} is not running`);
      continue;
    }
    if (h.appliedIndex !== lead.appliedIndex) {
      const pr = lead.status().progress[id];
      const seen = pr === undefined ? 'no progress' : `${pr.state}, match ${pr.match}, pending snapshot ${pr.pendingSnapshot}${pr.isLearner ? ', learner' : ''}`;
      problems.push(`convergence: ${id} applied ${h.appliedIndex}, leader ${lead.id} applied ${lead.appliedIndex} (leader sees ${id}: ${seen})`);
      continue;
    }
    const got = h.machine.entries();
    const keys = new Set([...expected.keys(), ...got.keys()]);
    for (const k of keys) {
      if (got.get(k) !== expected.get(k)) {
        problems.push(`convergence: ${id} has ${k}=${String(got.get(k))}, leader ${lead.id} has ${String(expected.get(k))}`);
        break;
      }
    }
  }
  return problems;
}

type KvOp = Operation<KvInput, KvOutput>;

/** The value a write leaves, or undefined for an operation that is not a write (or a failed CAS). */
function writtenValue(op: KvOp): string | null | undefined {
  switch (op.input.op) {
    case 'put':
      return op.input.value;
    case 'delete':
      return null;
    case 'cas':
      if (op.status === OpStatus.Ok && op.output?.op === 'cas' && !op.output.ok) return undefined;
      return op.input.value;
    case 'get':
      return undefined;
  }
}

export function checkNoLostWrites(ops: readonly KvOp[], finalState: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, KvOp[]>();
  for (const op of ops) {
    if (op.status === OpStatus.Fail || writtenValue(op) === undefined) continue;
    const list = byKey.get(op.input.key) ?? [];
    list.push(op);
    byKey.set(op.input.key, list);
  }
  const keys = new Set([...byKey.keys(), ...finalState.keys()]);
  for (const key of keys) {
    const writes = byKey.get(key) ?? [];
    const acked = writes.filter((w) => w.status === OpStatus.Ok);
    // A write is superseded when an acknowledged write began after it returned.
    const live = writes.filter((w) => !acked.some((a) => a.callMs > w.returnMs));
    const finalValue = finalState.get(key) ?? null;
    const possible = new Set(live.map((w) => writtenValue(w)));
    if (acked.length === 0) possible.add(null);
    if (!possible.has(finalValue)) {
      const described = [...possible].map((v) => String(v)).join(', ');
      problems.push(`lost write: ${key}=${String(finalValue)} at the end, but the surviving writes leave one of [${described}]`);
      if (problems.length >= problemsMax) break;
    }
  }
  return problems;
}
