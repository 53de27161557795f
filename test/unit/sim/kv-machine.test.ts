import test from 'ava';
import fc from 'fast-check';
import { KvMachine, decodeKvCommand, encodeKvCommand, kvLimits, type KvCommand } from '../../../src/sim/kv-machine.js';
import { ErrorCode, isShoalError } from '../../../src/util/errors.js';

const id = (clientId: string, seq: number) => ({ clientId, seq });
const enc = (cmd: KvCommand) => encodeKvCommand(cmd);

test('put, get, delete and cas do what they say', (t) => {
  const m = new KvMachine();
  t.deepEqual(m.apply(enc({ type: 'get', id: id('a', 1), key: 'x' }))?.result, { kind: 'get', value: null });
  t.deepEqual(m.apply(enc({ type: 'put', id: id('a', 2), key: 'x', value: '1' }))?.result, { kind: 'put' });
  t.deepEqual(m.apply(enc({ type: 'cas', id: id('a', 3), key: 'x', expected: '0', value: '2' }))?.result, { kind: 'cas', ok: false, current: '1' });
  t.deepEqual(m.apply(enc({ type: 'cas', id: id('a', 4), key: 'x', expected: '1', value: '2' }))?.result, { kind: 'cas', ok: true, current: '1' });
  t.is(m.get('x'), '2');
  t.deepEqual(m.apply(enc({ type: 'delete', id: id('a', 5), key: 'x' }))?.result, { kind: 'delete', existed: true });
  t.deepEqual(m.apply(enc({ type: 'cas', id: id('a', 6), key: 'x', expected: null, value: 'new' }))?.result, { kind: 'cas', ok: true, current: null });
  t.is(m.get('x'), 'new');
});

test('a retried request is applied once and answered with the first result', (t) => {
  const m = new KvMachine();
  m.apply(enc({ type: 'put', id: id('a', 1), key: 'x', value: '0' }));
  const cas = enc({ type: 'cas', id: id('b', 1), key: 'x', expected: '0', value: 'b' });
  const first = m.apply(cas);
  m.apply(enc({ type: 'put', id: id('a', 2), key: 'x', value: '0' })); // x back to 0
  const retry = m.apply(cas);
  t.deepEqual(first, { id: id('b', 1), result: { kind: 'cas', ok: true, current: '0' }, duplicate: false });
  t.deepEqual(retry, { id: id('b', 1), result: { kind: 'cas', ok: true, current: '0' }, duplicate: true });
  t.is(m.get('x'), '0', 'the retry did not swap again');
  // An older request of a client that moved on is not applied either.
  m.apply(enc({ type: 'put', id: id('b', 2), key: 'y', value: '1' }));
  const old = m.apply(enc({ type: 'put', id: id('b', 1), key: 'y', value: 'old' }));
  t.deepEqual(old?.result, { kind: 'stale' });
  t.is(m.get('y'), '1');
});

test('the session table is bounded; an evicted client is told, not double-applied', (t) => {
  const m = new KvMachine({ maxSessions: 2 });
  m.apply(enc({ type: 'put', id: id('a', 1), key: 'n', value: 'a1' }));
  m.apply(enc({ type: 'put', id: id('b', 1), key: 'n', value: 'b1' }));
  m.apply(enc({ type: 'put', id: id('a', 2), key: 'n', value: 'a2' })); // a is now most recent
  m.apply(enc({ type: 'put', id: id('c', 1), key: 'n', value: 'c1' })); // evicts b
  t.is(m.sessionCount, 2);
  t.is(m.evictedSessions, 1);
  const retry = m.apply(enc({ type: 'put', id: id('b', 2), key: 'n', value: 'b2' }));
  t.deepEqual(retry?.result, { kind: 'session-expired' });
  t.is(m.get('n'), 'c1');
  t.deepEqual(m.apply(enc({ type: 'put', id: id('a', 2), key: 'n', value: 'a2' }))?.duplicate, true, 'a kept its session');
});

