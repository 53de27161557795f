/**
 * The reserved prefix `shoal/` (system-keys.ts): the public config routes
 * neither read nor write it, even with the management token; ranges and
 * watches that cover it answer as if it did not exist.
 */
import test from 'ava';
import { AclClient } from '../../../src/api/acl-client.js';
import { ConfigClient } from '../../../src/api/config-client.js';
import { ErrorCode } from '../../../src/util/errors.js';
import { MANAGEMENT_TOKEN, bearer, jsonBody, raw, startSecureServer } from './secure-fake.js';

async function withTokenAndKeys(t: Parameters<typeof startSecureServer>[0]) {
  const s = await startSecureServer(t);
  await new AclClient(s.address, { token: MANAGEMENT_TOKEN }).createToken({ scope: 'read' });
  const client = new ConfigClient(s.address, { token: MANAGEMENT_TOKEN });
  for (const k of ['a', 'shoal', 'shoalfish', 'shoal.x', 'z']) await client.put({ key: k, value: k });
  return { s, client };
}

test('keys under shoal/ are 403 ERR_FORBIDDEN on every public route, even with the management token; nothing changed', async (t) => {
  const { s } = await withTokenAndKeys(t);
  const auth = { ...jsonBody, ...bearer(MANAGEMENT_TOKEN) };
  const revision = s.backend.local.revision;
  const cases: [string, string, string?][] = [
    ['PUT', '/v1/config/shoal/acl/tokens/0000000000000001', '{"value":"{}"}'],
    ['PUT', '/v1/config/shoal%2Fx', '{"value":"x"}'],
    ['DELETE', '/v1/config/shoal/acl/tokens/0000000000000001'],
    ['GET', '/v1/config/shoal/acl/tokens/0000000000000001'],
    ['GET', '/v1/config?key=shoal/x'],
    ['GET', '/v1/config?prefix=shoal/'],
    ['GET', '/v1/config?prefix=shoal/acl/'],
    ['GET', '/v1/config/watch?prefix=shoal/'],
    ['POST', '/v1/config/txn', '{"success":[{"put":{"key":"shoal/acl/tokens/x","value":"v"}}]}'],
    ['POST', '/v1/config/txn', '{"success":[{"delete":{"key":"shoal/x"}}]}'],
    ['POST', '/v1/config/txn', '{"failure":[{"get":{"key":"shoal/x"}}]}'],
    ['POST', '/v1/config/txn', '{"compare":[{"key":"shoal/x","target":"version","op":">","value":0}]}'],
  ];
  for (const [method, path, body] of cases) {
    const r = await raw(s.address, method, path, auth, body);
    t.is(r.status, 403, `${method} ${path} ${body ?? ''}`);
    t.is(r.json.error?.code, ErrorCode.Forbidden);
    t.is(r.json.error?.details?.reservedPrefix, 'shoal/');
  }
  t.is(s.backend.local.revision, revision, 'nothing changed');
  t.is(s.backend.local.range('shoal/').count, 1, 'the one token record is still there');
});

test('a range whose prefix covers shoal/ leaves the system keys out of kvs, count and more', async (t) => {
  const { client } = await withTokenAndKeys(t);
  const all = await client.range('');
  t.deepEqual(all.kvs.map((kv) => kv.key), ['a', 'shoal', 'shoal.x', 'shoalfish', 'z']);
  t.is(all.count, 5);
  t.false(all.more);
  const sho = await client.range('sho', { serializable: true });
  t.deepEqual(sho.kvs.map((kv) => kv.key), ['shoal', 'shoal.x', 'shoalfish']);
  t.is(sho.count, 3);
  const limited = await client.range('shoal', { limit: 2 });
  t.deepEqual(limited.kvs.map((kv) => kv.key), ['shoal', 'shoal.x']);
  t.is(limited.count, 3);
  t.true(limited.more);
  t.is((await client.range('', { limit: 5 })).more, false, 'the system keys do not make more true');
});

test('a watch whose prefix covers shoal/ streams no system key changes', async (t) => {
  const { s, client } = await withTokenAndKeys(t);
  const acl = new AclClient(s.address, { token: MANAGEMENT_TOKEN });
  const lines = client.watch('', { fromRevision: 1 });
  const seen: string[] = [];
  const reader = (async () => {
    for await (const line of lines) {
      if (line.type === 'put' || line.type === 'delete') seen.push(`${line.type} ${line.kv.key}`);
      if (seen.includes('put done')) break;
    }
  })();
  const tok = await acl.createToken({ scope: 'write' });
  await acl.revokeToken(tok.id);
  await client.put({ key: 'done', value: '1' });
  await reader;
  t.deepEqual(seen, ['put a', 'put shoal', 'put shoalfish', 'put shoal.x', 'put z', 'put done']);
});
