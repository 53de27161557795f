/** Shared helpers of the config store tests. */
import type { Command } from '../../../src/control/store/commands.js';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import type { ApplyResult, KeyValue, StoreResponse } from '../../../src/control/store/types.js';
import type { WatchBatch, WatchClosed, WatchSink } from '../../../src/control/store/watch.js';

export const te = new TextEncoder();
export const td = new TextDecoder();
export const b = (s: string): Uint8Array => te.encode(s);
export const s = (kv: KeyValue | undefined): string | undefined => (kv === undefined ? undefined : td.decode(kv.value));

type Body<C> = C extends Command ? Omit<C, 'req'> : never;
export type CommandBody = Body<Command>;

/** A store plus a client that numbers its requests and a Raft index counter. */
export class Harness {
  store: ConfigStore;
  index = 0;
  seq = 0;
  constructor(
    store = new ConfigStore(),
    readonly client = 'test-client',
  ) {
    this.store = store;
  }

  cmd(body: CommandBody): Command {
    return { ...body, req: { client: this.client, seq: ++this.seq } } as Command;
  }

  apply(body: CommandBody): ApplyResult {
    return this.store.apply(this.cmd(body), ++this.index);
  }

  /** Apply and expect success; returns the response. */
  ok<K extends StoreResponse['kind']>(body: CommandBody & { type: K }): Extract<StoreResponse, { kind: K }> & { revision: number } {
    const r = this.apply(body);
    if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.message}`);
    return { ...(r.response as Extract<StoreResponse, { kind: K }>), revision: r.revision };
  }

  /** A new command, or a retry of the last one under the same request id. */
  step(body: CommandBody, retry: boolean): ApplyResult {
    const command = retry && this.last !== undefined ? this.last : this.cmd(body);
    this.last = command;
    this.log.push(command);
    return this.store.apply(command, ++this.index);
  }

  private last: Command | undefined;
  /** Every command given to step(), in order: the Raft log. */
  readonly log: Command[] = [];

  put(key: string, value: string, extra: { lease?: number; prevRevision?: number } = {}): ApplyResult {
    return this.apply({ type: 'put', key, value: b(value), ...extra });
  }
}

/** A sink that records everything; `accept` decides what send() returns. */
export class RecordingSink implements WatchSink {
  batches: WatchBatch[] = [];
  closedWith: WatchClosed | undefined;
  accept: () => boolean = () => true;
  send(batch: WatchBatch): boolean {
    this.batches.push(batch);
    return this.accept();
  }
  closed(reason: WatchClosed): void {
    if (this.closedWith !== undefined) throw new Error('closed twice');
    this.closedWith = reason;
  }
  /** Every event as "type key=value@revision". */
  events(): string[] {
    return this.batches.flatMap((bt) => bt.events.map((e) => `${e.type} ${e.kv.key}=${td.decode(e.kv.value)}@${e.kv.modRevision}`));
  }
  revisions(): number[] {
    return this.batches.flatMap((bt) => bt.events.map((e) => e.kv.modRevision));
  }
}
