/**
 * Simulated clients of the replicated key/value store. Each client runs one
 * operation at a time: puts, deletes, compare-and-swaps and some gets through
 * the log (with a request id, retried under the same id so the machine's
 * sessions deduplicate), and gets through ReadIndex. An attempt that times out
 * or is dropped is retried on the leader hint or another server; after
 * maxAttempts the outcome is unknown (info) and the client moves on. Every
 * operation is recorded in the history for the linearizability checker.
 */
import { encodeKvCommand, type KvApplied, type KvCommand, type KvResult } from './kv-machine.js';
import type { NodeId } from '../raft/types.js';
import { AssertionError } from '../util/assert.js';
import type { SeededRng } from '../util/rng.js';
import type { History, OpId } from './history.js';
import type { KvInput, KvOutput } from './linearizability-kv.js';
import { requestKey, type RaftCluster } from './raft-cluster.js';

export interface KvWorkloadOptions {
  clients: number;
  keys: number;
  /** Pause between a client's operations, uniform in [0, thinkMaxMs). */
  thinkMaxMs: number;
  attemptTimeoutMs: number;
  /** Attempts per operation before its outcome is declared unknown. */
  maxAttempts: number;
  /** Delay before retrying after a drop or an unreachable server. */
  retryBackoffMs: number;
  /** Percent of operations sent to a random server rather than the leader hint (exercises forwarding). */
  randomTargetPercent: number;
}

export const kvWorkloadDefaults: KvWorkloadOptions = {
  clients: 5,
  keys: 4,
  thinkMaxMs: 20,
  attemptTimeoutMs: 400,
  maxAttempts: 8,
  retryBackoffMs: 15,
  randomTargetPercent: 25,
};

type Plan = { input: KvInput; viaReadIndex: boolean };

interface InFlight {
  opId: OpId;
  plan: Plan;
  /** Log commands only. */
  command?: KvCommand;
  data?: Uint8Array;
  attempts: number;
  target: NodeId | undefined;
  attemptKey: string;
  timer: number;
  done: boolean;
}

export class SimKvClient {
  private seq = 0;
  private opCount = 0;
  private current: InFlight | undefined;
  private leaderHint: NodeId | undefined;
  private stopIssuingAtMs = Infinity;
  private readonly lastSeen = new Map<string, string | null>();
  readonly counters = { ok: 0, info: 0, retries: 0, drops: 0 };

  constructor(
    readonly id: string,
    private readonly cluster: RaftCluster,
    private readonly history: History<KvInput, KvOutput>,
    private readonly rng: SeededRng,
    private readonly options: KvWorkloadOptions,
  ) {}

  /** Issue operations until untilMs; the one in flight then is still finished. */
  start(untilMs: number): void {
    this.stopIssuingAtMs = untilMs;
    this.cluster.scheduler.after(this.rng.next() * this.options.thinkMaxMs, () => this.next());
  }

  get idle(): boolean {
    return this.current === undefined || this.current.done;
  }

  /** End of run: an operation still in flight has an unknown outcome. */
  abandon(): void {
    const op = this.current;
    if (op === undefined || op.done) return;
    this.finishInfo(op);
  }

  private next(): void {
    if (this.cluster.nowMs >= this.stopIssuingAtMs) return;
    const plan = this.plan();
    const opId = this.history.invoke(this.id, plan.input, this.cluster.nowMs);
    if (opId < 0) return;
    const op: InFlight = { opId, plan, attempts: 0, target: undefined, attemptKey: '', timer: -1, done: false };
    if (!plan.viaReadIndex) {
      op.command = toCommand(plan.input, { clientId: this.id, seq: ++this.seq });
      op.data = encodeKvCommand(op.command);
    }
    this.current = op;
    this.attempt(op);
  }

  private plan(): Plan {
    const key = `k${this.rng.int(this.options.keys)}`;
    const value = `${this.id}.${++this.opCount}`;
    const roll = this.rng.int(100);
    if (roll < 30) return { input: { op: 'put', key, value }, viaReadIndex: false };
    if (roll < 50) return { input: { op: 'get', key }, viaReadIndex: true };
    if (roll < 60) return { input: { op: 'get', key }, viaReadIndex: false };
    if (roll < 67) return { input: { op: 'delete', key }, viaReadIndex: false };
    const seen = this.lastSeen.get(key);
    const expected = seen !== undefined && this.rng.int(4) !== 0 ? seen : null;
    return { input: { op: 'cas', key, expected, value }, viaReadIndex: false };
  }

  private pickTarget(): NodeId | undefined {
    const up = this.cluster.upIds();
    if (up.length === 0) return undefined;
    if (this.leaderHint !== undefined && this.cluster.isUp(this.leaderHint) && this.rng.int(100) >= this.options.randomTargetPercent) {
      return this.leaderHint;
    }
    return up[this.rng.int(up.length)];
  }

