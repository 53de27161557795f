/**
 * Stored API tokens: the /v1/acl/tokens routes, what the store keeps (a
 * hash, never the secret), revocation (at once here, within the cache bound
 * when revoked through another member), and the token cache's refills.
 */
import test from 'ava';
import { AclClient } from '../../../src/api/acl-client.js';
import { ConfigClient } from '../../../src/api/config-client.js';
import { ACL_TOKENS_PREFIX, AclLimits, AclTokenCache, encodeRecord, sha256, tokenKey, type AclTokenRecord } from '../../../src/api/acl-tokens.js';
import type { KvView } from '../../../src/api/config-types.js';
import { ErrorCode, ShoalError, isShoalError } from '../../../src/util/errors.js';
import { MANAGEMENT_TOKEN, bearer, jsonBody, raw, startSecureServer } from './secure-fake.js';

const text = new TextDecoder();

test('create answers the secret once; the store keeps only its SHA-256; list shows ids and scopes, never secrets', async (t) => {
  const s = await startSecureServer(t);
  const acl = new AclClient(s.address, { token: MANAGEMENT_TOKEN });
  const read = await acl.createToken({ scope: 'read', description: 'dashboards' });
  const write = await acl.createToken({ scope: 'write' });
  t.regex(read.id, /^[0-9a-f]{16}$/);
  t.regex(read.secret, /^shoal_[A-Za-z0-9_-]{43}$/);
  t.like(read, { scope: 'read', description: 'dashboards' });
  t.false(Number.isNaN(Date.parse(read.created)));
  const stored = s.backend.local.range(ACL_TOKENS_PREFIX).kvs.map((kv) => text.decode(kv.value));
  t.is(stored.length, 2);
  for (const v of stored) {
    t.false(v.includes(read.secret) || v.includes(write.secret), 'no secret in the store');
  }
  t.true(stored.some((v) => v.includes(sha256(read.secret).toString('hex'))));
  const listed = await acl.listTokens();
  t.deepEqual(listed.tokens.map((x) => x.id).sort(), [read.id, write.id].sort());
  t.false(JSON.stringify(listed).includes('shoal_'), 'no secret in the list');
  t.false(JSON.stringify(listed).includes(sha256(read.secret).toString('hex')), 'no hash in the list');
});

test('bad create bodies are 400; revoking an unknown or malformed id is 404 / 400', async (t) => {
  const s = await startSecureServer(t);
  const auth = { ...jsonBody, ...bearer(MANAGEMENT_TOKEN) };
  for (const [body, field] of [
    ['{}', 'scope'],
    ['{"scope":"admin"}', 'scope'],
    ['{"scope":"read","secret":"mine"}', 'secret'],
    [`{"scope":"read","description":"${'d'.repeat(300)}"}`, 'description'],
    ['{"scope":"read","description":"a\\u0000b"}', 'description'],
  ]) {
    const r = await raw(s.address, 'POST', '/v1/acl/tokens', auth, body);
    t.is(r.status, 400, body!);
    t.is(r.json.error?.details?.field, field, body!);
  }
  t.is(s.backend.local.range(ACL_TOKENS_PREFIX).count, 0);
  t.is((await raw(s.address, 'DELETE', '/v1/acl/tokens/0123456789abcdef', auth)).status, 404);
  t.is((await raw(s.address, 'DELETE', '/v1/acl/tokens/nope', auth)).status, 400);
  t.is((await raw(s.address, 'PUT', '/v1/acl/tokens', auth, '{}')).status, 405);
});

test('a token revoked through this member is refused at once', async (t) => {
  const s = await startSecureServer(t);
  const acl = new AclClient(s.address, { token: MANAGEMENT_TOKEN });
  const tok = await acl.createToken({ scope: 'read' });
  const client = new ConfigClient(s.address, { token: tok.secret });
  t.is((await client.range('')).count, 0);
  const revoked = await acl.revokeToken(tok.id);
  t.is(revoked.id, tok.id);
  const e = await t.throwsAsync(client.range(''));
  t.true(isShoalError(e, ErrorCode.Unauthenticated));
  t.is((await raw(s.address, 'DELETE', `/v1/acl/tokens/${tok.id}`, bearer(MANAGEMENT_TOKEN))).status, 404, 'revoked twice');
});

