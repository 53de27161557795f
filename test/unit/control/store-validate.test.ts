import test from 'ava';
import fc from 'fast-check';
import { decodeCommand, encodeCommand, type Command } from '../../../src/control/store/commands.js';
import { ConfigStore } from '../../../src/control/store/config-store.js';
import { storeLimits } from '../../../src/control/store/limits.js';
import { validateCommand, validateKey, validatePrefix, validateValue } from '../../../src/control/store/validate.js';
import { compareOf } from './store-arbitraries.js';
import { b } from './store-helpers.js';

const req = { client: 'c', seq: 1 };

test('invalid keys: empty, too long, NUL, control characters, lone surrogates', (t) => {
  t.is(validateKey('/ok/ä/😀'), undefined);
  t.is(validateKey('x'.repeat(storeLimits.keyBytesMax)), undefined);
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['x'.repeat(storeLimits.keyBytesMax + 1), /513 bytes, at most 512/],
    ['ä'.repeat(257), /514 bytes/], // 257 characters, but 514 UTF-8 bytes
    ['/a\u0000b', /NUL/],
    ['/a\nb', /U\+000A/],
    ['/a\u007fb', /U\+007F/],
    ['/a\u0085b', /U\+0085/],
    ['/a\ud800', /U\+D800/],
    ['/a\udc00b', /U\+DC00/],
  ];
  for (const [key, message] of cases) {
    const e = validateKey(key);
    t.is(e?.code, 'ERR_INVALID_ARGUMENT', JSON.stringify(key));
    t.regex(e?.message ?? '', message);
  }
  t.is(validatePrefix(''), undefined);
});

test('oversized values are refused with the limit named', (t) => {
  t.is(validateValue(new Uint8Array(storeLimits.valueBytesMax)), undefined);
  const e = validateValue(new Uint8Array(storeLimits.valueBytesMax + 1));
  t.is(e?.code, 'ERR_INVALID_ARGUMENT');
  t.is(e?.details?.limitBytes, 262144);
});

test('commands: txn op count, duplicate writes, request size, lease TTL, ids', (t) => {
  const get = { type: 'get' as const, key: '/k' };
  const ops = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: `/k${i}`, value: b('v') }));
  t.is(validateCommand({ type: 'txn', req, compare: [], success: ops(128), failure: [] }), undefined);
  t.is(validateCommand({ type: 'txn', req, compare: [], success: ops(129), failure: [] })?.code, 'ERR_BAD_REQUEST');
  const dup = validateCommand({ type: 'txn', req, compare: [], success: [...ops(1), get, ...ops(1)], failure: [] });
  t.is(dup?.code, 'ERR_BAD_REQUEST');
  t.regex(dup?.message ?? '', /twice/);
  const big = Array.from({ length: 7 }, (_, i) => ({ type: 'put' as const, key: `/k${i}`, value: new Uint8Array(250 * 1024) }));
  t.is(validateCommand({ type: 'txn', req, compare: [], success: big, failure: [] })?.code, 'ERR_BAD_REQUEST');
  t.is(validateCommand({ type: 'leaseGrant', req, id: 1, ttlMs: 999 })?.code, 'ERR_INVALID_ARGUMENT');
  t.is(validateCommand({ type: 'leaseGrant', req, id: 0, ttlMs: 5000 })?.code, 'ERR_INVALID_ARGUMENT');
  t.is(validateCommand({ type: 'deleteRange', req, prefix: '' })?.code, 'ERR_INVALID_ARGUMENT');
  t.is(validateCommand({ type: 'put', req: { client: 'c', seq: 0 }, key: '/k', value: b('') })?.code, 'ERR_INVALID_ARGUMENT');
  t.is(validateCommand({ type: 'leaseExpire', req, ids: [1, 2], keepAlives: [0], leaderTimeMs: 0 })?.code, 'ERR_BAD_REQUEST');
});

test('apply refuses an invalid command without changing state', (t) => {
  const store = new ConfigStore();
  const r = store.apply({ type: 'put', req, key: 'bad\u0000key', value: b('v') }, 1);
  t.is(!r.ok && r.error.code, 'ERR_INVALID_ARGUMENT');
  t.is(store.revision, 0);
  t.is(store.appliedIndex, 1);
});

