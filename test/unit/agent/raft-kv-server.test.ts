import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePorts } from '../../../src/agent/raft-kv-cluster.js';
import { RaftKvClient } from '../../../src/agent/raft-kv-client.js';
import { RaftKvServer } from '../../../src/agent/raft-kv-server.js';
import { RaftShell } from '../../../src/agent/raft-shell.js';
import type { HostPort } from '../../../src/util/address.js';

const host = '127.0.0.1';

interface Node {
  shell: RaftShell;
  server: RaftKvServer;
}

async function startNodes(ids: string[], which: string[]): Promise<{ nodes: Map<string, Node>; close: () => Promise<void> }> {
  const ports = await freePorts(ids.length);
  const base = await mkdtemp(path.join(tmpdir(), 'raft-kv-server-'));
  const voters = new Map<string, HostPort>(ids.map((id, i) => [id, { host, port: ports[i] }]));
  const nodes = new Map<string, Node>();
  for (const id of which) {
    const shell = await RaftShell.start({ id, voters, dataDir: path.join(base, id), proposalTimeoutMs: 500, readTimeoutMs: 500, leaderWaitMs: 300 });
    nodes.set(id, { shell, server: await RaftKvServer.listen({ host, port: 0 }, shell) });
  }
  return {
    nodes,
    close: async () => {
      for (const n of nodes.values()) {
        await n.server.close();
        await n.shell.close();
      }
      await rm(base, { recursive: true, force: true });
    },
  };
}

async function waitForLeader(nodes: Map<string, Node>): Promise<Node> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const l = [...nodes.values()].find((n) => n.shell.status().role === 'leader');
    if (l !== undefined) return l;
    if (Date.now() > deadline) throw new Error('no leader');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function raw(at: HostPort, method: string, url: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://${at.host}:${at.port}${url}`, { method, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('PUT, GET, CAS and DELETE through leader and follower, with revisions', async (t) => {
  const c = await startNodes(['a', 'b', 'c'], ['a', 'b', 'c']);
  const kv = new RaftKvClient();
  t.teardown(async () => {
    kv.close();
    await c.close();
  });
  const leader = await waitForLeader(c.nodes);
  const follower = [...c.nodes.values()].find((n) => n !== leader)!;
  const p1 = await kv.put(follower.server.address, 'k/1 é', 'v1');
  t.true(p1.ok);
  const g1 = await kv.get(leader.server.address, 'k/1 é');
  t.true(g1.ok && g1.value.value === 'v1' && p1.ok && g1.value.index >= p1.value.index, JSON.stringify(g1));
  const casFail = await kv.cas(leader.server.address, 'k/1 é', 'nope', 'v2');
  t.true(casFail.ok && !casFail.value.ok && casFail.value.current === 'v1', JSON.stringify(casFail));
  const casOk = await kv.cas(follower.server.address, 'k/1 é', 'v1', 'v2');
  t.true(casOk.ok && casOk.value.ok, JSON.stringify(casOk));
  const casAbsent = await kv.cas(leader.server.address, 'fresh', null, 'first');
  t.true(casAbsent.ok && casAbsent.value.ok, 'cas with expected null creates an absent key');
  const del = await kv.delete(follower.server.address, 'k/1 é');
  t.true(del.ok && del.value.existed);
  const gone = await raw(leader.server.address, 'GET', `/kv/${encodeURIComponent('k/1 é')}`);
  t.is(gone.status, 404);
  t.is(gone.json.value, null);
  const status = await raw(follower.server.address, 'GET', '/status');
  t.is(status.json.leader, leader.shell.id);
  t.deepEqual(status.json.voters, ['a', 'b', 'c']);
  t.true((status.json.applied as number) >= 1);
});

test('client-supplied request ids are applied at most once', async (t) => {
  const c = await startNodes(['a', 'b', 'c'], ['a', 'b', 'c']);
  t.teardown(() => c.close());
  const leader = await waitForLeader(c.nodes);
  const at = leader.server.address;
  const first = await raw(at, 'POST', '/kv/ctr/cas', JSON.stringify({ expected: null, value: '1', clientId: 'cli', seq: 1 }));
  t.is(first.json.ok, true);
  // The retry of seq 1 is answered from the session: same answer, not applied again (else it would fail now).
  const retry = await raw(at, 'POST', '/kv/ctr/cas', JSON.stringify({ expected: null, value: '1', clientId: 'cli', seq: 1 }));
  t.is(retry.status, 200);
  t.is(retry.json.ok, true);
  t.true((retry.json.index as number) > (first.json.index as number), 'the retry went through the log again');
  const next = await raw(at, 'PUT', '/kv/ctr', JSON.stringify({ value: '2', clientId: 'cli', seq: 2 }));
  t.is(next.status, 200);
  const stale = await raw(at, 'PUT', '/kv/ctr', JSON.stringify({ value: 'old', clientId: 'cli', seq: 1 }));
  t.is(stale.status, 409);
  t.is((stale.json.error as Record<string, unknown>).code, 'ERR_STALE_REQUEST');
  const expired = await raw(at, 'PUT', '/kv/ctr', JSON.stringify({ value: 'x', clientId: 'never-seen', seq: 5 }));
  t.is((expired.json.error as Record<string, unknown>).code, 'ERR_SESSION_EXPIRED');
  const value = await raw(at, 'GET', '/kv/ctr');
  t.is(value.json.value, '2');
});

test('bad requests are refused with 4xx and a code', async (t) => {
  const c = await startNodes(['a'], ['a']);
  t.teardown(() => c.close());
  const at = (await waitForLeader(c.nodes)).server.address;
  const cases: [string, string, string | undefined, number][] = [
    ['PUT', '/kv/k', 'not json', 400],
    ['PUT', '/kv/k', '{"value": 5}', 400],
    ['PUT', '/kv/k', '[1]', 400],
    ['POST', '/kv/k/cas', '{"expected": 3, "value": "v"}', 400],
    ['GET', '/kv/%E0%A4%A', undefined, 400],
    ['GET', '/nope', undefined, 404],
    ['PATCH', '/kv/k', '{}', 405],
    ['PUT', `/kv/${'x'.repeat(2000)}`, '{"value":"v"}', 400],
    ['PUT', '/kv/k', JSON.stringify({ value: 'v', clientId: 'c', seq: 0 }), 400],
  ];
  for (const [method, url, body, status] of cases) {
    const res = await raw(at, method, url, body);
    t.is(res.status, status, `${method} ${url.slice(0, 40)}`);
    t.true(String((res.json.error as Record<string, unknown>).code).startsWith('ERR_'));
  }
  const big = await fetch(`http://${at.host}:${at.port}/kv/k`, { method: 'PUT', body: 'x'.repeat(3 * 1024 * 1024) }).catch(() => undefined);
  t.is(big?.status, 413, 'an oversized body is refused with 413, not a cut connection');
});

test('without a quorum writes and reads fail fast with 503 and a code; nothing is acknowledged', async (t) => {
  const c = await startNodes(['a', 'b', 'c'], ['a']);
  t.teardown(() => c.close());
  const at = c.nodes.get('a')!.server.address;
  for (const [method, url, body] of [
    ['PUT', '/kv/k', '{"value":"v"}'],
    ['GET', '/kv/k', undefined],
    ['DELETE', '/kv/k', undefined],
  ] as const) {
    const started = Date.now();
    const res = await raw(at, method, url, body);
    t.is(res.status, 503);
    const err = res.json.error as Record<string, unknown>;
    t.is(err.code, 'ERR_NOT_LEADER');
    t.is(err.outcome, 'not-applied');
    t.true(Date.now() - started < 1000);
  }
});
