/**
 * A tiny in-memory network of RaftNodes for scenario tests (etcd's test
 * network): per-node storage, a state machine that records applied entries,
 * message cuts and isolation, and invariant checks.
 */
import { SeededRng, shuffle } from '../../../src/util/rng.js';
import { validateRaftConfig, type RaftConfig } from '../../../src/raft/config.js';
import { RaftNode } from '../../../src/raft/node.js';
import {
  EntryType,
  MessageType,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type Snapshot,
} from '../../../src/raft/types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => dec.decode(b);

interface Stored {
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

export interface ClusterOptions {
  voters: NodeId[];
  learners?: NodeId[];
  /** Nodes that exist but start with an empty configuration (to be added later). */
  spares?: NodeId[];
  config?: Partial<RaftConfig>;
  seed?: number;
}

export class Cluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly storage = new Map<NodeId, Stored>();
  /** The state machine: applied normal entries' data, in order. */
  readonly applied = new Map<NodeId, string[]>();
  /** Every (index, term) a node applied, to check state machine safety. */
  readonly appliedTerms = new Map<NodeId, Map<number, number>>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly dropped = new Map<NodeId, Ready['droppedProposals']>();
  readonly sent: Message[] = [];
  /** Every Ready's (first index, count) of entries, per node. */
  readonly entryWrites = new Map<NodeId, { first: number; count: number; terms: number[] }[]>();
  /** term -> leader id observed. */
  readonly leadersByTerm = new Map<number, NodeId>();
  private queue: Message[] = [];
  private readonly cuts = new Set<string>();
  /** Optional filter: return false to drop a message. */
  filter: ((m: Message) => boolean) | undefined = undefined;
  readonly rng: SeededRng;
  /** Chaos knobs for randomized tests: deliver each batch shuffled, duplicate some messages. */
  shuffleDelivery = false;
  /** Forged messages (fuzzing) can legitimately break Raft's guarantees: skip the two-leaders check. */
  forgedMessages = false;
  duplicateRate = 0;
  readonly configs = new Map<NodeId, RaftConfig>();

  constructor(readonly opts: ClusterOptions) {
    this.rng = new SeededRng(opts.seed ?? 1);
    const conf = { voters: opts.voters, learners: opts.learners ?? [] };
    for (const id of [...opts.voters, ...(opts.learners ?? [])]) this.add(id, conf);
    for (const id of opts.spares ?? []) this.add(id, { voters: [], learners: [] });
  }

  private add(id: NodeId, conf: { voters: NodeId[]; learners: NodeId[] }): void {
    const cfg = validateRaftConfig({ electionTicks: 10, heartbeatTicks: 1, ...this.opts.config, id });
    this.configs.set(id, cfg);
    this.storage.set(id, { hardState: { term: 0, vote: '', commit: 0 }, entries: [] });
    this.applied.set(id, []);
    this.appliedTerms.set(id, new Map());
    this.readStates.set(id, []);
    this.dropped.set(id, []);
    this.nodes.set(id, new RaftNode(cfg, { hardState: { term: 0, vote: '', commit: 0 }, entries: [], conf }, this.rng.fork()));
  }

  node(id: NodeId): RaftNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Restarts a node from its storage (volatile state lost). */
  restart(id: NodeId): void {
    const s = this.storage.get(id)!;
    const snap = s.snapshot;
    this.applied.set(id, snap ? this.decodeState(snap.data) : []);
    this.nodes.set(
      id,
      new RaftNode(
        this.configs.get(id)!,
        { hardState: { ...s.hardState }, ...(snap ? { snapshot: snap } : {}), entries: [...s.entries], conf: { voters: [], learners: [] } },
        this.rng.fork(),
      ),
    );
  }

  private decodeState(data: Uint8Array): string[] {
    try {
      return JSON.parse(text(data)) as string[];
    } catch (e) {
      if (this.forgedMessages) return ['<forged snapshot>'];
      throw e;
    }
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}>${b}`);
    this.cuts.add(`${b}>${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cuts.clear();
    this.filter = undefined;
  }

  private deliverable(m: Message): boolean {
    if (this.cuts.has(`${m.from}>${m.to}`)) return false;
    return this.filter === undefined || this.filter(m);
  }

