/**
 * The HTTP API's per-client limits over real sockets: a client past its
 * request rate gets 429 ERR_RATE_LIMITED with Retry-After before its body is
 * read, and nothing changed, while other clients go on; the 65th watch
 * stream of a client is refused while its 64 stay open; lease grants past a
 * client's cap are refused; and every refusal moves its counter in
 * server.limitStats and GET /v1/agent/stats.
 */
import test from 'ava';
import * as http from 'node:http';
import * as net from 'node:net';
import { AclClient } from '../../../src/api/acl-client.js';
import { AclLimits } from '../../../src/api/acl-tokens.js';
import type { AgentStatsView } from '../../../src/api/agent-routes.js';
import { ConfigClient } from '../../../src/api/config-client.js';
import { HttpApiLimits } from '../../../src/api/http-server.js';
import { storeLimits } from '../../../src/control/store/limits.js';
import { ErrorCode, isShoalError } from '../../../src/util/errors.js';
import { MANAGEMENT_TOKEN, bearer, jsonBody, raw, startSecureServer, type RawAnswer, type SecureServer } from './secure-fake.js';

// This file's process only: a small token cap makes its limit cheap to reach.
(AclLimits as { tokensMax: number }).tokensMax = 3;

async function createToken(s: SecureServer, scope: 'read' | 'write'): Promise<string> {
  return (await new AclClient(s.address, { token: MANAGEMENT_TOKEN }).createToken({ scope })).secret;
}

