/**
 * The library face of the control plane, with in-process agents on loopback:
 * typed leader-changed / config-changed events, agent.config (get, put,
 * delete, txn, watch, lease) with AbortSignal, and a member outside the Raft
 * group (voter=false, past the spare learners) that forwards writes and
 * follows the config by watch.
 */
import { tempDataDirs } from '../support/temp-dirs.js';
import test from 'ava';
import { Agent } from '../../src/agent/agent.js';
import { ConfigClient } from '../../src/api/config-client.js';
import type { WatchEventView } from '../../src/api/config-types.js';
import { ErrorCode, isShoalError } from '../../src/util/errors.js';
import { waitUntil } from './wait.js';

test('six agents: events, agent.config on voters, learners and a follower, leases, abort', async (t) => {
  const dataDir = tempDataDirs(t);
  const agents: Agent[] = [];
  t.teardown(() => Promise.all(agents.map((a) => a.stop({ leave: false }))).then(() => undefined));
  const control = { learnerStableMs: 200 };
  const leaders = new Map<string, string>();
  const changed = new Map<string, WatchEventView[]>();
  const start = async (name: string, extra: object = {}): Promise<Agent> => {
    const a = await Agent.start({
      name,
      bind: '127.0.0.1:0',
      http: '127.0.0.1:0',
      preset: 'local',
      join: agents.length === 0 ? [] : [agents[0]!.addr],
      control: { ...control, ...extra },
      dataDir: dataDir(name),
    });
    a.on('leader-changed', (e) => leaders.set(name, e.leader));
    a.on('config-changed', (e) => changed.set(name, [...(changed.get(name) ?? []), ...e.changes]));
    agents.push(a);
    return a;
  };
  for (let i = 0; i < 5; i++) await start(`n${i}`);
  const follower = await start('f', { voter: false });

  t.true(
    await waitUntil(() => {
      const s = agents.slice(0, 5).map((a) => a.raftStatus()!);
      return s.every((x) => x.leader !== '' && x.leader === s[0]!.leader && x.voters.length === 3 && x.learners.length === 2);
    }, 30_000),
    'three voters and two learners, one leader',
  );
  const leader = agents[0]!.raftStatus()!.leader;
  t.true(await waitUntil(() => agents.slice(0, 5).every((a) => leaders.get(a.name) === leader), 5000), 'leader-changed reached every Raft member');
  t.false(agents[0]!.raftStatus()!.voters.includes('f'), 'voter=false is never a voter');

  // A write through the follower is forwarded; every member sees it as config-changed.
  const put = await follower.config.put('app/a', 'one');
  t.true(put.revision >= 1, 'a revision of the cluster (the control plane writes its own records too)');
  t.is((await agents[3]!.config.get('app/a'))?.value, 'one');
  t.is((await follower.config.get('app/a'))?.value, 'one', 'linearizable read forwarded');
  t.true(await waitUntil(() => agents.every((a) => changed.get(a.name)?.some((e) => e.kv.key === 'app/a')), 10_000), 'config-changed on all six');
  t.true(
    await waitUntil(async () => (await follower.config.get('app/a', { serializable: true }).catch(() => undefined))?.value === 'one', 10_000),
    'the follower copy serves serializable reads',
  );

  // Txn and watch from a learner.
  const learner = agents.find((a) => agents[0]!.raftStatus()!.learners.includes(a.name))!;
  const ac = new AbortController();
  const seen: string[] = [];
  const watching = (async () => {
    for await (const e of learner.config.watch('app/', { fromRevision: 1, signal: ac.signal })) {
      seen.push(`${e.type} ${e.kv.key}@${e.revision}`);
      if (seen.length === 3) ac.abort();
    }
  })();
  const txn = await agents[1]!.config.txn({
    compare: [{ key: 'app/b', target: 'createRevision', op: '=', value: 0 }],
    success: [{ put: { key: 'app/b', value: 'two' } }],
  });
  t.true(txn.succeeded);
  await follower.config.delete('app/a');
  await watching;
  t.deepEqual(seen.map((x) => x.replace(/@\d+$/, '')), ['put app/a', 'put app/b', 'delete app/a']);
  const revs = seen.map((x) => Number(x.slice(x.lastIndexOf('@') + 1)));
  t.true(revs[0] === put.revision && revs[0]! < revs[1]! && revs[1]! < revs[2]!, `in revision order from the put's: ${seen.join(', ')}`);

  // Leases: keys die with their lease.
  const lease = await learner.config.lease.grant(5000);
  await follower.config.put('svc/x', 'up', { lease: lease.id });
  t.deepEqual(await agents[2]!.config.lease.keepAlive(lease.id), { id: lease.id, ttlMs: 5000 });
  t.is((await agents[0]!.config.lease.revoke(lease.id)).deleted, 1);
  t.is(await agents[4]!.config.get('svc/x'), undefined);

  // A lease that is not kept alive expires on the leader's clock and takes its keys with it.
  const short = await agents[2]!.config.lease.grant(1000);
  await agents[2]!.config.put('svc/short', 'up', { lease: short.id });
  t.true(await waitUntil(async () => (await follower.config.get('svc/short')) === undefined, 8000), 'the key dies with its lease');
  const gone = await t.throwsAsync(agents[2]!.config.lease.keepAlive(short.id));
  t.true(isShoalError(gone, ErrorCode.NotFound));

  // transfer-leader asked of any member reaches the leader.
  const before = agents[0]!.raftStatus()!;
  const target = before.voters.find((v) => v !== before.leader)!;
  const asker = agents.find((a) => a.name !== before.leader && a.name !== target && before.voters.includes(a.name))!;
  t.deepEqual(await new ConfigClient(asker.httpAddress!).transferLeader(target), { leader: target });
  t.true(await waitUntil(() => agents.slice(0, 5).every((a) => a.raftStatus()!.leader === target), 5000), `leadership moved to ${target}`);

  // A graceful stop of the leader hands leadership over at once.
  const leaderAgent = agents.find((a) => a.name === agents[0]!.raftStatus()!.leader)!;
  const stoppedAt = Date.now();
  await leaderAgent.stop({ leave: true });
  const rest = agents.filter((a) => a !== leaderAgent && a.raftStatus()!.voters.length > 0);
  t.true(
    await waitUntil(() => rest.every((a) => a.raftStatus()!.leader !== '' && a.raftStatus()!.leader !== leaderAgent.name), 5000),
    'a new leader right after the graceful stop',
  );
  t.log(`leader ${leaderAgent.name} handed over within ${Date.now() - stoppedAt} ms`);
  t.is((await follower.config.put('after/stop', 'ok')).revision > 0, true);

  // AbortSignal.
  const aborted = await t.throwsAsync(rest[0]!.config.put('k', 'v', { signal: AbortSignal.abort() }));
  t.true(isShoalError(aborted, ErrorCode.Aborted));
});

test('an agent without a control plane refuses agent.config with ERR_NOT_RUNNING', async (t) => {
  const a = await Agent.start({ name: 'solo', bind: '127.0.0.1:0', preset: 'local' });
  t.teardown(() => a.stop({ leave: false }));
  const e = await t.throwsAsync(a.config.get('x'));
  t.true(isShoalError(e, ErrorCode.NotRunning));
  t.is(a.raftStatus(), undefined);
});
