/**
 * The HTTP API's refusals (auth.ts, request-guard.ts): no token, a wrong
 * token, a read-only token writing, a text/plain POST, a foreign Host on a
 * loopback bind. Each is refused with its status and code, and nothing
 * changed: the key is absent, the store's revision did not move, the
 * membership service was not called.
 */
import test from 'ava';
import { ConfigClient } from '../../../src/api/config-client.js';
import { AclClient } from '../../../src/api/acl-client.js';
import { ErrorCode, isShoalError } from '../../../src/util/errors.js';
import { MANAGEMENT_TOKEN, bearer, jsonBody, raw, startSecureServer, type SecureServer } from './secure-fake.js';

/** Every way a request could change something, each with a valid JSON body. */
const writes: [string, string, string][] = [
  ['PUT', '/v1/config/app/x', '{"value":"changed"}'],
  ['DELETE', '/v1/config/app/seed', ''],
  ['POST', '/v1/config/txn', '{"success":[{"put":{"key":"app/x","value":"changed"}}]}'],
  ['POST', '/v1/config/compact', '{"revision":1}'],
  ['POST', '/v1/leases', '{"ttl":10}'],
  ['POST', '/v1/join', '{"addrs":["127.0.0.1:9"]}'],
  ['POST', '/v1/leave', ''],
  ['POST', '/v1/acl/tokens', '{"scope":"write"}'],
  ['POST', '/v1/raft/remove-peer', '{"name":"b"}'],
];

/** The state a refused request must leave as it was. */
async function snapshot(s: SecureServer) {
  const x = await s.backend.local.get('app/x');
  return {
    revision: s.backend.local.revision,
    writes: s.backend.writes.length,
    x: x === undefined ? undefined : new TextDecoder().decode(x.value),
    joins: s.membership.joins.length,
    leaves: s.membership.leaves,
    tokens: s.backend.local.range('shoal/').count,
  };
}

async function seeded(t: Parameters<typeof startSecureServer>[0]) {
  const s = await startSecureServer(t);
  s.backend.apply({ type: 'put', key: 'app/seed', value: new TextEncoder().encode('1') });
  return s;
}

async function createToken(s: SecureServer, scope: 'read' | 'write'): Promise<string> {
  const created = await new AclClient(s.address, { token: MANAGEMENT_TOKEN }).createToken({ scope, description: `${scope} test` });
  return created.secret;
}

async function assertAllRefused(t: import('ava').ExecutionContext, s: SecureServer, headers: Record<string, string>, status: number, code: string): Promise<void> {
  const before = await snapshot(s);
  for (const [method, path, body] of writes) {
    const r = await raw(s.address, method, path, { ...jsonBody, ...headers }, body === '' ? undefined : body);
    t.is(r.status, status, `${method} ${path}: ${r.json.error?.message}`);
    t.is(r.json.error?.code, code, `${method} ${path}`);
  }
  t.deepEqual(await snapshot(s), before, 'nothing changed');
  t.is(before.x, undefined, 'app/x is absent');
}

test('no token: every request is 401 ERR_UNAUTHENTICATED (reads too) and nothing changed', async (t) => {
  const s = await seeded(t);
  await assertAllRefused(t, s, {}, 401, ErrorCode.Unauthenticated);
  for (const path of ['/v1/members', '/v1/health', '/v1/raft/status', '/v1/config/app/seed', '/v1/config?prefix=', '/v1/config/watch?prefix=', '/v1/acl/tokens']) {
    const r = await raw(s.address, 'GET', path);
    t.is(r.status, 401, path);
    t.is(r.json.error?.code, ErrorCode.Unauthenticated);
    t.regex(String(r.headers['www-authenticate']), /^Bearer/);
  }
  const e = await t.throwsAsync(new ConfigClient(s.address).get('app/seed'));
  t.true(isShoalError(e, ErrorCode.Unauthenticated));
  t.is((e as { details?: Record<string, unknown> }).details?.status, 401);
});

