/**
 * Clients of the simulated control plane: each sends one request at a time
 * (put, linearizable get, compare-and-swap as a txn) to a live member's
 * ControlShell (its write / read API, as the HTTP API calls it) and records
 * it in a History for the linearizability checker (kvModel). Only a
 * definite answer is `ok`; a write whose answer is an error or never comes
 * (the client gives up and aborts it) is `info`: it may still be applied; a
 * read that fails is `fail` (reads change nothing).
 *
 * Also a watcher: a watch on one member's store that resumes from
 * lastRevision + 1 whenever it is closed, recording every event it gets.
 */
import type { CommandBody } from '../api/config-views.js';
import type { ControlResult } from '../control/control-types.js';
import type { KeyValue, StoreEvent } from '../control/store/types.js';
import type { WatchHandle } from '../control/store/watch.js';
import { assert } from '../util/assert.js';
import type { Rng } from '../util/rng.js';
import type { ControlCluster } from './control-cluster.js';
import { History } from './history.js';
import type { KvInput, KvOutput } from './linearizability-kv.js';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export interface ClientOptions {
  keys: readonly string[];
  /** Pause between a client's operations. */
  thinkMs: number;
  /** A client gives up waiting (aborts, records info) after this; longer than the core's request timeout. */
  giveUpMs: number;
  /** Members the clients may use; default all. */
  members?: readonly string[];
  /** Percent of operations that are reads / CAS (the rest are puts). */
  readPercent: number;
  casPercent: number;
}

export class ControlClients {
  readonly history = new History<KvInput, KvOutput>();
  private running = false;
  readonly counters = { ok: 0, info: 0, fail: 0 };
  private nextValue = 1;

  constructor(
    private readonly cluster: ControlCluster,
    private readonly rng: Rng,
    private readonly options: ClientOptions,
  ) {}

  start(clientCount: number): void {
    this.running = true;
    for (let i = 0; i < clientCount; i++) {
      const state = { name: `client-${i}`, reqs: 0 };
      this.cluster.after(this.rng.next() * this.options.thinkMs, () => this.step(state));
    }
  }

  stop(): void {
    this.running = false;
  }

  /** Operations still waiting for an answer. */
  get inFlight(): number {
    return this.history.all().filter((op) => op.status === 'pending').length;
  }

  private pickMember(): string | undefined {
    const names = (this.options.members ?? this.cluster.names()).filter((n) => this.cluster.isLive(n));
    return names.length === 0 ? undefined : names[this.rng.int(names.length)];
  }

  private step(state: { name: string; reqs: number }): void {
    if (!this.running) return;
    const member = this.pickMember();
    const again = (): void => {
      this.cluster.after(this.options.thinkMs * (0.5 + this.rng.next()), () => this.step(state));
    };
    if (member === undefined) return again();
    const key = this.options.keys[this.rng.int(this.options.keys.length)];
    const roll = this.rng.int(100);
    const input: KvInput =
      roll < this.options.readPercent
        ? { op: 'get', key }
        : roll < this.options.readPercent + this.options.casPercent
          ? { op: 'cas', key, expected: this.rng.int(3) === 0 ? null : `v${Math.max(1, this.nextValue - 1 - this.rng.int(3))}`, value: `v${this.nextValue++}` }
          : { op: 'put', key, value: `v${this.nextValue++}` };
    const now = this.cluster.nowMs;
    const opId = this.history.invoke(state.name, input, now);
    assert(opId >= 0, 'history full');
    const requestId = `${state.name}/${++state.reqs}`;
    let done = false;
    const giveUp = new AbortController();
    const finish = (r: ControlResult | undefined, atMs: number): void => {
      if (done) return;
      done = true;
      // Stop waiting in the shell too (its lane is released; the outcome stays unknown).
      giveUp.abort();
      const output = r?.ok ? outputOf(input, r.value) : undefined;
      if (output !== undefined) {
        this.history.ok(opId, output, atMs);
        this.counters.ok++;
      } else if (input.op === 'get') {
        this.history.fail(opId, atMs);
        this.counters.fail++;
      } else {
        this.history.info(opId, atMs);
        this.counters.info++;
      }
      again();
    };
    // The shell gives each write its dedup id (a lane of its own: one outstanding request per lane).
    const sent = this.cluster.request(
      member,
      requestId,
      (shell) => (input.op === 'get' ? shell.read({ kind: 'get', key }, true, giveUp.signal) : shell.write(commandOf(input), giveUp.signal)),
      finish,
    );
    if (!sent) return finish(undefined, now);
    this.cluster.after(this.options.giveUpMs, () => finish(undefined, this.cluster.nowMs));
  }
}

function commandOf(input: Exclude<KvInput, { op: 'get' }>): CommandBody {
  switch (input.op) {
    case 'put':
      return { type: 'put', key: input.key, value: utf8.encode(input.value) };
    case 'delete':
      return { type: 'delete', key: input.key };
    case 'cas':
      return {
        type: 'txn',
        compare:
          input.expected === null
            ? [{ key: input.key, target: 'version', op: '=', value: 0 }]
            : [{ key: input.key, target: 'value', op: '=', value: utf8.encode(input.expected) }],
        success: [{ type: 'put', key: input.key, value: utf8.encode(input.value) }],
        failure: [],
      };
  }
}

/** The checker's output from a core's answer; undefined if the answer is not a success of that op. */
function outputOf(input: KvInput, value: unknown): KvOutput | undefined {
  const v = value as { kv?: KeyValue; response?: { kind: string; succeeded?: boolean } };
  switch (input.op) {
    case 'get':
      return { op: 'get', value: v.kv === undefined ? null : fromUtf8.decode(v.kv.value) };
    case 'put':
      return v.response?.kind === 'put' ? { op: 'put' } : undefined;
    case 'delete':
      return v.response?.kind === 'delete' ? { op: 'delete' } : undefined;
    case 'cas':
      return v.response?.kind === 'txn' ? { op: 'cas', ok: v.response.succeeded === true } : undefined;
  }
}

/** A watch on one member that resumes after every close, recording what it saw. */
export class ResumingWatch {
  readonly events: StoreEvent[] = [];
  /** Revisions of the batches, in delivery order (one entry per revision). */
  readonly revisions: number[] = [];
  lastRevision: number;
  closes = 0;
  private handle: WatchHandle | undefined;
  private stopped = false;

  constructor(
    private readonly cluster: ControlCluster,
    private readonly member: string,
    private readonly prefix: string,
    fromRevision: number,
  ) {
    this.lastRevision = fromRevision - 1;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.handle?.cancel();
  }

  private open(): void {
    if (this.stopped) return;
    const core = this.cluster.core(this.member);
    // Resume once the member's store has caught up to where we are (a restored store may be behind).
    if (core === undefined || core.store.revision < this.lastRevision) {
      this.cluster.after(10, () => this.open());
      return;
    }
    this.handle = core.store.watch(this.prefix, this.lastRevision + 1, {
      send: (batch) => {
        for (const e of batch.events) {
          this.events.push(e);
          const rev = e.kv.modRevision;
          if (this.revisions[this.revisions.length - 1] !== rev) this.revisions.push(rev);
          this.lastRevision = Math.max(this.lastRevision, rev);
        }
        return true;
      },
      closed: (reason) => {
        this.closes++;
        this.lastRevision = Math.max(this.lastRevision, reason.lastRevision);
        if (reason.error === undefined) return;
        // The store is being replaced (snapshot install): reopen on the new one, after the swap.
        this.cluster.after(0, () => this.open());
      },
    });
  }
}
