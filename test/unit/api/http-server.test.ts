import test from 'ava';
import { HttpApiServer, HttpApiLimits } from '../../../src/api/http-server.js';
import { ApiClient } from '../../../src/api/client.js';
import type { MemberView, MembershipService, HealthView } from '../../../src/api/types.js';
import { ErrorCode, ShoalError, isShoalError } from '../../../src/util/errors.js';

const jsonType = { 'content-type': 'application/json' };

class FakeAgent implements MembershipService {
  joins: string[][] = [];
  leaves = 0;
  joinResult: number | ShoalError = 2;
  list: MemberView[] = [
    { name: 'a', addr: '127.0.0.1:1', state: 'alive', incarnation: 3, tags: { role: 'db' } },
    { name: 'b', addr: '127.0.0.1:2', state: 'dead', incarnation: 1, tags: {} },
  ];
  members(): MemberView[] {
    return this.list;
  }
  async join(addrs: string[]): Promise<number> {
    this.joins.push(addrs);
    if (this.joinResult instanceof ShoalError) throw this.joinResult;
    return this.joinResult;
  }
  async leave(): Promise<void> {
    this.leaves++;
  }
  health(): HealthView {
    return { status: 'ok', name: 'a', addr: '127.0.0.1:1', membersAlive: 1, membersTotal: 2, localHealth: 0, uptimeMs: 5 };
  }
}

async function start(t: { teardown(fn: () => Promise<void>): void }, onLeft?: () => void) {
  const fake = new FakeAgent();
  const server = await HttpApiServer.listen({ listen: '127.0.0.1:0', service: fake, onLeft });
  t.teardown(() => server.close());
  return { fake, server, base: `http://${server.address}`, client: new ApiClient(server.address) };
}

test('GET /v1/members returns the member list as JSON', async (t) => {
  const { base, fake } = await start(t);
  const res = await fetch(`${base}/v1/members`);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /application\/json/);
  t.deepEqual(await res.json(), fake.list);
});

test('POST /v1/join passes the addresses and returns the count; bad bodies are 400', async (t) => {
  const { base, fake, client } = await start(t);
  t.is(await client.join(['127.0.0.1:7946', '10.0.0.1:7946']), 2);
  t.deepEqual(fake.joins, [['127.0.0.1:7946', '10.0.0.1:7946']]);
  for (const body of ['{"addrs":[]}', '{"addrs":"x"}', 'not json', '{"addrs":["nohostport:99999"]}', '{"addrs":[1]}']) {
    const res = await fetch(`${base}/v1/join`, { method: 'POST', headers: jsonType, body });
    t.is(res.status, 400, body);
    const json = (await res.json()) as { error: { code: string; message: string } };
    t.true(([ErrorCode.BadRequest, ErrorCode.InvalidArgument] as string[]).includes(json.error.code), body);
    t.true(json.error.message.length > 0);
  }
  t.is(fake.joins.length, 1, 'bad bodies never reach the agent');
});

test('a failed join maps to 503 ERR_JOIN_FAILED and the client rethrows it typed', async (t) => {
  const { fake, client } = await start(t);
  fake.joinResult = new ShoalError(ErrorCode.JoinFailed, 'no seed reached');
  const err = await t.throwsAsync(client.join(['127.0.0.1:1']));
  t.true(isShoalError(err, ErrorCode.JoinFailed));
  t.is(err?.message, 'no seed reached');
  t.is((err as ShoalError).details?.status, 503);
});

test('POST /v1/leave calls leave and then onLeft after the response', async (t) => {
  let leftCalls = 0;
  const { fake, client } = await start(t, () => leftCalls++);
  await client.leave();
  t.is(fake.leaves, 1);
  // onLeft runs on 'finish', which may trail the client's read by a tick.
  for (let i = 0; i < 100 && leftCalls === 0; i++) await new Promise((r) => setTimeout(r, 5));
  t.is(leftCalls, 1);
});

test('unknown paths are 404, wrong methods 405, and bodies are bounded', async (t) => {
  const { base, fake } = await start(t);
  const r404 = await fetch(`${base}/v1/nope`);
  t.is(r404.status, 404);
  t.is(((await r404.json()) as { error: { code: string } }).error.code, ErrorCode.NotFound);
  const r405 = await fetch(`${base}/v1/members`, { method: 'DELETE' });
  t.is(r405.status, 405);
  const big = JSON.stringify({ addrs: ['127.0.0.1:1'], pad: 'x'.repeat(HttpApiLimits.bodyMaxBytes) });
  const r413 = await fetch(`${base}/v1/join`, { method: 'POST', headers: jsonType, body: big });
  t.is(r413.status, 413);
  t.is(fake.joins.length, 0);
  const health = await (await fetch(`${base}/v1/health`)).json();
  t.is((health as HealthView).status, 'ok');
});

test('the client reports an agent that is not running as ERR_UNREACHABLE', async (t) => {
  const { server } = await start(t);
  const addr = server.address;
  await server.close();
  const err = await t.throwsAsync(new ApiClient(addr).members());
  t.true(isShoalError(err, ErrorCode.Unreachable));
  t.regex(err?.message ?? '', /cannot reach the agent/);
});