test('a wrong token (or a malformed Authorization header) is 401 and nothing changed', async (t) => {
  const s = await seeded(t);
  await assertAllRefused(t, s, bearer('wrong-token-0123456789abcdef'), 401, ErrorCode.Unauthenticated);
  await assertAllRefused(t, s, bearer(MANAGEMENT_TOKEN.slice(0, -1)), 401, ErrorCode.Unauthenticated);
  await assertAllRefused(t, s, { authorization: `Basic ${Buffer.from(`x:${MANAGEMENT_TOKEN}`).toString('base64')}` }, 401, ErrorCode.Unauthenticated);
  await assertAllRefused(t, s, { authorization: MANAGEMENT_TOKEN }, 401, ErrorCode.Unauthenticated);
  // The management token itself works, and the scheme is case-insensitive.
  t.is((await raw(s.address, 'GET', '/v1/config/app/seed', { authorization: `bearer ${MANAGEMENT_TOKEN}` })).status, 200);
});

test('a read-only token reads but writing is 403 ERR_FORBIDDEN and nothing changed', async (t) => {
  const s = await seeded(t);
  const read = await createToken(s, 'read');
  const client = new ConfigClient(s.address, { token: read });
  t.is((await client.get('app/seed'))?.value, '1');
  t.is((await client.range('app/')).count, 1);
  t.is((await client.raftStatus()).leader, 'a');
  t.is((await raw(s.address, 'GET', '/v1/members', bearer(read))).status, 200);
  const lines = client.watch('app/', { fromRevision: 1 });
  t.like((await lines.next()).value, { type: 'created' });
  t.like((await lines.next()).value, { type: 'put', kv: { key: 'app/seed' } });
  await lines.return(undefined);
  const before = await snapshot(s);
  for (const [method, path, body] of writes) {
    const r = await raw(s.address, method, path, { ...jsonBody, ...bearer(read) }, body === '' ? undefined : body);
    t.is(r.status, 403, `${method} ${path}`);
    t.is(r.json.error?.code, ErrorCode.Forbidden);
    t.is(r.json.error?.details?.scope, 'read');
  }
  const e = await t.throwsAsync(client.put({ key: 'app/x', value: 'changed' }));
  t.true(isShoalError(e, ErrorCode.Forbidden));
  t.deepEqual(await snapshot(s), before, 'nothing changed');
});

test('a write token writes config, leases and joins, but not tokens, leave or Raft membership', async (t) => {
  const s = await seeded(t);
  const write = await createToken(s, 'write');
  const client = new ConfigClient(s.address, { token: write });
  const put = await client.put({ key: 'app/x', value: 'written' });
  t.is((await client.get('app/x'))?.value, 'written');
  t.true(put.revision > 1);
  t.true((await client.leaseGrant({ ttlMs: 10_000 })).id > 0);
  t.is((await raw(s.address, 'POST', '/v1/join', { ...jsonBody, ...bearer(write) }, '{"addrs":["127.0.0.1:9"]}')).status, 200);
  const before = await snapshot(s);
  for (const [method, path, body] of [
    ['POST', '/v1/acl/tokens', '{"scope":"read"}'],
    ['GET', '/v1/acl/tokens', ''],
    ['POST', '/v1/leave', ''],
    ['POST', '/v1/raft/remove-peer', '{"name":"b"}'],
    ['POST', '/v1/raft/transfer-leader', ''],
  ] as const) {
    const r = await raw(s.address, method, path, { ...jsonBody, ...bearer(write) }, body === '' ? undefined : body);
    t.is(r.status, 403, `${method} ${path}`);
    t.is(r.json.error?.details?.needs, 'manage');
  }
  t.deepEqual(await snapshot(s), before, 'nothing changed');
  t.deepEqual(s.backend.transfers, []);
});