test('snapshot and restore carry data and sessions', (t) => {
  const m = new KvMachine();
  m.apply(enc({ type: 'put', id: id('a', 1), key: 'x', value: 'ü 1' }));
  m.apply(enc({ type: 'cas', id: id('b', 1), key: 'x', expected: 'ü 1', value: '2' }));
  const copy = new KvMachine();
  copy.restore(m.snapshot());
  t.deepEqual(copy.entries(), m.entries());
  const retry = copy.apply(enc({ type: 'cas', id: id('b', 1), key: 'x', expected: 'ü 1', value: '2' }));
  t.deepEqual(retry, { id: id('b', 1), result: { kind: 'cas', ok: true, current: 'ü 1' }, duplicate: true });
  t.deepEqual(copy.snapshot(), m.snapshot());
});

test('restore refuses corrupt bytes and keeps the old state', (t) => {
  const m = new KvMachine();
  m.apply(enc({ type: 'put', id: id('a', 1), key: 'x', value: '1' }));
  const snap = m.snapshot();
  for (const bad of [snap.subarray(0, snap.length - 1), Uint8Array.of(...snap, 0), Uint8Array.of(9, ...snap.subarray(1))]) {
    const e = t.throws(() => m.restore(bad));
    t.true(isShoalError(e, ErrorCode.CorruptSnapshot));
  }
  const huge = Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff);
  t.true(isShoalError(t.throws(() => m.restore(huge)), ErrorCode.CorruptSnapshot));
  t.is(m.get('x'), '1');
});

test('no-op and undecodable entries are skipped and counted, never thrown', (t) => {
  const m = new KvMachine();
  t.is(m.apply(new Uint8Array(0)), null);
  t.is(m.apply(Uint8Array.of(1, 99, 0, 0)), null);
  t.is(m.invalidCommands, 1);
});

test('encode/decode round-trips every command', (t) => {
  const arbId = fc.record({ clientId: fc.string({ maxLength: 20 }), seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) });
  const arbCmd: fc.Arbitrary<KvCommand> = fc.oneof(
    fc.record({ type: fc.constant('put' as const), id: arbId, key: fc.string(), value: fc.string() }),
    fc.record({ type: fc.constant('get' as const), id: arbId, key: fc.string() }),
    fc.record({ type: fc.constant('delete' as const), id: arbId, key: fc.string() }),
    fc.record({ type: fc.constant('cas' as const), id: arbId, key: fc.string(), expected: fc.option(fc.string(), { nil: null }), value: fc.string() }),
  );
  fc.assert(fc.property(arbCmd, (cmd) => {
    t.deepEqual(decodeKvCommand(encodeKvCommand(cmd)), cmd);
  }));
  t.pass();
});

test('decode is bounded and typed: truncation, garbage, oversize, trailing bytes', (t) => {
  const good = encodeKvCommand({ type: 'put', id: id('a', 1), key: 'k', value: 'v' });
  for (let n = 0; n < good.length; n++) {
    t.true(isShoalError(t.throws(() => decodeKvCommand(good.subarray(0, n))), ErrorCode.DecodeFailed), `prefix ${n}`);
  }
  t.true(isShoalError(t.throws(() => decodeKvCommand(Uint8Array.of(...good, 0))), ErrorCode.DecodeFailed));
  // A key length beyond the limit is refused before reading it.
  const bigKey = Uint8Array.of(1, 1, 0, 0, 0, 1, 0x61, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0);
  t.true(isShoalError(t.throws(() => decodeKvCommand(bigKey)), ErrorCode.DecodeFailed));
  t.true(isShoalError(t.throws(() => encodeKvCommand({ type: 'get', id: id('a', 1), key: 'k'.repeat(kvLimits.maxKeyBytes + 1) })), ErrorCode.InvalidArgument));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    try {
      decodeKvCommand(bytes);
    } catch (e) {
      return isShoalError(e, ErrorCode.DecodeFailed);
    }
    return true;
  }));
});
