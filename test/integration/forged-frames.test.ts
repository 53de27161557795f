/**
 * Forged Raft and cluster-transport frames from a process that is not a
 * member change nothing: three agents form a control plane; a stranger that
 * speaks the handshake (no key configured) sends Raft heartbeats and appends
 * with a huge term, under its own name and under a voter's name, and control
 * requests. Term, log, commit and voters stay as they were. With a cluster
 * key, the stranger cannot even open a stream.
 */
import test from 'ava';
import { Agent } from '../../src/agent/agent.js';
import { ClusterNetTransport } from '../../src/cluster/net-transport.js';
import { StreamKind } from '../../src/cluster/kinds.js';
import { MessageType, EntryType, type Message } from '../../src/raft/types.js';
import { encodeRaftMessage } from '../../src/wire/raft-codec.js';
import { formatKey, generateKey } from '../../src/wire/crypto.js';
import { tempDataDirs } from '../support/temp-dirs.js';
import { waitUntil } from './wait.js';

function raft(type: MessageType, from: string, to: string, term: number, extra: Partial<Message> = {}): Uint8Array {
  return encodeRaftMessage({ type, from, to, term, index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(0), ...extra });
}

async function formedCluster(t: Parameters<typeof tempDataDirs>[0], extra: { encrypt?: string } = {}): Promise<Agent[]> {
  const dataDir = tempDataDirs(t);
  const agents: Agent[] = [];
  for (const name of ['n1', 'n2', 'n3']) {
    agents.push(await Agent.start({ name, bind: '127.0.0.1:0', preset: 'local', dataDir: dataDir(name), join: agents.length > 0 ? [agents[0]!.addr] : [], control: { bootstrapExpect: 3 }, ...extra }));
  }
  return agents;
}

test('forged Raft frames from a non-member, under its own name or a voter\'s, change no term, log, commit or voters', async (t) => {
  const agents = await formedCluster(t);
  t.teardown(() => Promise.all(agents.map((a) => a.stop({ leave: false }))).then(() => undefined));
  t.true(await waitUntil(() => agents.every((a) => (a.raftStatus()?.leader ?? '') !== '' && a.raftStatus()!.voters.length === 3), 20_000), 'formed');
  await agents[0]!.config.put('k', 'v');
  const before = agents.map((a) => a.raftStatus()!);
  const leader = before[0]!.leader;
  const follower = agents.find((a) => a.name !== leader)!;
  const rogue = await ClusterNetTransport.listen({
    bind: { host: '127.0.0.1', port: 0 },
    identity: { clusterLabel: '', clusterId: before[0]!.clusterId, name: 'rogue', nodeId: 'rogue-id' },
    advertise: (port) => `127.0.0.1:${port}`,
  });
  t.teardown(() => rogue.close());
  const huge = 2 ** 47;
  const forged: Uint8Array[] = [];
  for (const from of ['rogue', leader]) {
    forged.push(raft(MessageType.Heartbeat, from, follower.name, huge, { commit: 10_000 }));
    forged.push(raft(MessageType.App, from, follower.name, huge, { index: before[0]!.commitIndex, logTerm: before[0]!.term, commit: 10_000, entries: [{ term: huge, index: before[0]!.commitIndex + 1, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) }] }));
    forged.push(raft(MessageType.Vote, from, follower.name, huge, { index: 1_000_000, logTerm: huge }));
    forged.push(raft(MessageType.AppResp, from, leader, before[0]!.term, { index: 1_000_000 }));
  }
  const forgedSeen = (): number => agents.reduce((n, a) => n + ((a.raftStatus() as { shell?: { messagesForged?: number } }).shell?.messagesForged ?? 0), 0);
  for (const target of agents) for (const f of forged) t.true(rogue.post(target.addr, StreamKind.Raft, f), 'the frame was queued');
  // Delivered (the rogue could connect: no key is configured) and handled: every shell saw the voter-named ones.
  t.true(await waitUntil(() => forgedSeen() >= 4 * agents.length, 5_000), `handled ${forgedSeen()}`);
  const after = agents.map((a) => a.raftStatus()!);
  for (let i = 0; i < agents.length; i++) {
    t.is(after[i]!.term, before[i]!.term, `${agents[i]!.name}: term unchanged`);
    t.deepEqual(after[i]!.voters, before[i]!.voters, 'voters unchanged');
    t.true(after[i]!.commitIndex <= before[i]!.commitIndex + 2, 'commit moved only by the cluster itself');
  }
  t.is(after[0]!.leader, leader, 'the same leader');
  t.is((await agents[1]!.config.get('k'))?.value, 'v', 'the data is intact and served');
  t.is(forgedSeen(), 4 * agents.length, "each frame claiming a voter's name was dropped by the shell");
});

test('with a cluster key, a stranger without it cannot open a stream at all', async (t) => {
  const key = formatKey(generateKey());
  const agents = await formedCluster(t, { encrypt: key });
  t.teardown(() => Promise.all(agents.map((a) => a.stop({ leave: false }))).then(() => undefined));
  t.true(await waitUntil(() => agents.every((a) => (a.raftStatus()?.leader ?? '') !== ''), 20_000));
  const rogue = await ClusterNetTransport.listen({
    bind: { host: '127.0.0.1', port: 0 },
    identity: { clusterLabel: '', clusterId: '', name: 'rogue', nodeId: 'rogue-id' },
    advertise: (port) => `127.0.0.1:${port}`,
  });
  t.teardown(() => rogue.close());
  const term = agents[0]!.raftStatus()!.term;
  await t.throwsAsync(rogue.send(agents[0]!.addr, StreamKind.Raft, raft(MessageType.Heartbeat, 'rogue', agents[0]!.name, 2 ** 47)));
  t.true(agents[0]!.stats.transport.refusedInbound.plain >= 1);
  t.is(agents[0]!.raftStatus()!.term, term);
});
