import test from 'ava';
import * as net from 'node:net';
import { Agent } from '../../../src/agent/agent.js';
import { ApiClient } from '../../../src/api/client.js';
import type { MemberView } from '../../../src/api/types.js';
import { ErrorCode, isShoalError } from '../../../src/util/errors.js';

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

const start = (name: string, extra: Parameters<typeof Agent.start>[0] = {}) =>
  Agent.start({ name, bind: '127.0.0.1:0', preset: 'local', ...extra });

test('three agents join, see each other alive with tags, and a graceful stop is seen as left', async (t) => {
  const a = await start('a', { tags: { role: 'seed' } });
  const agents = [a];
  t.teardown(() => Promise.all(agents.map((x) => x.stop({ leave: false }))));
  const joinsSeenByA: string[] = [];
  a.on('member-join', (m: MemberView) => joinsSeenByA.push(m.name));
  const b = await start('b', { join: [a.addr] });
  agents.push(b);
  const c = await start('c');
  agents.push(c);
  t.is(await c.join([b.addr]), 1, 'one seed answered');
  t.true(await waitUntil(() => agents.every((x) => x.numAlive() === 3), 10_000));
  t.deepEqual(joinsSeenByA.sort(), ['b', 'c']);
  const seenByC = c.members().find((m) => m.name === 'a');
  t.deepEqual(seenByC?.tags, { role: 'seed', 'shoal.id': a.nodeId });
  t.is(seenByC?.addr, a.addr);
  t.is(seenByC?.state, 'alive');

  const leftSeenByA: string[] = [];
  a.on('member-leave', (m) => leftSeenByA.push(m.name));
  await b.stop({ leave: true });
  t.true(await waitUntil(() => [a, c].every((x) => x.members().find((m) => m.name === 'b')?.state === 'left'), 10_000));
  t.deepEqual(leftSeenByA, ['b']);
  const err = t.throws(() => b.setTags({ x: 'y' }));
  t.true(isShoalError(err, ErrorCode.NotRunning));
});

test('join rejects ERR_JOIN_FAILED when no seed answers, and honours an AbortSignal', async (t) => {
  const a = await start('lonely', { joinTimeoutMs: 3_000 });
  t.teardown(() => a.stop({ leave: false }));
  // A port with nothing listening: the push-pull frame is refused at once.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const started = Date.now();
  const err = await t.throwsAsync(a.join([`127.0.0.1:${port}`]));
  t.true(isShoalError(err, ErrorCode.JoinFailed), String(err));
  t.true(Date.now() - started < 3_000, 'refused seeds fail fast, before the timeout');

  const ac = new AbortController();
  const b = await start('silent');
  t.teardown(() => b.stop({ leave: false }));
  ac.abort();
  const aborted = await t.throwsAsync(a.join([b.addr], { signal: ac.signal }));
  t.true(isShoalError(aborted, ErrorCode.Aborted));
  t.is(a.numAlive(), 1, 'nobody joined');
});

test('Agent.start rejects a bad config before binding anything', async (t) => {
  const err = await t.throwsAsync(Agent.start({ name: 'x', bind: 'nonsense' }));
  t.true(isShoalError(err, ErrorCode.InvalidConfig));
  t.regex(err!.message, /bind/);
});

test('the HTTP API serves members and a leave stops the agent', async (t) => {
  const a = await start('h1', { http: '127.0.0.1:0' });
  const b = await start('h2', { join: [a.addr] });
  t.teardown(() => Promise.all([a.stop({ leave: false }), b.stop({ leave: false })]));
  t.truthy(a.httpAddress);
  const client = new ApiClient(a.httpAddress!);
  t.true(await waitUntil(() => a.numAlive() === 2, 10_000));
  const list = await client.members();
  t.deepEqual(list.map((m) => [m.name, m.state]).sort(), [
    ['h1', 'alive'],
    ['h2', 'alive'],
  ]);
  const health = await client.health();
  t.is(health.membersAlive, 2);
  const stopped = new Promise<void>((r) => a.once('stopped', () => r()));
  await client.leave();
  await stopped;
  t.false(a.running);
  t.true(await waitUntil(() => b.members().find((m) => m.name === 'h1')?.state === 'left', 10_000));
});

test('with a dataDir, a restarted agent rejoins the members of its last run; after a leave it does not', async (t) => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { readSnapshot } = await import('../../../src/agent/snapshot.js');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shoal-agent-'));
  const b = await start('snap-b');
  t.teardown(async () => {
    await b.stop({ leave: false });
    await rm(dataDir, { recursive: true, force: true });
  });
  const a1 = await start('snap-a', { dataDir, join: [b.addr] });
  t.true(await waitUntil(() => a1.numAlive() === 2, 10_000));
  const port = a1.addr.split(':')[1];
  await a1.stop({ leave: false }); // like a crash: the snapshot still lists b
  t.deepEqual(await readSnapshot(dataDir, 'snap-a'), [b.addr]);
  t.deepEqual(await readSnapshot(dataDir, 'someone-else'), [], "another node's snapshot is ignored");

  const a2 = await start('snap-a', { dataDir, bind: `127.0.0.1:${port}` }); // no seeds given
  t.true(await waitUntil(() => a2.numAlive() === 2, 10_000), 'rejoined b from the snapshot');
  await a2.stop({ leave: true });
  t.deepEqual(await readSnapshot(dataDir, 'snap-a'), [], 'a graceful leave clears the rejoin list');
});
