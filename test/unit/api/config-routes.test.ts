import test from 'ava';
import { ConfigClient } from '../../../src/api/config-client.js';
import { ErrorCode, ShoalError, isShoalError } from '../../../src/util/errors.js';
import { startFakeServer } from './config-fake.js';

async function start(t: { teardown(fn: () => Promise<void>): void }) {
  const { backend, server } = await startFakeServer(t);
  return { backend, base: `http://${server.address}`, client: new ConfigClient(server.address) };
}

const json = { 'content-type': 'application/json' };

type ErrorJson = { error: { code: string; message: string; details?: Record<string, unknown> } };

async function call(base: string, method: string, path: string, body?: string | object) {
  const headers: Record<string, string> = method === 'GET' ? {} : { 'content-type': 'application/json' };
  const res = await fetch(base + path, { method, headers, body: typeof body === 'object' ? JSON.stringify(body) : body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & ErrorJson, headers: res.headers };
}

test('PUT then GET answers the key with its revisions; a missing key is 404 ERR_NOT_FOUND', async (t) => {
  const { base } = await start(t);
  const put1 = await call(base, 'PUT', '/v1/config/app/db%2Furl', { value: 'postgres://x' });
  t.is(put1.status, 200);
  t.deepEqual(put1.json, { revision: 1 });
  const put2 = await call(base, 'PUT', '/v1/config/app/db%2Furl', { value: 'postgres://y' });
  t.is(put2.json.revision, 2);
  const got = await call(base, 'GET', '/v1/config/app/db/url');
  t.is(got.status, 200);
  t.deepEqual(got.json, { key: 'app/db/url', value: 'postgres://y', createRevision: 1, modRevision: 2, version: 2 });
  const local = await call(base, 'GET', '/v1/config/app/db/url?serializable=true');
  t.is(local.json.value, 'postgres://y');
  const old = await call(base, 'GET', '/v1/config/app/db/url?revision=1');
  t.is(old.json.value, 'postgres://x');
  const missing = await call(base, 'GET', '/v1/config/nope');
  t.is(missing.status, 404);
  t.is(missing.json.error.code, ErrorCode.NotFound);
  const del = await call(base, 'DELETE', '/v1/config/app/db/url');
  t.is(del.json.deleted, 1);
  t.is(del.json.revision, 3);
  t.is((await call(base, 'GET', '/v1/config/app/db/url')).status, 404);
});

test('prevRevision is a compare-and-swap: a stale one is 409 ERR_CONFLICT and changes nothing', async (t) => {
  const { base } = await start(t);
  t.is((await call(base, 'PUT', '/v1/config/k', { value: 'a', prevRevision: 0 })).status, 200);
  const stale = await call(base, 'PUT', '/v1/config/k', { value: 'b', prevRevision: 0 });
  t.is(stale.status, 409);
  t.is(stale.json.error.code, ErrorCode.Conflict);
  t.is((await call(base, 'PUT', '/v1/config/k', { value: 'c', prevRevision: 1 })).status, 200);
  t.is((await call(base, 'GET', '/v1/config/k')).json.value, 'c');
});

test('GET /v1/config?prefix= lists keys in order with count and revision', async (t) => {
  const { base, client } = await start(t);
  for (const k of ['b/2', 'a/1', 'b/1', 'c']) await client.put({ key: k, value: k.toUpperCase() });
  const r = await call(base, 'GET', '/v1/config?prefix=b/');
  t.is(r.status, 200);
  t.deepEqual(
    (r.json.kvs as { key: string }[]).map((kv) => kv.key),
    ['b/1', 'b/2'],
  );
  t.is(r.json.count, 2);
  t.is(r.json.revision, 4);
  const limited = await client.range('', { limit: 2 });
  t.deepEqual(limited.kvs.map((kv) => kv.key), ['a/1', 'b/1']);
  t.true(limited.more);
  t.is((await client.get('c'))?.value, 'C');
  t.is(await client.get('zzz'), undefined);
});

test('txn: a compare on a missing key works (version 0), branches run and answer', async (t) => {
  const { base } = await start(t);
  const create = await call(base, 'POST', '/v1/config/txn', {
    compare: [{ key: 'lock', target: 'version', op: '=', value: 0 }],
    success: [{ put: { key: 'lock', value: 'me' } }, { get: { key: 'lock' } }],
    failure: [{ get: { key: 'lock' } }],
  });
  t.is(create.status, 200);
  t.is(create.json.succeeded, true);
  t.is(create.json.revision, 1);
  t.deepEqual(create.json.responses, [{ put: {} }, { get: { kv: { key: 'lock', value: 'me', createRevision: 1, modRevision: 1, version: 1 } } }]);
  const again = await call(base, 'POST', '/v1/config/txn', {
    compare: [{ key: 'lock', target: 'version', op: '=', value: 0 }],
    success: [{ put: { key: 'lock', value: 'you' } }],
    failure: [{ get: { key: 'lock' } }],
  });
  t.is(again.json.succeeded, false);
  t.is(again.json.revision, 1, 'a failed compare writes nothing');
  t.is((again.json.responses as { get: { kv: { value: string } } }[])[0]!.get.kv.value, 'me');
  const missingValue = await call(base, 'POST', '/v1/config/txn', {
    compare: [{ key: 'absent', target: 'value', op: '!=', value: 'x' }],
    success: [{ delete: { key: 'lock' } }],
  });
  t.is(missingValue.json.succeeded, false, 'a value compare on a missing key is false (etcd)');
});

test('bad input is 400 with a code and the field named', async (t) => {
  const { base, backend } = await start(t);
  const cases: [string, string, string | object, string, string][] = [
    ['PUT', '/v1/config/a%00b', { value: 'x' }, ErrorCode.InvalidArgument, 'key'],
    ['PUT', `/v1/config/${'k'.repeat(600)}`, { value: 'x' }, ErrorCode.InvalidArgument, 'key'],
    ['PUT', '/v1/config/', { value: 'x' }, ErrorCode.InvalidArgument, 'key'],
    ['PUT', '/v1/config/k', { value: 'x'.repeat(256 * 1024 + 1) }, ErrorCode.InvalidArgument, 'value'],
    ['PUT', '/v1/config/k', '{"value": "x"', ErrorCode.BadRequest, 'body'],
    ['PUT', '/v1/config/k', { value: 'x', color: 'red' }, ErrorCode.BadRequest, 'color'],
    ['PUT', '/v1/config/k', { value: 5 }, ErrorCode.BadRequest, 'value'],
    ['PUT', '/v1/config/k', {}, ErrorCode.BadRequest, 'value'],
    ['PUT', '/v1/config/k?sync=1', { value: 'x' }, ErrorCode.BadRequest, 'sync'],
    ['PUT', '/v1/config/k', { value: 'x', lease: -1 }, ErrorCode.InvalidArgument, 'lease'],
    ['GET', '/v1/config/k?revision=abc', '', ErrorCode.InvalidArgument, 'revision'],
    ['POST', '/v1/config/txn', { compare: [{ key: 'k', target: 'size', op: '=', value: 1 }] }, ErrorCode.BadRequest, 'compare[0].target'],
    ['POST', '/v1/config/txn', { success: [{ put: { key: 'k', value: 'v', ttl: 3 } }] }, ErrorCode.BadRequest, 'success[0].put.ttl'],
    ['POST', '/v1/config/txn', { success: [{ put: { key: 'k', value: 'v' }, get: { key: 'k' } }] }, ErrorCode.BadRequest, 'success[0]'],
    ['POST', '/v1/config/txn', { compare: [], extra: true }, ErrorCode.BadRequest, 'extra'],
    ['POST', '/v1/leases', { ttl: 10, ttlMs: 10_000 }, ErrorCode.BadRequest, 'ttlMs'],
    ['POST', '/v1/leases', { ttlMs: 10 }, ErrorCode.InvalidArgument, 'ttlMs'],
    ['POST', '/v1/raft/remove-peer', {}, ErrorCode.BadRequest, 'name'],
  ];
  for (const [method, path, body, code, field] of cases) {
    const r = await call(base, method, path, method === 'GET' ? undefined : body);
    t.is(r.status, 400, `${method} ${path.slice(0, 60)}`);
    t.is(r.json.error.code, code, `${method} ${path.slice(0, 60)}`);
    t.is(r.json.error.details?.field, field, `${method} ${path.slice(0, 60)}: ${r.json.error.message}`);
  }
  t.is(backend.writes.length, 0, 'nothing bad reached the store');
  const huge = await fetch(`${base}/v1/config/k`, { method: 'PUT', headers: json, body: JSON.stringify({ value: 'x'.repeat(3 * 1024 * 1024) }) });
  t.is(huge.status, 413);
  t.is((await call(base, 'POST', '/v1/config/k', { value: 'x' })).status, 405);
});

test('no quorum is 503 with the code; not-leader names the leader; nothing is reported written', async (t) => {
  const { base, backend, client } = await start(t);
  backend.failure = new ShoalError(ErrorCode.NoQuorum, 'no quorum: 1 of 3 voters reachable');
  const r = await call(base, 'PUT', '/v1/config/k', { value: 'x' });
  t.is(r.status, 503);
  t.is(r.json.error.code, ErrorCode.NoQuorum);
  t.is((await call(base, 'GET', '/v1/config/k')).status, 503, 'linearizable reads need quorum too');
  t.is((await call(base, 'GET', '/v1/config/k?serializable=true')).status, 404, 'a serializable read is local');
  backend.failure = new ShoalError(ErrorCode.NotLeader, 'not the leader', { details: { leader: 'b' } });
  const e = await t.throwsAsync(client.put({ key: 'k', value: 'x' }));
  t.true(isShoalError(e, ErrorCode.NotLeader));
  t.is((e as ShoalError).details?.leader, 'b');
  t.is((e as ShoalError).details?.status, 503);
  t.is(backend.local.revision, 0);
});

test('leases: grant (ttl in seconds or ttlMs), keep-alive, revoke deletes attached keys', async (t) => {
  const { base, client } = await start(t);
  const g = await call(base, 'POST', '/v1/leases', { ttl: 10 });
  t.is(g.status, 200);
  t.is(g.json.ttlMs, 10_000);
  const id = g.json.id as number;
  t.true(Number.isSafeInteger(id) && id > 0);
  t.deepEqual(await client.leaseGrant({ ttlMs: 5000, id: 42 }), { id: 42, ttlMs: 5000 });
  await client.put({ key: 'svc/a', value: 'up', lease: id });
  t.is((await client.get('svc/a'))?.lease, id);
  t.deepEqual(await client.leaseKeepAlive(id), { id, ttlMs: 10_000 });
  const revoked = await client.leaseRevoke(id);
  t.is(revoked.deleted, 1);
  t.is(await client.get('svc/a'), undefined);
  const gone = await call(base, 'POST', `/v1/leases/${id}/keepalive`);
  t.is(gone.status, 404);
  t.is((await call(base, 'DELETE', '/v1/leases/abc')).status, 400);
});

test('raft status has the contract fields; transfer-leader and remove-peer reach the backend', async (t) => {
  const { base, backend, client } = await start(t);
  const s = await call(base, 'GET', '/v1/raft/status');
  for (const f of ['leader', 'term', 'commitIndex', 'appliedIndex', 'voters', 'learners']) t.true(f in s.json, f);
  t.deepEqual(s.json.voters, ['a', 'b', 'c']);
  t.deepEqual(await client.transferLeader('c'), { leader: 'c' });
  t.deepEqual(backend.transfers, ['c']);
  t.deepEqual(await client.removePeer('b'), { removed: 'b' });
});

test('watch streams every change under the prefix in order, resumes from a revision, and refuses a compacted one', async (t) => {
  const { base, client } = await start(t);
  await client.put({ key: 'w/a', value: '1' });
  await client.put({ key: 'other', value: '1' });
  const ac = new AbortController();
  const seen: string[] = [];
  const lines = client.watch('w/', { fromRevision: 1, signal: ac.signal });
  const first = await lines.next();
  t.like(first.value, { type: 'created', fromRevision: 1, startRevision: 2 });
  const reader = (async () => {
    for await (const line of lines) {
      if (line.type === 'put' || line.type === 'delete') seen.push(`${line.type} ${line.kv.key}@${line.revision}`);
      if (seen.length === 3) ac.abort();
    }
  })();
  await client.put({ key: 'w/b', value: '2' });
  await client.delete('w/a');
  await reader;
  t.deepEqual(seen, ['put w/a@1', 'put w/b@3', 'delete w/a@4']);
  // Compact below revision 3: a watch from 1 is refused and names the oldest revision.
  t.deepEqual(await client.compact(3), { revision: 4, compactedRevision: 3 });
  const r = await fetch(`${base}/v1/config/watch?prefix=w/&fromRevision=1`);
  t.is(r.status, 410);
  const body = (await r.json()) as ErrorJson;
  t.is(body.error.code, ErrorCode.Compacted);
  t.is(body.error.details?.oldestRevision, 3);
  t.regex(body.error.message, /oldest available revision is 3/);
  const e = await t.throwsAsync(async () => {
    for await (const _ of client.watch('w/', { fromRevision: 2 })) break;
  });
  t.true(isShoalError(e, ErrorCode.Compacted));
});

test('a watch without fromRevision sends only new changes; the stream ends with an error line when the watch closes', async (t) => {
  const { backend, client } = await start(t);
  await client.put({ key: 'x', value: 'old' });
  const lines = client.watch('');
  t.like((await lines.next()).value, { type: 'created', startRevision: 1, fromRevision: 2 });
  await client.put({ key: 'x', value: 'new' });
  t.like((await lines.next()).value, { type: 'put', revision: 2, kv: { key: 'x', value: 'new' }, prevKv: { value: 'old' } });
  backend.local.closeWatches('store replaced by a snapshot');
  t.like((await lines.next()).value, { type: 'error', lastRevision: 2, error: { code: ErrorCode.Unavailable } });
  t.true((await lines.next()).done);
});
