import test from 'ava';
import { LeaderWaitQueue } from '../../../src/agent/raft-leader-wait.js';
import { PendingTable } from '../../../src/agent/raft-pending.js';
import { ErrorCode, ShoalError, isShoalError } from '../../../src/util/errors.js';

test('pending table: bounded, resolves by key, expires in deadline order with ERR_TIMEOUT', async (t) => {
  const table = new PendingTable<number>('proposal', 2, 100);
  const a = table.add('a', 0);
  const dup = await t.throwsAsync(table.add('a', 10));
  t.true(isShoalError(dup, ErrorCode.InvalidArgument), 'a key cannot wait twice');
  const b = table.add('b', 50);
  const full = await t.throwsAsync(table.add('c', 60));
  t.true(isShoalError(full, ErrorCode.Unavailable));
  t.is(table.refusedFull, 1);
  table.expire(120); // a is due (deadline 100), b is not (150)
  const timedOut = await t.throwsAsync(a);
  t.true(isShoalError(timedOut, ErrorCode.Timeout));
  t.is((timedOut as ShoalError).details?.outcome, 'unknown');
  t.true(table.resolve('b', 7));
  t.is(await b, 7);
  t.false(table.resolve('b', 8), 'resolved once');
  t.is(table.size, 0);
});

test('pending table: an abort frees the slot; rejectAll fails everything', async (t) => {
  const table = new PendingTable<number>('read', 4, 1000);
  const ctl = new AbortController();
  const p = table.add('x', 0, ctl.signal);
  ctl.abort();
  t.true(isShoalError(await t.throwsAsync(p), ErrorCode.Aborted));
  t.is(table.size, 0);
  const q = table.add('y', 0);
  table.rejectAll(new ShoalError(ErrorCode.NotRunning, 'stopping'));
  t.true(isShoalError(await t.throwsAsync(q), ErrorCode.NotRunning));
});

test('leader wait queue: flushes in order, expires only overdue requests, bounded', (t) => {
  const q = new LeaderWaitQueue(100, 3);
  const ran: string[] = [];
  t.true(q.add('a', 0, () => ran.push('a')));
  t.true(q.add('b', 50, () => ran.push('b')));
  t.true(q.add('c', 60, () => ran.push('c')));
  t.false(q.add('d', 60, () => ran.push('d')), 'full');
  const expired: string[] = [];
  q.expire(120, (k) => expired.push(k));
  t.deepEqual(expired, ['a']);
  q.flush();
  t.deepEqual(ran, ['b', 'c']);
  t.is(q.size, 0);
});
