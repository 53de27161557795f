/**
 * Gossip encryption with real agents on loopback: an encrypted cluster keeps
 * out a member with a wrong key or none (its joins fail; its forged Dead,
 * Leave, Suspect and Alive are dropped and counted); keys rotate across five
 * live agents with no member ever suspected; a running plain cluster of five
 * moves to encryption with no member marked dead; two clusters with different
 * labels on the same port of one network never merge.
 */
import test from 'ava';
import * as dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent } from '../../src/agent/agent.js';
import type { AgentConfig } from '../../src/agent/config.js';
import { MessageType, type GossipMessage } from '../../src/gossip/messages.js';
import { encodePacket } from '../../src/wire/gossip-codec.js';
import { Keyring, encrypt, formatKey, generateKey } from '../../src/wire/crypto.js';
import { parseHostPort } from '../../src/util/address.js';
import { ErrorCode, isShoalError } from '../../src/util/errors.js';
import { waitUntil } from './wait.js';

const start = (name: string, extra: AgentConfig = {}): Promise<Agent> =>
  Agent.start({ name, bind: '127.0.0.1:0', preset: 'local', joinTimeoutMs: 3_000, ...extra });

async function cluster(n: number, extra: (i: number) => AgentConfig): Promise<Agent[]> {
  const agents = [await start('n0', extra(0))];
  for (let i = 1; i < n; i++) agents.push(await start(`n${i}`, { join: [agents[0]!.addr], ...extra(i) }));
  return agents;
}

const allAlive = (agents: Agent[]): boolean => agents.every((a) => a.members().filter((m) => m.state === 'alive').length === agents.length);

/** Every suspicion or failure any agent reports while the test runs. */
function watchForTrouble(agents: Agent[]): string[] {
  const seen: string[] = [];
  for (const a of agents) {
    a.on('member-suspect', (m) => seen.push(`${a.name} suspects ${m.name}`));
    a.on('member-failed', (m) => seen.push(`${a.name} failed ${m.name}`));
  }
  return seen;
}

function sendDatagram(to: string, data: Uint8Array): Promise<void> {
  const hp = parseHostPort(to);
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => s.send(data, hp.port, hp.host, () => s.close(() => resolve())));
}

test('a member with a wrong key or none cannot join, and its forged Dead, Leave, Suspect and Alive are dropped and counted', async (t) => {
  const key = formatKey(generateKey());
  const agents = await cluster(3, () => ({ encrypt: key }));
  t.teardown(() => Promise.all(agents.map((a) => a.stop({ leave: false }))).then(() => undefined));
  t.true(await waitUntil(() => allAlive(agents), 10_000), 'the encrypted cluster formed');
  const wrong = await start('intruder', { encrypt: formatKey(generateKey()) });
  const plain = await start('plain');
  t.teardown(() => Promise.all([wrong.stop({ leave: false }), plain.stop({ leave: false })]).then(() => undefined));
  for (const outsider of [wrong, plain]) {
    const e = await t.throwsAsync(outsider.join([agents[0]!.addr]));
    t.true(isShoalError(e, ErrorCode.JoinFailed), `${outsider.name}: ${String(e)}`);
  }
  const target = agents[0]!;
  const victim = agents[1]!;
  const inc = victim.localMember().incarnation;
  const forged: GossipMessage[] = [
    { type: MessageType.Dead, incarnation: inc + 1000, name: victim.name, from: 'intruder' },
    { type: MessageType.Leave, incarnation: inc + 1000, name: victim.name },
    { type: MessageType.Suspect, incarnation: inc + 1000, name: victim.name, from: 'intruder' },
    { type: MessageType.Alive, incarnation: inc + 1000, name: victim.name, addr: '127.0.0.1:9', tags: {} },
  ];
  const before = { ...target.stats.transport.packetsRefused };
  for (const msg of forged) {
    await sendDatagram(target.addr, encodePacket([msg]));
    await sendDatagram(target.addr, encrypt(new Keyring(generateKey()), '', encodePacket([msg])));
  }
  t.true(await waitUntil(() => target.stats.transport.packetsRefused.plain === before.plain + 4 && target.stats.transport.packetsRefused.key === before.key + 4, 5_000), 'all eight dropped and counted');
  const seen = target.members().find((m) => m.name === victim.name)!;
  t.is(seen.state, 'alive');
  t.is(seen.addr, victim.addr, 'the forged Alive did not move its address');
  t.true(seen.incarnation < inc + 1000);
  t.deepEqual(wrong.members().map((m) => m.name), ['intruder']);
});