test('a text/plain POST (or a body without a JSON Content-Type) is 415 before anything is parsed or changed', async (t) => {
  const s = await seeded(t);
  const auth = bearer(MANAGEMENT_TOKEN);
  const before = await snapshot(s);
  for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
    for (const [method, path, body] of writes) {
      const r = await raw(s.address, method, path, { ...auth, 'content-type': type }, body === '' ? '{}' : body);
      t.is(r.status, 415, `${type} ${method} ${path}`);
      t.is(r.json.error?.code, ErrorCode.UnsupportedMediaType);
    }
  }
  // No Content-Type at all: a body-less POST is a simple cross-site request too.
  for (const [method, path, body] of writes.filter(([m]) => m === 'POST')) {
    const r = await raw(s.address, method, path, auth, body === '' ? undefined : body);
    t.is(r.status, 415, `no content-type: ${method} ${path}`);
  }
  t.deepEqual(await snapshot(s), before, 'nothing changed');
  // JSON with parameters is fine; a DELETE without a body needs no Content-Type.
  t.is((await raw(s.address, 'PUT', '/v1/config/app/x', { ...auth, 'content-type': 'Application/JSON; charset=utf-8' }, '{"value":"ok"}')).status, 200);
  t.is((await raw(s.address, 'DELETE', '/v1/config/app/x', auth)).status, 200);
});

test('without a management token the Content-Type and Host checks still apply', async (t) => {
  const s = await startSecureServer(t, {});
  const before = await snapshot(s);
  const r = await raw(s.address, 'POST', '/v1/config/txn', { 'content-type': 'text/plain' }, '{"success":[{"put":{"key":"app/x","value":"v"}}]}');
  t.is(r.status, 415);
  const port = s.address.split(':')[1];
  const rebound = await raw(s.address, 'PUT', '/v1/config/app/x', { ...jsonBody, host: `evil.example:${port}` }, '{"value":"v"}');
  t.is(rebound.status, 403);
  t.deepEqual(await snapshot(s), before);
  // No token asked for: today's behaviour.
  t.is((await raw(s.address, 'PUT', '/v1/config/app/x', jsonBody, '{"value":"v"}')).status, 200);
});

test('a foreign Host on a loopback bind is 403 ERR_FORBIDDEN (DNS rebinding), even with the management token, and nothing changed', async (t) => {
  const s = await seeded(t);
  const port = s.address.split(':')[1]!;
  const auth = bearer(MANAGEMENT_TOKEN);
  const before = await snapshot(s);
  for (const host of [`attacker.example:${port}`, 'attacker.example', `localhost.attacker.example:${port}`, `127.0.0.1.nip.io:${port}`, `10.0.0.1:${port}`, `[::2]:${port}`, '127.0.0.256', 'localhost.']) {
    for (const [method, path, body] of [...writes, ['GET', '/v1/config/app/seed', ''] as [string, string, string]]) {
      const r = await raw(s.address, method, path, { ...jsonBody, ...auth, host }, body === '' ? undefined : body);
      t.is(r.status, 403, `Host "${host}": ${method} ${path}`);
      t.is(r.json.error?.code, ErrorCode.Forbidden);
    }
  }
  // No Host at all: Node refuses an HTTP/1.1 request without one (400) before the API sees it.
  const none = await raw(s.address, 'PUT', '/v1/config/app/x', { ...jsonBody, ...auth, host: '' }, '{"value":"changed"}');
  t.true(none.status === 400 || none.status === 403, `no Host: ${none.status}`);
  t.deepEqual(await snapshot(s), before, 'nothing changed');
  for (const host of [`localhost:${port}`, 'localhost', `LOCALHOST:${port}`, `127.0.0.1:${port}`, '127.1.2.3', `[::1]:${port}`, '[::1]']) {
    t.is((await raw(s.address, 'GET', '/v1/health', { ...auth, host })).status, 200, `Host "${host}"`);
  }
});

test('a non-loopback bind does not check Host (the token is the guard there)', async (t) => {
  const s = await startSecureServer(t, { listen: '0.0.0.0:0', token: MANAGEMENT_TOKEN });
  const port = s.address.split(':')[1]!;
  const r = await raw(`127.0.0.1:${port}`, 'GET', '/v1/health', { ...bearer(MANAGEMENT_TOKEN), host: `agent.example:${port}` });
  t.is(r.status, 200);
  t.is((await raw(`127.0.0.1:${port}`, 'GET', '/v1/health', { host: `agent.example:${port}` })).status, 401);
});