  private attempt(op: InFlight): void {
    if (op.done) return;
    if (op.attempts >= this.options.maxAttempts) {
      this.finishInfo(op);
      return;
    }
    op.attempts++;
    if (op.attempts > 1) this.counters.retries++;
    const target = this.pickTarget();
    op.target = target;
    const attemptNo = op.attempts;
    const retryLater = (delayMs: number) => {
      if (op.done || op.attempts !== attemptNo) return;
      this.cluster.scheduler.cancel(op.timer);
      if (op.target !== undefined) this.cluster.forget(op.target, op.attemptKey);
      this.cluster.scheduler.after(delayMs, () => this.attempt(op));
    };
    op.timer = this.cluster.scheduler.after(this.options.attemptTimeoutMs, () => {
      this.leaderHint = undefined;
      retryLater(0);
    });
    if (target === undefined) {
      retryLater(this.options.retryBackoffMs);
      return;
    }
    if (op.plan.viaReadIndex) {
      op.attemptKey = `${this.id}#r${op.opId}.${attemptNo}`;
      const key = op.plan.input.key;
      this.cluster.read(target, op.attemptKey, (_from, _index, read) => this.finishOk(op, { op: 'get', value: read(key) }));
      return;
    }
    op.attemptKey = requestKey(this.id, op.command!.id.seq);
    const sent = this.cluster.submit(
      target,
      op.attemptKey,
      op.data!,
      (from, applied) => this.onApplied(op, from, applied),
      (_from, _code, leader) => {
        this.counters.drops++;
        this.leaderHint = leader === '' ? undefined : leader;
        retryLater(this.options.retryBackoffMs);
      },
    );
    if (!sent) retryLater(this.options.retryBackoffMs);
  }

  private onApplied(op: InFlight, from: NodeId, applied: KvApplied): void {
    if (op.done) return;
    const output = toOutput(op.plan.input, applied.result);
    if (output === undefined) {
      this.finishInfo(op);
      return;
    }
    if (this.leaderHint === undefined) this.leaderHint = from;
    this.finishOk(op, output);
  }

  private finishOk(op: InFlight, output: KvOutput): void {
    if (op.done) return;
    op.done = true;
    this.cluster.scheduler.cancel(op.timer);
    if (op.target !== undefined) this.cluster.forget(op.target, op.attemptKey);
    this.history.ok(op.opId, output, this.cluster.nowMs);
    this.counters.ok++;
    if (output.op === 'get') this.lastSeen.set(op.plan.input.key, output.value);
    if (output.op === 'cas' && output.ok && op.plan.input.op === 'cas') this.lastSeen.set(op.plan.input.key, op.plan.input.value);
    if (op.plan.input.op === 'put') this.lastSeen.set(op.plan.input.key, op.plan.input.value);
    this.cluster.scheduler.after(this.rng.next() * this.options.thinkMaxMs, () => this.next());
  }

  private finishInfo(op: InFlight): void {
    op.done = true;
    this.cluster.scheduler.cancel(op.timer);
    if (op.target !== undefined) this.cluster.forget(op.target, op.attemptKey);
    this.history.info(op.opId, this.cluster.nowMs);
    this.counters.info++;
    this.cluster.scheduler.after(this.rng.next() * this.options.thinkMaxMs, () => this.next());
  }
}

function toCommand(input: KvInput, id: { clientId: string; seq: number }): KvCommand {
  switch (input.op) {
    case 'put':
      return { type: 'put', id, key: input.key, value: input.value };
    case 'get':
      return { type: 'get', id, key: input.key };
    case 'delete':
      return { type: 'delete', id, key: input.key };
    case 'cas':
      return { type: 'cas', id, key: input.key, expected: input.expected, value: input.value };
  }
}

/** The history output for a machine result; undefined when the outcome is unknown to the client. */
function toOutput(input: KvInput, result: KvResult): KvOutput | undefined {
  switch (result.kind) {
    case 'put':
      return input.op === 'put' ? { op: 'put' } : mismatch(input, result);
    case 'delete':
      return input.op === 'delete' ? { op: 'delete' } : mismatch(input, result);
    case 'get':
      return input.op === 'get' ? { op: 'get', value: result.value } : mismatch(input, result);
    case 'cas':
      return input.op === 'cas' ? { op: 'cas', ok: result.ok } : mismatch(input, result);
    case 'session-expired':
    case 'stale':
      return undefined;
  }
}

function mismatch(input: KvInput, result: KvResult): never {
  throw new AssertionError(`harness bug: ${input.op} answered with a ${result.kind} result`);
}
