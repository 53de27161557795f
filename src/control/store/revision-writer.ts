/**
 * One revision being written: each put or delete changes the live keys and
 * lease attachments at once and records its event. A revision in which
 * nothing changed (a delete of a missing key) is not committed: the store's
 * revision moves only when something changed, as in etcd.
 */
import { assert } from '../../util/assert.js';
import type { KeyIndex } from './key-index.js';
import type { Lessor } from './leases.js';
import { noLease, optional, type KeyValue, type LeaseId, type RevisionRecord, type StoreEvent } from './types.js';

const emptyValue = new Uint8Array(0);

export class RevisionWriter {
  private readonly events: StoreEvent[] = [];
  private readonly touched = new Set<string>();

  constructor(
    readonly revision: number,
    private readonly keys: KeyIndex,
    private readonly lessor: Lessor,
  ) {}

  get changed(): boolean {
    return this.events.length > 0;
  }

  /** The caller checked the lease exists. */
  put(key: string, value: Uint8Array, lease: LeaseId): KeyValue | undefined {
    this.touch(key);
    const prev = this.keys.get(key);
    const kv: KeyValue = {
      key,
      // A private copy: the store keeps it for its history; the caller's buffer may be reused.
      value: value.slice(),
      createRevision: prev === undefined ? this.revision : prev.createRevision,
      modRevision: this.revision,
      version: prev === undefined ? 1 : prev.version + 1,
      lease,
    };
    if (prev !== undefined && prev.lease !== noLease && prev.lease !== lease) this.lessor.detach(prev.lease, key);
    if (lease !== noLease) this.lessor.attach(lease, key);
    this.keys.set(kv);
    this.events.push({ type: 'put', kv, ...optional('prevKv', prev) });
    return prev;
  }

  /** Returns the deleted key/value, or undefined if the key did not exist (nothing recorded). */
  delete(key: string): KeyValue | undefined {
    const prev = this.keys.get(key);
    if (prev === undefined) return undefined;
    this.touch(key);
    this.keys.delete(key);
    if (prev.lease !== noLease) this.lessor.detach(prev.lease, key);
    const tombstone: KeyValue = { key, value: emptyValue, createRevision: 0, modRevision: this.revision, version: 0, lease: noLease };
    this.events.push({ type: 'delete', kv: tombstone, prevKv: prev });
    return prev;
  }

  record(): RevisionRecord {
    assert(this.changed, 'revision writer: nothing to record');
    return { revision: this.revision, events: this.events };
  }

  private touch(key: string): void {
    // Validation refuses a txn writing a key twice; leases and ranges never list a key twice.
    assert(!this.touched.has(key), `key ${key} changed twice in revision ${this.revision}`);
    this.touched.add(key);
  }
}
