/**
 * Identity on every connection, with real agents on loopback: a peer of
 * another cluster (label, or cluster id) and a known live name presented
 * with a new node id are refused at the handshake, counted, and nothing they
 * send reaches the gossip core. A member restarted with a wiped data
 * directory gets in once gossip has learned its new node id (the refusal
 * makes the others suspect the old identity; the new process refutes).
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent } from '../../src/agent/agent.js';
import type { AgentConfig } from '../../src/agent/config.js';
import { TAG_NODE_ID } from '../../src/cluster/identity.js';
import { ErrorCode, isShoalError } from '../../src/util/errors.js';
import { waitUntil } from './wait.js';
import { tempDataDirs } from '../support/temp-dirs.js';

const start = (name: string, extra: AgentConfig = {}): Promise<Agent> =>
  Agent.start({ name, bind: '127.0.0.1:0', preset: 'local', joinTimeoutMs: 3_000, ...extra });

test('another cluster label is refused at the handshake, counted, and the clusters stay apart', async (t) => {
  const a = await start('a', { clusterLabel: 'blue' });
  const b = await start('b', { clusterLabel: 'green' });
  t.teardown(() => Promise.all([a.stop({ leave: false }), b.stop({ leave: false })]).then(() => undefined));
  const framesBefore = a.stats.shell.framesIn.decoded;
  const e = await t.throwsAsync(b.join([a.addr]));
  t.true(isShoalError(e, ErrorCode.JoinFailed), String(e));
  t.true(a.stats.transport.refusedInbound['cluster-label'] >= 1, 'the listener counted the refusal');
  t.is(a.stats.shell.framesIn.decoded, framesBefore, 'no frame of the refused peer reached the gossip shell');
  t.deepEqual(a.members().map((m) => m.name), ['a']);
  t.deepEqual(b.members().map((m) => m.name), ['b']);
});

test('another cluster id is refused once both have bootstrapped', async (t) => {
  const dataDir = tempDataDirs(t);
  const a = await start('a', { control: { bootstrapExpect: 1 }, dataDir: dataDir('a') });
  const b = await start('b', { control: { bootstrapExpect: 1 }, dataDir: dataDir('b') });
  t.teardown(() => Promise.all([a.stop({ leave: false }), b.stop({ leave: false })]).then(() => undefined));
  t.true(await waitUntil(() => (a.raftStatus()?.clusterId ?? '') !== '' && (b.raftStatus()?.clusterId ?? '') !== '', 15_000), 'both bootstrapped');
  t.not(a.raftStatus()!.clusterId, b.raftStatus()!.clusterId);
  const e = await t.throwsAsync(b.join([a.addr]));
  t.true(isShoalError(e, ErrorCode.JoinFailed), String(e));
  t.true(a.stats.transport.refusedInbound['cluster-id'] >= 1, 'counted by reason');
  t.deepEqual(a.members().map((m) => m.name), ['a']);
});

test('a known live name with a new node id is refused until gossip learns the new id; then it joins', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-identity-'));
  const a = await start('a');
  let b = await start('b', { dataDir: path.join(dir, 'b'), join: [a.addr] });
  const agents = [a, b];
  t.teardown(async () => {
    await Promise.all(agents.map((x) => x.stop({ leave: false })));
    await rm(dir, { recursive: true, force: true });
  });
  const oldId = b.nodeId;
  t.is(a.members().find((m) => m.name === 'b')?.tags[TAG_NODE_ID], oldId);
  const port = b.addr.slice(b.addr.lastIndexOf(':') + 1);
  // A crash and a wiped disk: same name, same address, a new data directory.
  await b.stop({ leave: false });
  const framesBefore = a.stats.shell.framesIn.decoded;
  b = await start('b', { bind: `127.0.0.1:${port}`, dataDir: path.join(dir, 'b-wiped') });
  agents.push(b);
  t.not(b.nodeId, oldId);
  const e = await t.throwsAsync(b.join([a.addr]));
  t.true(isShoalError(e, ErrorCode.JoinFailed), String(e));
  t.true(a.stats.transport.refusedInbound['node-id'] >= 1, 'refused for its node id, and counted');
  t.is(a.stats.shell.framesIn.decoded, framesBefore, 'nothing of the refused connection reached the gossip core');
  // The refusal made a suspect the identity it knew; the new process refutes with its own node id.
  t.true(await waitUntil(() => a.members().find((m) => m.name === 'b')?.tags[TAG_NODE_ID] === b.nodeId, 15_000), 'a learned the new node id');
  t.is(await b.join([a.addr]), 1, 'then the join succeeds');
  t.true(await waitUntil(() => b.members().filter((m) => m.state === 'alive').length === 2, 10_000));
});
