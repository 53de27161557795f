import test from 'ava';
import { ErrorCode } from '../../../src/util/errors.js';
import { newControlCounters } from '../../../src/control/control-types.js';
import { decodeEnvelope, encodeEnvelope, entryTagBytesMax, formatTag, parseTag } from '../../../src/control/entry-envelope.js';
import { readContext, RequestTracker, tagOfReadContext, type RequestSender } from '../../../src/control/requests.js';

test('entry envelopes round-trip and reject bad bytes without throwing', (t) => {
  const tag = formatTag({ origin: 'm1', incarnation: 'abcd', requestId: 'req\u00001' });
  t.deepEqual(parseTag(tag), { origin: 'm1', incarnation: 'abcd', requestId: 'req\u00001' });
  const data = encodeEnvelope(tag, new Uint8Array([1, 2, 3]))!;
  const d = decodeEnvelope(data);
  t.true(d.ok);
  if (d.ok) {
    t.is(d.tag, tag);
    t.deepEqual([...d.command], [1, 2, 3]);
  }
  t.is(encodeEnvelope('x'.repeat(entryTagBytesMax + 1), new Uint8Array()), undefined);
  for (const bad of [new Uint8Array(), new Uint8Array([2, 0, 0]), new Uint8Array([1, 0xff, 0xff, 1]), new Uint8Array([1, 0, 2, 0xc3, 0x28])]) {
    t.false(decodeEnvelope(bad).ok);
  }
  t.is(tagOfReadContext(readContext(tag, 3)), tag);
});

function tracker(): { tr: RequestTracker; sent: string[]; sender: RequestSender } {
  const sent: string[] = [];
  const sender: RequestSender = {
    propose: () => sent.push('propose'),
    readIndex: () => sent.push('read'),
    proposeConfChange: () => sent.push('conf'),
  };
  return { tr: new RequestTracker(10, 1000, newControlCounters(), () => {}), sent, sender };
}

const base = (tag: string, atMs: number) => ({ requestId: tag, tag, deadlineMs: atMs + 3000, lastAttemptMs: atMs, retryDue: false, internal: false });

test('requests expire in deadline order with ERR_NO_QUORUM without a leader and ERR_TIMEOUT with one', (t) => {
  const { tr } = tracker();
  tr.add({ kind: 'write', data: new Uint8Array(), ...base('a', 0) });
  tr.add({ kind: 'write', data: new Uint8Array(), ...base('b', 100) });
  tr.expire(3000, '', 3000);
  tr.expire(3100, 'x', 3000);
  const results = tr.takeResults();
  t.deepEqual(
    results.map((r) => [r.requestId, r.ok ? 'ok' : r.error.code]),
    [
      ['a', ErrorCode.NoQuorum],
      ['b', ErrorCode.Timeout],
    ],
  );
  t.is(tr.size, 0);
});

test('dropped proposals are retried; refusals that cannot succeed are answered at once', (t) => {
  const { tr, sent, sender } = tracker();
  tr.add({ kind: 'write', data: new Uint8Array(), ...base('a', 0) });
  tr.add({ kind: 'remove-peer', node: 'z', ...base('b', 0) });
  tr.onDropped('a', ErrorCode.NotLeader);
  tr.onDropped('b', ErrorCode.ConfChangeInProgress);
  tr.retry(10, sender);
  t.deepEqual(sent, ['propose']);
  const results = tr.takeResults();
  t.is(results.length, 1);
  t.like(results[0], { requestId: 'b', ok: false });
  t.is(tr.size, 1);
});

test('a linearizable read is answered only once the store applied its read index', (t) => {
  const { tr } = tracker();
  tr.add({ kind: 'read', query: { kind: 'get', key: 'k' }, attempt: 0, readIndex: undefined, ...base('r', 0) });
  tr.onReadIndex(readContext('r', 0), 7);
  tr.answerReads(6, (id) => ({ requestId: id, ok: true, value: 'early' }));
  t.false(tr.hasResults);
  tr.answerReads(7, (id) => ({ requestId: id, ok: true, value: 'now' }));
  t.deepEqual(tr.takeResults(), [{ requestId: 'r', ok: true, value: 'now' }]);
});
