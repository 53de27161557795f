import test from 'ava';
import type { Compare, CompareOp } from '../../../src/control/store/commands.js';
import { b, Harness, s } from './store-helpers.js';

/** /k exists with value "m", createRevision 1, modRevision 3, version 2; /missing does not. */
function setup(): Harness {
  const h = new Harness();
  h.put('/k', 'a'); // 1
  h.put('/x', 'x'); // 2
  h.put('/k', 'm'); // 3
  return h;
}

function holds(h: Harness, cmp: Compare): boolean {
  const r = h.ok({ type: 'txn', compare: [cmp], success: [], failure: [] });
  return r.succeeded;
}

const ops: CompareOp[] = ['=', '!=', '<', '>'];

test('compare on every numeric target and op, against an existing key', (t) => {
  const h = setup();
  const actual = { version: 2, createRevision: 1, modRevision: 3 } as const;
  for (const target of ['version', 'createRevision', 'modRevision'] as const) {
    for (const op of ops) {
      for (const delta of [-1, 0, 1]) {
        const value = actual[target] + delta;
        const expected = op === '=' ? delta === 0 : op === '!=' ? delta !== 0 : op === '<' ? actual[target] < value : actual[target] > value;
        t.is(holds(h, { key: '/k', target, op, value }), expected, `${target} ${op} ${value}`);
      }
    }
  }
});

test('compare on value: byte order, every op', (t) => {
  const h = setup();
  const cases: [CompareOp, string, boolean][] = [
    ['=', 'm', true],
    ['=', 'n', false],
    ['!=', 'n', true],
    ['!=', 'm', false],
    ['<', 'n', true],
    ['<', 'm', false],
    ['<', 'mm', true], // a prefix sorts first
    ['>', 'l', true],
    ['>', 'z', false],
    ['>', '', true],
  ];
  for (const [op, value, expected] of cases) {
    t.is(holds(h, { key: '/k', target: 'value', op, value: b(value) }), expected, `value ${op} "${value}"`);
  }
});

test('compare on a missing key: revisions and version are 0, every value compare fails', (t) => {
  const h = setup();
  for (const target of ['version', 'createRevision', 'modRevision'] as const) {
    t.true(holds(h, { key: '/missing', target, op: '=', value: 0 }), `${target} = 0`);
    t.false(holds(h, { key: '/missing', target, op: '>', value: 0 }), `${target} > 0`);
    t.true(holds(h, { key: '/missing', target, op: '<', value: 1 }), `${target} < 1`);
    t.true(holds(h, { key: '/missing', target, op: '!=', value: 5 }), `${target} != 5`);
  }
  // etcd: an absent value is not comparable, so '=' and even '!=' are false.
  for (const op of ops) {
    t.false(holds(h, { key: '/missing', target: 'value', op, value: b('') }), `value ${op} ""`);
    t.false(holds(h, { key: '/missing', target: 'value', op, value: b('z') }), `value ${op} "z"`);
  }
});

test('a txn is one revision, runs the chosen branch, and gets see earlier writes', (t) => {
  const h = setup();
  const r = h.ok({
    type: 'txn',
    compare: [
      { key: '/k', target: 'value', op: '=', value: b('m') },
      { key: '/new', target: 'version', op: '=', value: 0 },
    ],
    success: [
      { type: 'put', key: '/new', value: b('1') },
      { type: 'get', key: '/new' },
      { type: 'delete', key: '/x' },
      { type: 'put', key: '/k', value: b('n') },
    ],
    failure: [{ type: 'put', key: '/failed', value: b('1') }],
  });
  t.true(r.succeeded);
  t.is(r.revision, 4);
  t.is(h.store.revision, 4);
  t.is(r.results[1].kind === 'get' ? s(r.results[1].kv) : 'x', '1');
  t.is(r.results[2].kind === 'delete' ? r.results[2].deleted : -1, 1);
  t.is(r.results[3].kind === 'put' ? s(r.results[3].prevKv) : 'x', 'm');
  for (const key of ['/new', '/k']) t.is(h.store.get(key)?.modRevision, 4);
  t.is(h.store.get('/failed'), undefined);

  const f = h.ok({
    type: 'txn',
    compare: [{ key: '/k', target: 'modRevision', op: '<', value: 4 }],
    success: [{ type: 'put', key: '/success', value: b('1') }],
    failure: [{ type: 'put', key: '/failed', value: b('1') }],
  });
  t.false(f.succeeded);
  t.is(f.revision, 5);
  t.is(s(h.store.get('/failed')), '1');
  t.is(h.store.get('/success'), undefined);
});

test('a txn whose branch only reads takes no revision', (t) => {
  const h = setup();
  const r = h.ok({ type: 'txn', compare: [], success: [{ type: 'get', key: '/k' }], failure: [] });
  t.is(r.revision, 3);
  t.is(r.results[0].kind === 'get' ? s(r.results[0].kv) : undefined, 'm');
});

test('a txn with a put on a missing lease changes nothing', (t) => {
  const h = setup();
  const r = h.apply({
    type: 'txn',
    compare: [],
    success: [
      { type: 'put', key: '/a', value: b('1') },
      { type: 'put', key: '/b', value: b('1'), lease: 99 },
    ],
    failure: [],
  });
  t.false(r.ok);
  t.is(!r.ok && r.error.code, 'ERR_NOT_FOUND');
  t.is(h.store.get('/a'), undefined);
  t.is(h.store.revision, 3);
});
