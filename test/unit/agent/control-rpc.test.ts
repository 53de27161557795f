/**
 * Member-to-member control requests over the cluster transport: forwarding
 * reaches a Raft member and comes back with its answer or its error; a
 * forwarded request is never forwarded again (two members pointing at each
 * other fail at once, not after a loop); a member never picks itself as its
 * upstream; malformed requests are refused and change nothing.
 */
import test from 'ava';
import { ClusterNetTransport } from '../../../src/cluster/net-transport.js';
import { StreamKind } from '../../../src/cluster/kinds.js';
import { ConfigFollower } from '../../../src/agent/config-follower.js';
import { ControlRpcClient, ForwardingControlApi } from '../../../src/agent/control-rpc-client.js';
import { encodeJson, serveControlRpc } from '../../../src/agent/control-rpc.js';
import type { ControlApi, RaftStatusView } from '../../../src/api/config-types.js';
import type { MemberInfo } from '../../../src/gossip/events.js';
import { MemberState } from '../../../src/gossip/messages.js';
import { TAG_CLUSTER, TAG_REVISION } from '../../../src/control/autopilot/tags.js';
import { ErrorCode, ShoalError, isShoalError } from '../../../src/util/errors.js';
import { fakeApi } from '../api/config-fake.js';

const requestTimeoutMs = 3_000;

async function member(name: string): Promise<ClusterNetTransport> {
  return ClusterNetTransport.listen({
    bind: { host: '127.0.0.1', port: 0 },
    identity: { clusterLabel: '', clusterId: '', name, nodeId: `${name}-node` },
    advertise: (port) => `127.0.0.1:${port}`,
  });
}

const localStatus = (name: string) => (): RaftStatusView => ({
  leader: '', term: 0, commitIndex: 0, appliedIndex: 0, voters: [], learners: [], name, role: 'none', clusterId: '', bootstrapped: false, revision: 0, compactedRevision: 0,
});

function forwarding(from: ClusterNetTransport, to: () => string, name: string): ForwardingControlApi {
  const rpc = new ControlRpcClient(from, to, requestTimeoutMs);
  const follower = new ConfigFollower(name, () => rpc, () => undefined);
  return new ForwardingControlApi(rpc, follower, localStatus(name));
}

function info(name: string, addr: string, tags: Record<string, string>): MemberInfo {
  return { name, addr, state: MemberState.Alive, incarnation: 1, tags } as MemberInfo;
}

test('a forwarded write reaches the Raft member and returns its answer; its errors keep their code', async (t) => {
  const a = await member('a');
  const b = await member('b');
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
  const { backend, api } = fakeApi();
  serveControlRpc(b, { name: 'b', local: () => api });
  serveControlRpc(a, { name: 'a', local: () => undefined });
  const viaA = forwarding(a, () => b.localAddr, 'a');
  const put = await viaA.put({ key: 'app/x', value: 'one' });
  t.is(put.revision, backend.local.revision, 'the revision the Raft member committed');
  t.is((await viaA.get('app/x')).kv?.value, 'one');
  t.deepEqual(backend.writes.map((w) => w.type), ['put']);
  const conflict = await t.throwsAsync(viaA.put({ key: 'app/x', value: 'two', prevRevision: 0 }));
  t.true(isShoalError(conflict, ErrorCode.Conflict), `a CAS conflict comes back as ERR_CONFLICT: ${String(conflict)}`);
  t.is((await viaA.range('app/')).kvs.length, 1);
  const txn = await viaA.txn({ compare: [{ key: 'app/x', target: 'value', op: '=', value: 'one' }], success: [{ put: { key: 'app/y', value: 'y' } }], failure: [] });
  t.true(txn.succeeded);
  const status = await viaA.raftStatus();
  t.is(status.via, backend.status().name, 'a member outside the Raft group reports the Raft view of the member it follows');
  t.is(status.mode, 'follower');
  t.is(status.name, 'a');
});