/** One request from a given local address (127.0.0.0/8 is all loopback on Linux). */
function rawFrom(localAddress: string, address: string, method: string, path: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`http://${address}${path}`, { method, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text === '' ? {} : JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

interface OpenWatch {
  status: number;
  /** The error body when the watch was refused. */
  json?: RawAnswer['json'];
  /** The stream so far. */
  text(): string;
  close(): void;
}

/** Opens a watch stream on its own connection; resolves once its "created" line (or its refusal) is in. */
function openWatch(address: string, token: string, prefix = 'w/'): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${address}/v1/config/watch?prefix=${prefix}`, { headers: bearer(token), agent: false }, (res) => {
      const close = (): void => void req.destroy();
      let text = '';
      res.setEncoding('utf8');
      res.on('error', () => {});
      res.on('data', (c: string) => (text += c));
      if (res.statusCode !== 200) {
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), text: () => text, close }));
        return;
      }
      res.once('data', (c: string) => {
        if (!c.includes('"created"')) reject(new Error(`first line: ${c}`));
        resolve({ status: 200, text: () => text, close });
      });
    });
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function agentStats(s: SecureServer, token: string): Promise<AgentStatsView> {
  const r = await raw(s.address, 'GET', '/v1/agent/stats', bearer(token));
  if (r.status !== 200) throw new Error(`GET /v1/agent/stats: ${r.status} ${r.json.error?.message}`);
  return r.json as unknown as AgentStatsView;
}

test('a client over its rate gets 429 ERR_RATE_LIMITED with Retry-After before its body is read; nothing changed; another client goes on', async (t) => {
  // 0.1/s: no token comes back while the test runs.
  const s = await startSecureServer(t, { token: MANAGEMENT_TOKEN, clientLimits: { requestsPerSecond: 0.1, requestBurstMax: 4 } });
  const write = await createToken(s, 'write'); // the management token's first request
  const auth = { ...jsonBody, ...bearer(write) };
  for (let i = 1; i <= 4; i++) t.is((await raw(s.address, 'PUT', `/v1/config/app/${i}`, auth, `{"value":"${i}"}`)).status, 200, `request ${i} of the burst`);
  const before = { revision: s.backend.local.revision, writes: s.backend.writes.length };
  const r = await raw(s.address, 'PUT', '/v1/config/app/5', auth, '{"value":"5"}');
  t.is(r.status, 429);
  t.is(r.json.error?.code, ErrorCode.RateLimited);
  t.like(r.json.error?.details, { limit: 'requestsPerSecond', perSecond: 0.1, burstMax: 4 });
  const retryAfterS = Number(r.headers['retry-after']);
  t.true(retryAfterS >= 9 && retryAfterS <= 10, `Retry-After: ${r.headers['retry-after']}`);
  t.is(r.headers.connection, 'close', 'a refused request with a body closes the connection rather than read it');
  // Not even parsed: a body that is not JSON is refused for the rate, not as bad JSON.
  t.is((await raw(s.address, 'PUT', '/v1/config/app/6', auth, '{not json')).status, 429);
  const read = await raw(s.address, 'GET', '/v1/config/app/1', bearer(write));
  t.is(read.status, 429, 'reads count too');
  t.not(read.headers.connection, 'close', 'a body-less request keeps its connection');
  t.deepEqual({ revision: s.backend.local.revision, writes: s.backend.writes.length }, before, 'the store revision did not move');
  t.is(await s.backend.local.get('app/5'), undefined);
  // The typed client sees it as ERR_RATE_LIMITED with the wait.
  const e = await t.throwsAsync(new ConfigClient(s.address, { token: write }).put({ key: 'app/7', value: '7' }));
  t.true(isShoalError(e, ErrorCode.RateLimited));
  t.is(s.server.limitStats.rateLimited, 4);
  // Another client (the management token) has its own bucket: 3 of 4 left.
  t.is((await raw(s.address, 'PUT', '/v1/config/app/m', { ...jsonBody, ...bearer(MANAGEMENT_TOKEN) }, '{"value":"m"}')).status, 200);
  t.is(s.backend.local.revision, before.revision + 1);
  const stats = await agentStats(s, MANAGEMENT_TOKEN);
  t.is(stats.api.limits.rateLimited, 4);
  t.is(stats.api.clients, 2);
});

test('a flood of wrong tokens is limited by address; a token short of scope by that token', async (t) => {
  const s = await startSecureServer(t, { token: MANAGEMENT_TOKEN, clientLimits: { requestsPerSecond: 0.1, requestBurstMax: 2 } });
  const wrong = bearer('wrong-token-0123456789abcdef');
  t.is((await raw(s.address, 'GET', '/v1/members', wrong)).status, 401);
  t.is((await raw(s.address, 'GET', '/v1/members', {})).status, 401);
  const r = await raw(s.address, 'GET', '/v1/members', wrong);
  t.is(r.status, 429);
  t.is(r.json.error?.code, ErrorCode.RateLimited);
  // The address's bucket is not a token's: the management token still works.
  t.is((await raw(s.address, 'GET', '/v1/members', bearer(MANAGEMENT_TOKEN))).status, 200);
  const read = await createToken(s, 'read');
  t.is((await raw(s.address, 'PUT', '/v1/config/x', { ...jsonBody, ...bearer(read) }, '{"value":"v"}')).status, 403);
  t.is((await raw(s.address, 'GET', '/v1/members', bearer(read))).status, 200);
  t.is((await raw(s.address, 'GET', '/v1/members', bearer(read))).status, 429, 'the 403 was charged to the read token');
  t.is(s.server.limitStats.rateLimited, 2);
});

test('without a token the client is its address: one address limited, another not; loopback is exempt by default', async (t) => {
  const limits = { requestsPerSecond: 0.1, requestBurstMax: 2 };
  const strict = await startSecureServer(t, { clientLimits: { ...limits, loopbackExemptWithoutToken: false, clientsMax: 2 } });
  t.is((await rawFrom('127.0.0.2', strict.address, 'GET', '/v1/health')).status, 200);
  t.is((await rawFrom('127.0.0.2', strict.address, 'GET', '/v1/health')).status, 200);
  const r = await rawFrom('127.0.0.2', strict.address, 'GET', '/v1/health');
  t.is(r.status, 429);
  t.truthy(r.headers['retry-after']);
  t.is((await rawFrom('127.0.0.3', strict.address, 'GET', '/v1/health')).status, 200, 'another address is unaffected');
  t.is(strict.server.limitStats.rateLimited, 1);
  t.is(strict.server.limitStats.clientsEvicted, 0);
  t.is((await rawFrom('127.0.0.4', strict.address, 'GET', '/v1/health')).status, 200);
  t.is(strict.server.limitStats.clientsEvicted, 1, 'clientsMax 2: the least recently used address (127.0.0.2) was evicted');
  t.is(strict.server.clients.clients, 2);
  // Default: no token configured, loopback clients are one shared identity and not limited.
  const open = await startSecureServer(t, { clientLimits: limits });
  for (let i = 0; i < 10; i++) t.is((await raw(open.address, 'GET', '/v1/health')).status, 200);
  t.is(open.server.limitStats.rateLimited, 0);
  t.is(open.server.clients.clients, 0);
});

test('the 65th watch stream of a client is refused while its 64 stay open; another client is unaffected; closing one frees a slot', async (t) => {
  const s = await startSecureServer(t);
  const read = await createToken(s, 'read');
  const open: OpenWatch[] = [];
  for (let i = 0; i < 64; i++) {
    const w = await openWatch(s.address, read);
    t.is(w.status, 200, `watch ${i + 1}`);
    open.push(w);
  }
  t.is(s.server.clients.watchesOpen, 64);
  const refused = await openWatch(s.address, read);
  t.is(refused.status, 429);
  t.is(refused.json?.error?.code, ErrorCode.ResourceExhausted);
  t.like(refused.json?.error?.details, { limit: 'watchesPerClientMax', max: 64 });
  t.regex(refused.json?.error?.message ?? '', /64 watch streams open, at most 64/);
  t.is(s.server.limitStats.watchesRefused, 1);
  t.is(s.server.clients.watchesOpen, 64, 'the refused one holds no slot');
  // The 64 are still streaming: a change reaches them.
  const other = await openWatch(s.address, MANAGEMENT_TOKEN);
  t.is(other.status, 200, 'another client opens its own');
  await new ConfigClient(s.address, { token: MANAGEMENT_TOKEN }).put({ key: 'w/x', value: '1' });
  await until(() => open.every((w) => w.text().includes('"w/x"')), 'the change on all 64 streams');
  open[0]!.close();
  await until(() => s.server.clients.watchesOpen === 64, 'the closed stream to free its slot');
  const again = await openWatch(s.address, read);
  t.is(again.status, 200, 'a slot freed by a close is taken again');
  for (const w of [...open, again, other]) w.close();
  await until(() => s.server.clients.watchesOpen === 0, 'every slot freed');
  // A watch refused after it took its slot (410: compacted) frees it too.
  const writer = new ConfigClient(s.address, { token: MANAGEMENT_TOKEN });
  await writer.put({ key: 'w/y', value: '2' });
  await writer.compact((await writer.put({ key: 'w/z', value: '3' })).revision);
  const gone = await openWatch(s.address, read, 'w/&fromRevision=1');
  t.is(gone.status, 410);
  await until(() => s.server.clients.watchesOpen === 0, 'the 410 to free its slot');
  t.is((await agentStats(s, read)).api.limits.watchesRefused, 1, 'stats are read scope');
});

test('lease grants past the client cap are refused and nothing is granted; revoke frees one; concurrent grants cannot overshoot', async (t) => {
  const s = await startSecureServer(t, { token: MANAGEMENT_TOKEN, clientLimits: { leasesPerClientMax: 3 } });
  const write = await createToken(s, 'write');
  const client = new ConfigClient(s.address, { token: write });
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) ids.push((await client.leaseGrant({ ttlMs: 60_000 })).id);
  const leasesBefore = s.backend.local.stats().leases;
  const writesBefore = s.backend.writes.length;
  const r = await raw(s.address, 'POST', '/v1/leases', { ...jsonBody, ...bearer(write) }, '{"ttl":60}');
  t.is(r.status, 429);
  t.is(r.json.error?.code, ErrorCode.ResourceExhausted);
  t.like(r.json.error?.details, { limit: 'leasesPerClientMax', max: 3 });
  t.is(s.backend.local.stats().leases, leasesBefore, 'no lease granted');
  t.is(s.backend.writes.length, writesBefore, 'nothing proposed');
  t.is(s.server.limitStats.leasesRefused, 1);
  // Keep-alive is not a grant; a revoke frees room.
  t.is((await client.leaseKeepAlive(ids[0]!)).id, ids[0]);
  await client.leaseRevoke(ids[0]!);
  ids.push((await client.leaseGrant({ ttlMs: 60_000 })).id);
  // Another client is unaffected.
  t.true((await new ConfigClient(s.address, { token: MANAGEMENT_TOKEN }).leaseGrant({ ttlMs: 60_000 })).id > 0);
  // Ten grants at once from a fresh client: exactly three succeed.
  const fresh = new ConfigClient(s.address, { token: await createToken(s, 'write') });
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => fresh.leaseGrant({ ttlMs: 60_000 })));
  t.is(results.filter((x) => x.status === 'fulfilled').length, 3);
  t.true(results.every((x) => x.status === 'fulfilled' || isShoalError(x.reason, ErrorCode.ResourceExhausted)));
  t.is(s.server.limitStats.leasesRefused, 8);
  t.is(s.server.clients.leasesTracked, 3 + 1 + 3);
});

test('every size limit is counted as it is refused: body, key, value, txn ops, tokens, connections', async (t) => {
  const s = await startSecureServer(t);
  const auth = { ...jsonBody, ...bearer(MANAGEMENT_TOKEN) };
  const before = s.backend.local.revision;
  const counters = () => ({ ...s.server.limitStats });

  t.is((await raw(s.address, 'POST', '/v1/leases', auth, JSON.stringify({ ttl: 60, pad: 'x'.repeat(5000) }))).status, 413);
  t.is(counters().bodyTooLarge, 1);

  const longKey = 'k'.repeat(storeLimits.keyBytesMax + 1);
  t.is((await raw(s.address, 'PUT', `/v1/config/${longKey}`, auth, '{"value":"v"}')).status, 400);
  t.is((await raw(s.address, 'GET', `/v1/config?prefix=${longKey}`, bearer(MANAGEMENT_TOKEN))).status, 400);
  t.is(counters().keyTooLarge, 2);

  const bigValue = 'v'.repeat(storeLimits.valueBytesMax + 1);
  t.is((await raw(s.address, 'PUT', '/v1/config/big', auth, JSON.stringify({ value: bigValue }))).status, 400);
  t.is(counters().valueTooLarge, 1);

  const manyOps = { success: Array.from({ length: storeLimits.txnOpsMax + 1 }, (_, i) => ({ get: { key: `k${i}` } })) };
  t.is((await raw(s.address, 'POST', '/v1/config/txn', auth, JSON.stringify(manyOps))).status, 400);
  t.is(counters().txnTooLarge, 1);
  t.is(s.backend.local.revision, before, 'nothing refused changed the store');

  // Three tokens (this file's tokensMax), then the fourth is refused.
  const acl = new AclClient(s.address, { token: MANAGEMENT_TOKEN });
  for (let i = 0; i < 3; i++) await acl.createToken({ scope: 'read' });
  await t.throwsAsync(acl.createToken({ scope: 'read' }));
  t.is(counters().tokensRefused, 1);

  // Connections past connectionsMax are dropped by Node, and counted.
  const [host, port] = [s.address.split(':')[0]!, Number(s.address.split(':')[1])];
  const sockets: net.Socket[] = [];
  for (let i = 0; i <= HttpApiLimits.connectionsMax; i++) {
    const c = net.connect({ host, port });
    c.on('error', () => {});
    sockets.push(c);
  }
  await until(() => s.server.limitStats.connectionsDropped >= 1, 'a dropped connection');
  for (const c of sockets) c.destroy();
  t.like(counters(), { bodyTooLarge: 1, keyTooLarge: 2, valueTooLarge: 1, txnTooLarge: 1, tokensRefused: 1, rateLimited: 0, watchesRefused: 0, leasesRefused: 0 });
});

test('a txn whose values each fit but whose sum does not is refused by the store, and counted', async (t) => {
  // On a server of its own: the fake backend refuses it at apply, which ends its one dedup session.
  const s = await startSecureServer(t);
  const value = 'v'.repeat(storeLimits.valueBytesMax);
  const count = Math.floor(storeLimits.requestBytesMax / storeLimits.valueBytesMax) + 1;
  const bigTxn = { success: Array.from({ length: count }, (_, i) => ({ put: { key: `t${i}`, value } })) };
  const r = await raw(s.address, 'POST', '/v1/config/txn', { ...jsonBody, ...bearer(MANAGEMENT_TOKEN) }, JSON.stringify(bigTxn));
  t.is(r.status, 400, r.json.error?.message);
  t.is(r.json.error?.details?.field, 'request');
  t.is(s.backend.local.revision, 0);
  t.is(s.server.limitStats.txnTooLarge, 1);
});

test('GET /v1/agent/stats is read scope, JSON, and only GET', async (t) => {
  const s = await startSecureServer(t);
  t.is((await raw(s.address, 'GET', '/v1/agent/stats')).status, 401);
  const read = await createToken(s, 'read');
  const stats = await agentStats(s, read);
  t.deepEqual(Object.keys(stats.api).sort(), ['clients', 'leasesTracked', 'limits', 'watchesOpen']);
  t.deepEqual(stats.api.limits, s.server.limitStats);
  t.is((await raw(s.address, 'POST', '/v1/agent/stats', { ...jsonBody, ...bearer(read) })).status, 403);
  t.is((await raw(s.address, 'POST', '/v1/agent/stats', { ...jsonBody, ...bearer(MANAGEMENT_TOKEN) })).status, 405);
  t.is((await raw(s.address, 'GET', '/v1/agent/stats?x=1', bearer(read))).status, 400);
});