  /** Handles every pending Ready of one node: persist, send, apply. */
  processReady(id: NodeId): void {
    const node = this.node(id);
    for (let guard = 0; node.hasReady(); guard++) {
      if (guard > 10_000) throw new Error(`${id}: Ready loop does not settle`);
      const rd = node.ready();
      const s = this.storage.get(id)!;
      if (rd.hardState) s.hardState = { ...rd.hardState };
      if (rd.snapshot) {
        s.snapshot = rd.snapshot;
        s.entries = [];
        this.applied.set(id, this.decodeState(rd.snapshot.data));
      }
      if (rd.entries.length > 0) {
        const first = rd.entries[0].index;
        const writes = this.entryWrites.get(id) ?? [];
        writes.push({ first, count: rd.entries.length, terms: rd.entries.map((e) => e.term) });
        this.entryWrites.set(id, writes);
        const base = s.snapshot?.meta.index ?? 0;
        const keep = first - base - 1; // entries before `first` (a conflict truncates the rest)
        if (keep < 0 || keep > s.entries.length) throw new Error(`${id}: persisted entries not contiguous at ${first}`);
        s.entries.length = keep;
        for (const e of rd.entries) s.entries.push(e);
      }
      if (rd.softState?.role === 'leader') {
        const term = rd.hardState?.term ?? s.hardState.term;
        const prev = this.leadersByTerm.get(term);
        if (prev !== undefined && prev !== id && !this.forgedMessages) throw new Error(`two leaders in term ${term}: ${prev} and ${id}`);
        this.leadersByTerm.set(term, id);
      }
      for (const m of rd.messages) {
        this.sent.push(m);
        if (this.deliverable(m)) this.queue.push(m);
      }
      const terms = this.appliedTerms.get(id)!;
      for (const e of rd.committedEntries) {
        terms.set(e.index, e.term);
        if (e.type === EntryType.Normal && e.data.length > 0) this.applied.get(id)!.push(text(e.data));
      }
      this.readStates.get(id)!.push(...rd.readStates);
      this.dropped.get(id)!.push(...rd.droppedProposals);
      node.advance(rd);
    }
  }

  /** Delivers messages and handles Readys until nothing moves (bounded). */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      for (const id of this.nodes.keys()) this.processReady(id);
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      if (round > 200 && process.env.RAFT_DEBUG_STORM) {
        console.log(round, batch.slice(0, 12).map((m) => `${m.type}:${m.from}>${m.to} t${m.term} i${m.index} lt${m.logTerm} n${m.entries.length} c${m.commit} r${m.reject} h${m.rejectHint}`).join(' | '));
        if (round > 210) process.exit(1);
      }
      if (this.duplicateRate > 0) {
        for (const m of [...batch]) if (this.rng.next() < this.duplicateRate) batch.push(m);
      }
      if (this.shuffleDelivery) shuffle(batch, this.rng);
      for (const m of batch) this.nodes.get(m.to)?.step(m);
    }
    throw new Error('cluster did not stabilize');
  }

  tickAll(ticks: number, stabilizeEach = true): void {
    for (let t = 0; t < ticks; t++) {
      for (const n of this.nodes.values()) n.tick();
      if (stabilizeEach) this.stabilize();
    }
  }

  /** Ticks until some node is leader (bounded). */
  electLeader(maxTicks = 500): NodeId {
    for (let t = 0; t < maxTicks; t++) {
      const l = this.leader();
      if (l !== undefined) return l;
      this.tickAll(1);
    }
    throw new Error('no leader elected');
  }

  /** The leader with the highest term, if any. */
  leader(): NodeId | undefined {
    let best: NodeId | undefined;
    let bestTerm = -1;
    for (const [id, n] of this.nodes) {
      const st = n.status();
      if (st.role === 'leader' && st.term > bestTerm) {
        best = id;
        bestTerm = st.term;
      }
    }
    return best;
  }

  propose(id: NodeId, data: string): void {
    this.node(id).propose(bytes(data), bytes(data));
    this.stabilize();
  }

  /** Snapshots a node's state machine at its applied index and compacts its log (as the shell would). */
  compact(id: NodeId): number {
    const node = this.node(id);
    const index = node.status().applied;
    const data = bytes(JSON.stringify(this.applied.get(id)));
    node.compact(index, data);
    const s = this.storage.get(id)!;
    s.snapshot = { meta: { index, term: s.entries.find((e) => e.index === index)?.term ?? s.snapshot!.meta.term, conf: { voters: node.status().voters, learners: node.status().learners } }, data };
    s.entries = s.entries.filter((e) => e.index > index);
    return index;
  }

  /** Entries in a node's persisted log. */
  log(id: NodeId): Entry[] {
    return this.storage.get(id)!.entries;
  }

  /** State machine safety: no two nodes applied different entries at an index. */
  checkStateMachineSafety(): void {
    const byIndex = new Map<number, number>();
    for (const [id, terms] of this.appliedTerms) {
      for (const [index, term] of terms) {
        const t = byIndex.get(index);
        if (t !== undefined && t !== term) throw new Error(`${id} applied term ${term} at ${index}, another node term ${t}`);
        byIndex.set(index, term);
      }
    }
  }

  /** Log matching: if two logs hold an entry with the same index and term, all before it match. */
  checkLogMatching(): void {
    const ids = [...this.nodes.keys()];
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const a = new Map(this.log(ids[i]).map((e) => [e.index, e]));
        const b = this.log(ids[j]);
        let matched = false;
        for (let k = b.length - 1; k >= 0; k--) {
          const ea = a.get(b[k].index);
          if (ea === undefined) continue;
          if (ea.term === b[k].term) matched = true;
          else if (matched) throw new Error(`log matching violated between ${ids[i]} and ${ids[j]} at ${b[k].index}`);
        }
      }
    }
  }

  messagesOfType(type: MessageType): Message[] {
    return this.sent.filter((m) => m.type === type);
  }
}

/** A message with zero/empty defaults, for hand-made scenarios. */
export function msg(f: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message {
  return { index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(), ...f };
}
