/**
 * Model-based test: the store against a deliberately naive model (a Map, a
 * full copy of it per revision, an event list), over random command
 * sequences. Every result, the live state, the state at every past revision
 * and every watch event must agree.
 */
import test from 'ava';
import fc from 'fast-check';
import type { Command, Compare, TxnOp } from '../../../src/control/store/commands.js';
import { compareKeys } from '../../../src/control/store/keys.js';
import type { KeyValue } from '../../../src/control/store/types.js';
import type { ErrorCode } from '../../../src/util/errors.js';
import { keySpace, steps } from './store-arbitraries.js';
import { Harness, RecordingSink, td } from './store-helpers.js';

interface MKv {
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

type Outcome = { ok: true } | { ok: false; code: ErrorCode };

class Model {
  kvs = new Map<string, MKv>();
  revision = 0;
  compacted = 0;
  states: Map<string, MKv>[] = [new Map()];
  events: string[] = [];
  leases = new Map<number, number>(); // id -> keepAlives

  apply(c: Command): Outcome {
    switch (c.type) {
      case 'put': {
        if (c.lease !== undefined && !this.leases.has(c.lease)) return { ok: false, code: 'ERR_NOT_FOUND' };
        if (c.prevRevision !== undefined && (this.kvs.get(c.key)?.modRevision ?? 0) !== c.prevRevision) {
          return { ok: false, code: 'ERR_CONFLICT' };
        }
        this.write((w) => w.put(c.key, td.decode(c.value), c.lease ?? 0));
        return { ok: true };
      }
      case 'delete':
        this.write((w) => w.del(c.key));
        return { ok: true };
      case 'deleteRange':
        this.write((w) => [...this.kvs.keys()].filter((k) => k.startsWith(c.prefix)).sort(compareKeys).forEach((k) => w.del(k)));
        return { ok: true };
      case 'txn': {
        const ok = c.compare.every((x) => this.holds(x));
        const ops: readonly TxnOp[] = ok ? c.success : c.failure;
        if (ops.some((op) => op.type === 'put' && op.lease !== undefined && !this.leases.has(op.lease))) return { ok: false, code: 'ERR_NOT_FOUND' };
        this.write((w) => {
          for (const op of ops) {
            if (op.type === 'put') w.put(op.key, td.decode(op.value), op.lease ?? 0);
            if (op.type === 'delete') w.del(op.key);
          }
        });
        return { ok: true };
      }
      case 'leaseGrant':
        if (this.leases.has(c.id)) return { ok: false, code: 'ERR_CONFLICT' };
        this.leases.set(c.id, 0);
        return { ok: true };
      case 'leaseKeepAlive':
        if (!this.leases.has(c.id)) return { ok: false, code: 'ERR_NOT_FOUND' };
        this.leases.set(c.id, (this.leases.get(c.id) ?? 0) + 1);
        return { ok: true };
      case 'leaseRevoke':
        if (!this.leases.has(c.id)) return { ok: false, code: 'ERR_NOT_FOUND' };
        this.dropLeases([c.id]);
        return { ok: true };
      case 'leaseExpire':
        this.dropLeases(c.ids.filter((id, i) => this.leases.get(id) === c.keepAlives[i]));
        return { ok: true };
      case 'compact':
        if (c.revision > this.revision) return { ok: false, code: 'ERR_INVALID_ARGUMENT' };
        if (c.revision <= this.compacted) return { ok: false, code: 'ERR_COMPACTED' };
        this.compacted = c.revision;
        return { ok: true };
      case 'setQuota':
        return { ok: true };
    }
  }

  private holds(c: Compare): boolean {
    const kv = this.kvs.get(c.key);
    let order: number;
    if (c.target === 'value') {
      if (kv === undefined) return false;
      const a = Buffer.from(kv.value);
      order = Buffer.compare(a, Buffer.from(c.value));
    } else {
      const actual = kv === undefined ? 0 : kv[c.target];
      order = Math.sign(actual - c.value);
    }
    return c.op === '=' ? order === 0 : c.op === '!=' ? order !== 0 : c.op === '<' ? order < 0 : order > 0;
  }

  private dropLeases(ids: number[]): void {
    this.write((w) => {
      for (const id of ids) {
        const keys = [...this.kvs.entries()].filter(([, v]) => v.lease === id).map(([k]) => k);
        keys.sort(compareKeys).forEach((k) => w.del(k));
        this.leases.delete(id);
      }
    });
  }