test('key rotation across 5 live agents: install, use, remove, with no member ever suspected', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-rotate-'));
  const k1 = formatKey(generateKey());
  const k2 = formatKey(generateKey());
  const agents = await cluster(5, (i) => ({ encrypt: k1, dataDir: path.join(dir, `n${i}`) }));
  t.teardown(async () => {
    await Promise.all(agents.map((a) => a.stop({ leave: false })));
    await rm(dir, { recursive: true, force: true });
  });
  t.true(await waitUntil(() => allAlive(agents), 15_000));
  const trouble = watchForTrouble(agents);
  const installed = await agents[2]!.keyring.install(k2);
  t.is(installed.failed, 0, JSON.stringify(installed.members.filter((m) => !m.ok)));
  t.is(installed.keys[k2]?.length, 5, 'every member holds the new key');
  const used = await agents[3]!.keyring.use(k2);
  t.is(used.primaries[k2]?.length, 5, 'every member seals with it');
  const removed = await agents[0]!.keyring.remove(k1);
  t.is(removed.failed, 0);
  t.false(k1 in removed.keys, 'nobody accepts the old key');
  // Gossip keeps flowing under the new key for a few protocol periods.
  const pingsBefore = agents[4]!.stats.transport.packetsReceived;
  t.true(await waitUntil(() => agents[4]!.stats.transport.packetsReceived > pingsBefore + 6, 10_000));
  t.true(allAlive(agents));
  t.deepEqual(trouble, [], 'no member was ever suspected');
  const list = await agents[1]!.keyring.list();
  t.deepEqual(Object.keys(list.keys), [k2]);
  // A bad request fails before anything is sent.
  await t.throwsAsync(agents[0]!.keyring.remove(k2), { message: /primary/ });
  await t.throwsAsync(agents[0]!.keyring.use('not-a-key'), { message: /32 bytes/ });
});

test('plain to encrypted: a running 5-member cluster migrates with the verify switches, no member marked dead', async (t) => {
  const agents = await cluster(5, () => ({}));
  t.teardown(() => Promise.all(agents.map((a) => a.stop({ leave: false }))).then(() => undefined));
  t.true(await waitUntil(() => allAlive(agents), 15_000));
  const trouble = watchForTrouble(agents);
  const key = formatKey(generateKey());
  const step1 = await agents[0]!.keyring.install(key);
  t.is(step1.failed, 0);
  t.true(step1.members.every((m) => m.verifyIncoming === false && m.verifyOutgoing === false), 'installed in migration mode');
  const step2 = await agents[1]!.keyring.verify({ outgoing: true });
  t.true(step2.members.every((m) => m.verifyOutgoing === true));
  const sealedBefore = agents[2]!.stats.transport.packetsReceived;
  t.true(await waitUntil(() => agents[2]!.stats.transport.packetsReceived > sealedBefore + 6, 10_000));
  const step3 = await agents[2]!.keyring.verify({ incoming: true });
  t.true(step3.members.every((m) => m.verifyIncoming === true));
  // From now on plain traffic is refused everywhere, and the cluster carries on sealed.
  const target = agents[3]!;
  const refused = target.stats.transport.packetsRefused.plain;
  await sendDatagram(target.addr, encodePacket([{ type: MessageType.Dead, incarnation: 99, name: 'n1', from: 'x' }]));
  t.true(await waitUntil(() => target.stats.transport.packetsRefused.plain === refused + 1, 5_000));
  const later = agents[4]!.stats.transport.packetsReceived;
  t.true(await waitUntil(() => agents[4]!.stats.transport.packetsReceived > later + 6, 10_000));
  t.true(allAlive(agents));
  t.deepEqual(trouble.filter((x) => x.includes('failed')), [], 'no member marked dead');
});

test('two clusters with different labels on the same port of one network never merge', async (t) => {
  const key = formatKey(generateKey());
  // One port, two hosts each: 127.0.0.2/.3 are blue, 127.0.0.4/.5 green (all share one key: only the label keeps them apart).
  const port = 17000 + (process.pid % 2000);
  const blue = [await start('b0', { bind: `127.0.0.2:${port}`, clusterLabel: 'blue', encrypt: key })];
  blue.push(await start('b1', { bind: `127.0.0.3:${port}`, clusterLabel: 'blue', encrypt: key, join: [blue[0]!.addr] }));
  const green = [await start('g0', { bind: `127.0.0.4:${port}`, clusterLabel: 'green', encrypt: key })];
  green.push(await start('g1', { bind: `127.0.0.5:${port}`, clusterLabel: 'green', encrypt: key, join: [green[0]!.addr] }));
  const all = [...blue, ...green];
  t.teardown(() => Promise.all(all.map((a) => a.stop({ leave: false }))).then(() => undefined));
  await t.throwsAsync(green[1]!.join([blue[0]!.addr]));
  await t.throwsAsync(blue[1]!.join([green[0]!.addr]));
  // Gossip between them for a while: each side's datagrams fail the other's authentication.
  t.true(await waitUntil(() => blue[0]!.stats.transport.packetsReceived > 8 && green[0]!.stats.transport.packetsReceived > 8, 10_000));
  for (const a of blue) t.deepEqual(a.members().map((m) => m.name).sort(), ['b0', 'b1']);
  for (const a of green) t.deepEqual(a.members().map((m) => m.name).sort(), ['g0', 'g1']);
  t.true(blue[0]!.stats.transport.refusedInbound.key + blue[0]!.stats.transport.refusedInbound['cluster-label'] >= 1);
});
