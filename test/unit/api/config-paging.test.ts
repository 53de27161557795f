/**
 * GET /v1/config pagination (limit, limitBytes, continuation, after) and
 * keys from the raw path: dot segments are refused, never resolved.
 */
import test from 'ava';
import * as http from 'node:http';
import type { RangeOptions, RangeView } from '../../../src/api/config-types.js';
import { kvView } from '../../../src/api/config-views.js';
import { HttpApiServer } from '../../../src/api/http-server.js';
import type { MembershipService } from '../../../src/api/types.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';
import { fakeApi, type FakeBackend } from './config-fake.js';

const membership: MembershipService = {
  members: () => [],
  join: async () => 0,
  leave: async () => {},
  health: () => ({ status: 'ok', name: 'a', addr: '127.0.0.1:1', membersAlive: 1, membersTotal: 1, localHealth: 0, uptimeMs: 1 }),
};

/** The fake API, with range() handing every page option to the store (the agent's ControlService does the same once it passes them on). */
async function start(t: { teardown(fn: () => Promise<void>): void }): Promise<{ backend: FakeBackend; base: string; address: string }> {
  const { backend, api } = fakeApi();
  api.range = async (prefix: string, options: RangeOptions = {}): Promise<RangeView> => {
    const { signal: _signal, serializable: _serializable, ...page } = options;
    const r = backend.local.range(prefix, page);
    return { kvs: r.kvs.map(kvView), count: r.count, more: r.more, revision: r.revision, ...(r.continuation === undefined ? {} : { continuation: r.continuation }) };
  };
  const server = await HttpApiServer.listen({ listen: '127.0.0.1:0', service: membership, control: api });
  t.teardown(() => server.close());
  return { backend, base: `http://${server.address}`, address: server.address };
}

type Page = RangeView & { error?: { code: string; details?: Record<string, unknown> } };

async function get(base: string, path: string): Promise<{ status: number; json: Page }> {
  const res = await fetch(base + path);
  return { status: res.status, json: (await res.json()) as Page };
}

/** A request with the path exactly as given (fetch and URL would resolve its dot segments first). */
function raw(address: string, method: string, path: string, body?: object): Promise<{ status: number; json: Record<string, unknown> & { error?: { code: string } } }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host, port: Number(port), method, path, headers: text === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) as Record<string, unknown> & { error?: { code: string } } }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

test('GET /v1/config pages with limit and continuation at one revision; count is what is left; limitBytes stops a page', async (t) => {
  const { backend, base } = await start(t);
  for (let i = 0; i < 25; i++) backend.apply({ type: 'put', key: `app/${String(i).padStart(2, '0')}`, value: new TextEncoder().encode('v'.repeat(100)) });
  const first = await get(base, '/v1/config?prefix=app/&limit=10');
  t.is(first.status, 200);
  t.is(first.json.kvs.length, 10);
  t.is(first.json.count, 25);
  t.true(first.json.more);
  t.is(typeof first.json.continuation, 'string');
  // Written between pages: the next pages still read the first page's revision.
  backend.apply({ type: 'put', key: 'app/00a', value: new TextEncoder().encode('late') });
  const keys = first.json.kvs.map((kv) => kv.key);
  let page = first.json;
  while (page.more) {
    const next = await get(base, `/v1/config?prefix=app/&limit=10&continuation=${encodeURIComponent(page.continuation!)}`);
    t.is(next.status, 200);
    t.is(next.json.revision, first.json.revision);
    t.is(next.json.count, 25 - keys.length);
    keys.push(...next.json.kvs.map((kv) => kv.key));
    page = next.json;
  }
  t.deepEqual(
    keys,
    Array.from({ length: 25 }, (_, i) => `app/${String(i).padStart(2, '0')}`),
  );
  t.is(page.continuation, undefined);
  // Backward compatible: without the new parameters the answer is what it was (and has no continuation when complete).
  const all = await get(base, '/v1/config?prefix=app/');
  t.is(all.json.kvs.length, 26);
  t.false(all.json.more);
  t.false('continuation' in all.json);
  // after= (the older form) and limitBytes.
  const after = await get(base, '/v1/config?prefix=app/&after=app/20');
  t.deepEqual(
    after.json.kvs.map((kv) => kv.key),
    ['app/21', 'app/22', 'app/23', 'app/24'],
  );
  const small = await get(base, '/v1/config?prefix=app/&limitBytes=220'); // app/00 (106 bytes), app/00a (11), not app/01
  t.is(small.json.kvs.length, 2);
  t.true(small.json.more);
  // Bad continuations and combinations are 400.
  t.is((await get(base, '/v1/config?prefix=app/&continuation=nope')).status, 400);
  t.is((await get(base, `/v1/config?prefix=app/&after=app/01&continuation=${first.json.continuation!}`)).status, 400);
  t.is((await get(base, '/v1/config?prefix=app/&limitBytes=0')).status, 400);
});

test('a range over the system keys pages without them: counts and continuations skip shoal/', async (t) => {
  const { backend, base } = await start(t);
  for (const k of ['a', 'b', 'shoal/x', 'shoal/y', 'shoal/z', 't', 'u', 'v']) backend.apply({ type: 'put', key: k, value: new TextEncoder().encode(k) });
  const seen: string[] = [];
  let path = '/v1/config?prefix=&limit=2';
  let counts: number[] = [];
  for (let i = 0; i < 10; i++) {
    const page = await get(base, path);
    t.is(page.status, 200);
    counts.push(page.json.count);
    seen.push(...page.json.kvs.map((kv) => kv.key));
    if (!page.json.more) break;
    path = `/v1/config?prefix=&limit=2&continuation=${encodeURIComponent(page.json.continuation!)}`;
  }
  t.deepEqual(seen, ['a', 'b', 't', 'u', 'v']);
  t.deepEqual(counts, [5, 3, 1]);
});

test('URL dot segments never change keys: PUT /v1/config/a/../b is refused (it would write b), an encoded slash is taken as is', async (t) => {
  const { backend, address } = await start(t);
  for (const path of ['/v1/config/a/../b', '/v1/config/a/./b', '/v1/config/a/%2e%2E/b', '/v1/config/x/..', '/v1/config/a\\..\\b', '/v1/x/../config/b']) {
    const r = await raw(address, 'PUT', path, { value: 'x' });
    t.is(r.status, 400, path);
    t.is(r.json.error?.code, ErrorCode.InvalidArgument, path);
  }
  t.is(backend.local.revision, 0, 'nothing was written');
  t.is((await raw(address, 'GET', '/v1/config/a/../b')).status, 400);
  // The key a/../b itself is fine, sent with its slashes encoded (as ConfigClient does).
  const put = await raw(address, 'PUT', '/v1/config/a%2F..%2Fb', { value: 'literal' });
  t.is(put.status, 200);
  t.is(backend.local.get('a/../b')?.version, 1);
  t.is(backend.local.get('b'), undefined);
  // Dots that are not whole segments are ordinary characters.
  t.is((await raw(address, 'PUT', '/v1/config/a/..b/.c/...', { value: 'y' })).status, 200);
  t.is(backend.local.get('a/..b/.c/...')?.version, 1);
});

test('ERR_NO_SPACE is 507 Insufficient Storage', async (t) => {
  const { backend, address } = await start(t);
  backend.failure = new ShoalError(ErrorCode.NoSpace, 'no space: quota reached', { details: { usedBytes: 10, quotaBytes: 10 } });
  const r = await raw(address, 'PUT', '/v1/config/k', { value: 'x' });
  t.is(r.status, 507);
  t.is(r.json.error?.code, 'ERR_NO_SPACE');
});