test('two members that each take the other for a Raft member: a forwarded request fails at once, never loops', async (t) => {
  const a = await member('a');
  const b = await member('b');
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
  // Neither is a voter or learner; each believes the other is.
  serveControlRpc(a, { name: 'a', local: () => undefined });
  serveControlRpc(b, { name: 'b', local: () => undefined });
  const viaA = forwarding(a, () => b.localAddr, 'a');
  const viaB = forwarding(b, () => a.localAddr, 'b');
  for (const [api, name] of [[viaA, 'a'], [viaB, 'b']] as const) {
    const started = performance.now();
    const e = await t.throwsAsync(api.put({ key: 'k', value: 'v' }));
    const tookMs = performance.now() - started;
    t.true(isShoalError(e, ErrorCode.Unavailable), `${name}: ${String(e)}`);
    t.is((e as ShoalError).details?.notRaftMember, true);
    t.regex((e as Error).message, /never forwarded again/);
    t.true(tookMs < requestTimeoutMs / 2, `${name} answered in ${tookMs.toFixed(0)} ms, not at the timeout`);
  }
  t.is(a.stats.requestsServed + b.stats.requestsServed, 0, 'nothing was served');
});

test('a member never follows or forwards to itself: with only itself in view it fails at once', async (t) => {
  const a = await member('a');
  t.teardown(() => a.close());
  const rpc = new ControlRpcClient(a, () => follower.upstreamAddr(), requestTimeoutMs);
  const follower = new ConfigFollower('a', () => rpc, () => undefined);
  const api = new ForwardingControlApi(rpc, follower, localStatus('a'));
  follower.onMembership([info('a', a.localAddr, { [TAG_REVISION]: '9', [TAG_CLUSTER]: 'c1' })]);
  const started = performance.now();
  const e = await t.throwsAsync(api.put({ key: 'k', value: 'v' }));
  t.true(isShoalError(e, ErrorCode.Unavailable), String(e));
  t.true(performance.now() - started < 100, 'refused before anything was sent');
  t.is(a.stats.requestsSent, 0);
  // With another Raft member in view, the leader (shoal.rev) is preferred over any member of the cluster.
  follower.onMembership([
    info('a', a.localAddr, { [TAG_REVISION]: '9' }),
    info('b', '127.0.0.1:9', { [TAG_CLUSTER]: 'c1' }),
    info('c', '127.0.0.1:10', { [TAG_CLUSTER]: 'c1', [TAG_REVISION]: '12' }),
  ]);
  t.is(follower.upstreamAddr(), '127.0.0.1:10');
});

test('malformed control requests are refused with a clear code and change nothing', async (t) => {
  const a = await member('a');
  const b = await member('b');
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
  const { backend, api } = fakeApi();
  serveControlRpc(b, { name: 'b', local: () => api as ControlApi });
  const ask = (body: unknown) => a.request(b.localAddr, StreamKind.Control, typeof body === 'string' ? Buffer.from(body) : encodeJson(body), { timeoutMs: requestTimeoutMs });
  const cases: [unknown, ErrorCode][] = [
    ['{"op":', ErrorCode.DecodeFailed],
    [{ op: 'format-disk' }, ErrorCode.BadRequest],
    [{ op: 'put', args: { request: { key: 'k' } } }, ErrorCode.BadRequest],
    [{ op: 'put', args: { request: { key: '', value: 'v' } } }, ErrorCode.InvalidArgument],
    [{ op: 'leaseRevoke', args: { id: -1 } }, ErrorCode.BadRequest],
    [{ op: 'put', args: { request: { key: 'k', value: 'v', evil: 1 } } }, ErrorCode.BadRequest],
    [[1, 2], ErrorCode.BadRequest],
  ];
  for (const [body, code] of cases) {
    const e = await t.throwsAsync(ask(body));
    t.true(isShoalError(e), `${JSON.stringify(body)}: ${String(e)}`);
    t.is((e as ShoalError).code, code, `${JSON.stringify(body)}: ${(e as Error).message}`);
  }
  t.deepEqual(backend.writes, [], 'no write reached the store');
});
