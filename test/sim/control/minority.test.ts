import test, { type ExecutionContext } from 'ava';
import { ErrorCode } from '../../../src/util/errors.js';
import { makeSimTest } from '../../../src/sim/seed.js';
import { fastControl, formed, names, newCluster } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test, { serial: true });
const utf8 = new TextEncoder();
const timeoutMs = fastControl.requestTimeoutMs!;

interface Outcome {
  member: string;
  kind: 'write' | 'read';
  key: string;
  sentMs: number;
  answeredMs?: number;
  ok?: boolean;
  code?: string;
}

simTest('requests to a minority fail within the request timeout; nothing written there is reported ok or committed', [1, 2, 3], async (t, seed) => {
  const members = names('m', 5);
  const c = newCluster(seed, members);
  c.startAll(members, { spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3 && c.configuration()!.learners.length === 2, 30_000, 50));
  await c.runFor(1000);
  const conf = c.configuration()!;
  const oldLeader = c.leader()!;
  const minority = [oldLeader, conf.learners[0]];
  const majority = members.filter((m) => !minority.includes(m));
  c.partition(minority, majority);
  const outcomes: Outcome[] = [];
  let n = 0;
  const send = (member: string, kind: 'write' | 'read'): void => {
    const id = `r${++n}`;
    const o: Outcome = { member, kind, key: `minority/${id}`, sentMs: c.nowMs };
    outcomes.push(o);
    c.request(
      member,
      id,
      (shell) => (kind === 'write' ? shell.write({ type: 'put', key: o.key, value: utf8.encode('x') }) : shell.read({ kind: 'get', key: 'anything' }, true)),
      (r, atMs) => {
        o.answeredMs = atMs;
        o.ok = r.ok;
        if (!r.ok) o.code = r.error.code;
      },
    );
  };
  // Requests to both minority members, right after the cut and while the old leader still believes it leads.
  for (let i = 0; i < 20; i++) {
    c.after(i * 150, () => {
      for (const m of minority) send(m, i % 3 === 0 ? 'read' : 'write');
    });
  }
  await c.runFor(20 * 150 + timeoutMs + 500);
  t.true(c.leader() !== undefined && majority.includes(c.leader()!), 'the majority elected a leader');
  for (const o of outcomes) {
    t.not(o.answeredMs, undefined, `${o.kind} to ${o.member} answered`);
    t.false(o.ok, `${o.kind} to ${o.member} at ${o.sentMs} did not succeed`);
    t.true(o.code === ErrorCode.NoQuorum || o.code === ErrorCode.Timeout, `${o.kind} failed with ${o.code}`);
    t.true(o.answeredMs! - o.sentMs <= timeoutMs + fastControl.tickMs!, `answered after ${o.answeredMs! - o.sentMs} ms`);
  }
  // The majority still serves writes.
  let majorityOk = false;
  c.request(majority[0], 'maj', (shell) => shell.write({ type: 'put', key: 'majority/1', value: utf8.encode('y') }), (r) => {
    majorityOk = r.ok;
  });
  t.true(await c.runUntil(() => majorityOk, 5000, 5), 'a write to the majority succeeds');
  c.heal();
  // Members removed while cut off (a learner gossip saw dead) are added back as learners and catch up.
  const caughtUp = (): boolean => {
    const l = c.leader();
    const applied = l === undefined ? -1 : c.status(l)!.appliedIndex;
    return members.every((m) => c.status(m)!.leader === l && c.status(m)!.appliedIndex === applied);
  };
  t.true(await c.runUntil(caughtUp, 30_000, 50), 'every member follows the leader again');
  for (const m of members) {
    const store = c.core(m)!.store;
    t.is(store.range('minority/').count, 0, `${m}: nothing written on the minority side was committed`);
    t.not(store.get('majority/1'), undefined, `${m} has the majority's write`);
  }
});