  private write(body: (w: { put(k: string, v: string, lease: number): void; del(k: string): void }) => void): void {
    const rev = this.revision + 1;
    let changed = false;
    body({
      put: (k, v, lease) => {
        const prev = this.kvs.get(k);
        this.kvs.set(k, { value: v, createRevision: prev?.createRevision ?? rev, modRevision: rev, version: (prev?.version ?? 0) + 1, lease });
        this.events.push(`put ${k}=${v}@${rev}`);
        changed = true;
      },
      del: (k) => {
        if (!this.kvs.delete(k)) return;
        this.events.push(`delete ${k}=@${rev}`);
        changed = true;
      },
    });
    if (changed) {
      this.revision = rev;
      this.states.push(new Map([...this.kvs].map(([k, v]) => [k, { ...v }])));
    }
  }
}

function view(kvs: readonly KeyValue[]): [string, MKv][] {
  return kvs.map((kv) => [
    kv.key,
    { value: td.decode(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease },
  ]);
}

function modelView(state: Map<string, MKv>, prefix = ''): [string, MKv][] {
  return [...state.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => compareKeys(a, b));
}

test('the store agrees with a naive model on results, state, past revisions and watches', (t) => {
  fc.assert(
    fc.property(steps(80), (all) => {
      const h = new Harness();
      const model = new Model();
      const everything = new RecordingSink();
      const prefixed = new RecordingSink();
      h.store.watch('', 1, everything);
      h.store.watch('/p/', 1, prefixed);
      let last: { command: Command; result: ReturnType<Harness['step']> } | undefined;
      for (const st of all) {
        const retry = st.retry && last !== undefined;
        const result = h.step(st.body, st.retry);
        if (retry && last !== undefined) {
          t.true(result.duplicate);
          t.deepEqual({ ...result, duplicate: false }, last.result);
        } else {
          const command = { ...st.body, req: { client: h.client, seq: h.seq } } as Command;
          const expected = model.apply(command);
          t.is(result.ok, expected.ok, JSON.stringify(st.body));
          if (!result.ok && !expected.ok) t.is(result.error.code, expected.code);
          last = { command, result };
        }
        t.is(result.revision, model.revision);
        t.deepEqual(view(h.store.range('').kvs), modelView(model.kvs));
        t.deepEqual([...model.leases.keys()].sort(), [1, 2, 3].filter((id) => h.store.lease(id) !== undefined));
      }
      t.is(h.store.compactedRevision, model.compacted);
      for (let r = 0; r <= model.revision; r++) {
        if (r < model.compacted) {
          t.throws(() => h.store.range('', { revision: r }), { code: 'ERR_COMPACTED' });
        } else {
          const all = h.store.range('', { revision: r });
          t.deepEqual(view(all.kvs), modelView(model.states[r]), `revision ${r}`);
          t.is(all.count, model.states[r].size, `count at revision ${r}`);
          const p = h.store.range('/p/', { revision: r });
          t.deepEqual(view(p.kvs), modelView(model.states[r], '/p/'), `revision ${r} /p/`);
          t.is(p.count, modelView(model.states[r], '/p/').length, `count of /p/ at revision ${r}`);
          // Pages of two through continuations: the same keys, counts that go down, the revision pinned.
          const paged: KeyValue[] = [];
          let page = h.store.range('/', { revision: r, limit: 2 });
          let expectedCount = modelView(model.states[r], '/').length;
          for (;;) {
            t.is(page.count, expectedCount);
            t.is(page.revision, r);
            paged.push(...page.kvs);
            expectedCount -= page.kvs.length;
            if (!page.more) break;
            page = h.store.range('/', { limit: 2, continuation: page.continuation });
          }
          t.deepEqual(view(paged), modelView(model.states[r], '/'), `pages at revision ${r}`);
          for (const key of keySpace) {
            const kv = h.store.get(key, { revision: r });
            t.deepEqual(kv === undefined ? undefined : view([kv])[0], model.states[r].has(key) ? [key, model.states[r].get(key)] : undefined);
          }
        }
      }
      t.deepEqual(everything.events(), model.events);
      t.deepEqual(
        prefixed.events(),
        model.events.filter((e) => e.split(' ')[1].startsWith('/p/')),
      );
      const from = Math.max(model.compacted, 1);
      const late = new RecordingSink();
      h.store.watch('', from, late);
      t.deepEqual(
        late.events(),
        model.events.filter((e) => Number(e.split('@')[1]) >= from),
      );
    }),
    { numRuns: 200 },
  );
});
