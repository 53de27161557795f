/** validateRaftConfig: defaults and ERR_INVALID_CONFIG messages. */
import test from 'ava';
import { raftConfigDefaults, validateRaftConfig } from '../../../src/raft/config.js';
import { isShoalError } from '../../../src/util/errors.js';

test('defaults are filled in', (t) => {
  const c = validateRaftConfig({ id: 'a' });
  t.is(c.electionTicks, 10);
  t.is(c.heartbeatTicks, 1);
  t.true(c.preVote);
  t.true(c.checkQuorum);
  t.is(c.readOnlyOption, 'safe');
  t.deepEqual({ ...c, id: undefined }, { ...raftConfigDefaults, id: undefined });
});

const bad: [string, Parameters<typeof validateRaftConfig>[0], RegExp][] = [
  ['heartbeat >= election', { id: 'a', electionTicks: 5, heartbeatTicks: 5 }, /heartbeatTicks \(5\) must be less than electionTicks \(5\)/],
  ['lease reads without CheckQuorum', { id: 'a', readOnlyOption: 'lease-based', checkQuorum: false }, /lease-based requires checkQuorum/],
  ['zero message size', { id: 'a', maxSizePerMsgBytes: 0 }, /maxSizePerMsgBytes must be a positive integer, got 0/],
  ['zero inflight', { id: 'a', maxInflightMsgs: 0 }, /maxInflightMsgs must be a positive integer/],
  ['fractional ticks', { id: 'a', electionTicks: 2.5 }, /electionTicks must be a positive integer/],
  ['zero snapshot chunk', { id: 'a', snapshotChunkBytes: 0 }, /snapshotChunkBytes/],
  ['zero uncommitted', { id: 'a', maxUncommittedEntriesBytes: 0 }, /maxUncommittedEntriesBytes/],
  ['inflight bytes below one message', { id: 'a', maxSizePerMsgBytes: 1000, maxInflightBytes: 10 }, /maxInflightBytes \(10\) must be at least maxSizePerMsgBytes \(1000\)/],
  ['empty id', { id: '' }, /id must be a non-empty string/],
  ['unknown read option', { id: 'a', readOnlyOption: 'fast' as 'safe' }, /readOnlyOption must be/],
];

for (const [name, input, message] of bad) {
  test(`rejects ${name}`, (t) => {
    const err = t.throws(() => validateRaftConfig(input));
    t.true(isShoalError(err, 'ERR_INVALID_CONFIG'));
    t.regex(err!.message, message);
  });
}