test('a token revoked through another member is refused within the cache bound', async (t) => {
  const s = await startSecureServer(t);
  const tok = await new AclClient(s.address, { token: MANAGEMENT_TOKEN }).createToken({ scope: 'write' });
  const client = new ConfigClient(s.address, { token: tok.secret });
  await client.put({ key: 'k', value: '1' });
  // Another member's revoke reaches this replica as a committed delete: this server's cache is not told.
  s.backend.apply({ type: 'delete', key: tokenKey(tok.id) });
  const started = performance.now();
  let refusedAfterMs = -1;
  while (performance.now() - started < AclLimits.cacheMs * 3) {
    const r = await raw(s.address, 'GET', '/v1/config/k', bearer(tok.secret));
    if (r.status === 401) {
      refusedAfterMs = performance.now() - started;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  t.true(refusedAfterMs >= 0, 'refused');
  t.true(refusedAfterMs <= AclLimits.cacheMs + 200, `refused after ${refusedAfterMs.toFixed(0)} ms`);
});

test('a token created through another member works at once (an unknown token refills the cache)', async (t) => {
  const s = await startSecureServer(t);
  t.is((await raw(s.address, 'GET', '/v1/health', bearer('shoal_not-yet-created-0123456789'))).status, 401);
  const secret = 'shoal_created-elsewhere-0123456789';
  const record: AclTokenRecord = { id: '00000000000000aa', scope: 'read', description: '', created: new Date().toISOString(), sha256: sha256(secret).toString('hex') };
  s.backend.apply({ type: 'put', key: tokenKey(record.id), value: new TextEncoder().encode(encodeRecord(record)) });
  await new Promise((r) => setTimeout(r, AclLimits.missRefillMs + 10));
  t.is((await raw(s.address, 'GET', '/v1/health', bearer(secret))).status, 200);
});

test('a record that is not a valid token record grants nothing', async (t) => {
  const s = await startSecureServer(t);
  const secret = 'shoal_forged-0123456789abcdef';
  const good: AclTokenRecord = { id: '00000000000000bb', scope: 'write', description: '', created: '', sha256: sha256(secret).toString('hex') };
  const put = (key: string, value: string): void => void s.backend.apply({ type: 'put', key, value: new TextEncoder().encode(value) });
  put(tokenKey('00000000000000cc'), encodeRecord(good)); // the id in the record is not the key's
  put(tokenKey('00000000000000dd'), encodeRecord({ ...good, id: '00000000000000dd', scope: 'manage' as never }));
  put(tokenKey('00000000000000ee'), 'not json');
  t.is((await raw(s.address, 'GET', '/v1/health', bearer(secret))).status, 401);
});

// The cache alone, on a fake clock.
function cacheOn(records: () => KvView[]) {
  let nowMs = 0;
  let reads = 0;
  let fail: Error | undefined;
  const cache = new AclTokenCache(
    async () => {
      reads++;
      if (fail) throw fail;
      return records();
    },
    () => nowMs,
  );
  return {
    cache,
    advance: (ms: number) => (nowMs += ms),
    reads: () => reads,
    failWith: (e: Error | undefined) => (fail = e),
  };
}

const kvOf = (r: AclTokenRecord): KvView => ({ key: tokenKey(r.id), value: encodeRecord(r), createRevision: 1, modRevision: 1, version: 1 });

test('cache: served from memory for cacheMs, refilled after; unknown tokens refill at most every missRefillMs', async (t) => {
  const secret = 'shoal_cache-0123456789abcdef';
  let stored = [kvOf({ id: '0000000000000001', scope: 'read', description: '', created: '', sha256: sha256(secret).toString('hex') })];
  const c = cacheOn(() => stored);
  t.is((await c.cache.lookup(secret))?.scope, 'read');
  t.is(c.reads(), 1);
  for (let i = 0; i < 10; i++) await c.cache.lookup(secret);
  t.is(c.reads(), 1, 'hits are served from memory');
  stored = [];
  c.advance(AclLimits.cacheMs - 1);
  t.is((await c.cache.lookup(secret))?.scope, 'read', 'still cached inside the bound');
  c.advance(2);
  t.is(await c.cache.lookup(secret), undefined, 'gone once the bound passed');
  const reads = c.reads();
  for (let i = 0; i < 100; i++) await c.cache.lookup(`shoal_wrong-${i}`);
  t.is(c.reads(), reads, 'a flood of wrong tokens inside missRefillMs reads nothing');
  c.advance(AclLimits.missRefillMs);
  await c.cache.lookup('shoal_wrong');
  t.is(c.reads(), reads + 1, 'one refill per missRefillMs');
  c.cache.invalidate();
  await c.cache.lookup(secret);
  t.is(c.reads(), reads + 2, 'invalidate() refills on the next lookup');
});

test('cache: fails closed when the records cannot be read', async (t) => {
  const c = cacheOn(() => []);
  c.failWith(new ShoalError(ErrorCode.Unavailable, 'no copy of the config yet'));
  const e = await t.throwsAsync(c.cache.lookup('shoal_x'));
  t.true(isShoalError(e, ErrorCode.Unavailable));
  t.regex(e!.message, /cannot read the API tokens/);
});