const command: fc.Arbitrary<Command> = (() => {
  const key = fc.string({ minLength: 1, maxLength: 20 }).map((k) => '/' + k.replace(/[\u0000-\u001f\u007f-\u009f]/g, 'x'));
  const value = fc.uint8Array({ maxLength: 40 });
  const rq = fc.record({ client: fc.constantFrom('a', 'b'), seq: fc.integer({ min: 1, max: 100 }) });
  const op = fc.oneof(
    fc.record({ type: fc.constant('put' as const), key, value }),
    fc.record({ type: fc.constant('delete' as const), key }),
    fc.record({ type: fc.constant('get' as const), key }),
  );
  const cmp = compareOf(key, value, fc.nat());
  return fc.oneof(
    fc.record({ type: fc.constant('put' as const), req: rq, key, value }, { requiredKeys: ['type', 'req', 'key', 'value'] }),
    fc.record({ type: fc.constant('put' as const), req: rq, key, value, lease: fc.integer({ min: 1, max: 9 }), prevRevision: fc.nat() }),
    fc.record({ type: fc.constant('delete' as const), req: rq, key }),
    fc.record({ type: fc.constant('deleteRange' as const), req: rq, prefix: key }),
    fc.record({ type: fc.constant('txn' as const), req: rq, compare: fc.array(cmp, { maxLength: 3 }), success: fc.array(op, { maxLength: 3 }), failure: fc.array(op, { maxLength: 3 }) }),
    fc.record({ type: fc.constant('leaseGrant' as const), req: rq, id: fc.integer({ min: 1, max: 9 }), ttlMs: fc.integer({ min: 1000, max: 10000 }) }),
    fc.record({ type: fc.constant('leaseKeepAlive' as const), req: rq, id: fc.integer({ min: 1, max: 9 }) }),
    fc.record({ type: fc.constant('leaseRevoke' as const), req: rq, id: fc.integer({ min: 1, max: 9 }) }),
    fc.integer({ min: 0, max: 3 }).chain((n) =>
      fc.record({
        type: fc.constant('leaseExpire' as const),
        req: rq,
        ids: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: n, maxLength: n }),
        keepAlives: fc.array(fc.nat(5), { minLength: n, maxLength: n }),
        leaderTimeMs: fc.nat(),
      }),
    ),
    fc.record({ type: fc.constant('compact' as const), req: rq, revision: fc.nat(20) }),
  ) as fc.Arbitrary<Command>;
})();

test('encode then decode gives the same command', (t) => {
  fc.assert(
    fc.property(command, (c) => {
      const d = decodeCommand(encodeCommand(c));
      if (!d.ok) {
        // The only commands refused are those validation refuses (e.g. a txn writing a key twice).
        return validateCommand(c) !== undefined && d.error.code === validateCommand(c)?.code;
      }
      t.deepEqual(d.command, c);
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('decode of arbitrary or mutated bytes never throws and reports ERR_DECODE_FAILED or a validation code', (t) => {
  const allowed = new Set(['ERR_DECODE_FAILED', 'ERR_INVALID_ARGUMENT', 'ERR_BAD_REQUEST']);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const d = decodeCommand(bytes);
      return d.ok || allowed.has(d.error.code);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(command, fc.nat(), fc.integer({ min: 0, max: 255 }), (c, at, byte) => {
      const bytes = encodeCommand(c);
      bytes[at % bytes.length] = byte;
      const d = decodeCommand(bytes);
      return d.ok ? validateCommand(d.command) === undefined : allowed.has(d.error.code);
    }),
    { numRuns: 500 },
  );
  const tooBig = new Uint8Array(storeLimits.encodedCommandBytesMax + 1);
  const d = decodeCommand(tooBig);
  t.false(d.ok);
  t.regex(!d.ok ? d.error.message : '', /at most/);
  const structural = decodeCommand(new TextEncoder().encode('{"v":1,"type":"put","client":"c","seq":1,"key":5,"value":""}'));
  t.is(!structural.ok && structural.error.code, 'ERR_DECODE_FAILED');
});
