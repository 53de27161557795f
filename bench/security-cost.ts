/**
 * `npm run bench:security`: the cost of gossip encryption and of mutual TLS,
 * each as a same-run ratio against plain, on this machine, back to back:
 *
 *  - config-put at 64 clients (3 `shoal agent` processes, the leader's HTTP
 *    API): plain, --encrypt KEY (sealed streams), TLS (mutual, with --encrypt
 *    off: streams under TLS);
 *  - gossip: N agents in one process for a steady window, messages per member
 *    per second and CPU per agent, plain vs encrypted.
 *
 * One JSON line per measurement, then one per ratio. Goal (issue): >= 0.8.
 *   SHOAL_BENCH_MS=5000  measured time per config level;  --gossip-n 50 --gossip-sec 20
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent } from '../src/agent/agent.js';
import { createCa, createMemberCert } from '../src/cli/tls-certs.js';
import { formatKey, generateKey } from '../src/wire/crypto.js';
import { benchPut, builtAgentBin, startBenchCluster } from './config-put.js';

const bin = builtAgentBin();
const durationMs = Number(process.env.SHOAL_BENCH_MS ?? 5000);
const argv = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const gossipN = arg('--gossip-n', 50);
const gossipSec = arg('--gossip-sec', 20);
const key = formatKey(generateKey());

const dir = mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-sec-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const ca = createCa({ commonName: 'bench CA', days: 1 });
writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
const tlsArgs = (i: number): string[] => {
  const name = `n${i}`;
  const pair = createMemberCert(ca, { name, dns: [], ips: ['127.0.0.1'], days: 1 });
  writeFileSync(path.join(dir, `${name}.pem`), pair.certPem);
  writeFileSync(path.join(dir, `${name}-key.pem`), pair.keyPem);
  return ['--tls-cert', path.join(dir, `${name}.pem`), '--tls-key', path.join(dir, `${name}-key.pem`), '--tls-ca', path.join(dir, 'ca.pem')];
};

async function configPut(mode: 'plain' | 'encrypted' | 'tls'): Promise<number> {
  const { cluster, leader } = await startBenchCluster(bin, mode === 'encrypted' ? ['--encrypt', key] : [], mode === 'tls' ? tlsArgs : undefined);
  try {
    const line = await benchPut(cluster, leader, 64, durationMs);
    console.log(JSON.stringify({ ...line, mode }));
    return line.opsPerSec as number;
  } finally {
    await cluster.stopAll();
  }
}

async function gossip(encrypted: boolean): Promise<number> {
  const extra = encrypted ? { encrypt: key } : {};
  const agents = [await Agent.start({ name: 'g0', bind: '127.0.0.1:0', preset: 'lan', ...extra })];
  for (let i = 1; i < gossipN; i++) agents.push(await Agent.start({ name: `g${i}`, bind: '127.0.0.1:0', preset: 'lan', join: [agents[0]!.addr], ...extra }));
  try {
    const deadline = Date.now() + 60_000;
    while (agents.some((a) => a.numAlive() < gossipN) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const msgs0 = agents.reduce((n, a) => n + a.stats.shell.msgsSent, 0);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, gossipSec * 1000));
    const sec = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const msgsPerMemberSec = (agents.reduce((n, a) => n + a.stats.shell.msgsSent, 0) - msgs0) / gossipN / sec;
    console.log(JSON.stringify({ bench: 'gossip', members: gossipN, encrypted, msgsPerMemberSec: Math.round(msgsPerMemberSec * 100) / 100, cpuMsPerAgentPerSec: Math.round(((cpu.user + cpu.system) / 1000 / gossipN / sec) * 1000) / 1000 }));
    return msgsPerMemberSec;
  } finally {
    await Promise.all(agents.map((a) => a.stop({ leave: false })));
  }
}

const plainPut = await configPut('plain');
const encPut = await configPut('encrypted');
const tlsPut = await configPut('tls');
const plainGossip = await gossip(false);
const encGossip = await gossip(true);
const r = (x: number, y: number): number => Math.round((x / y) * 100) / 100;
console.log(JSON.stringify({ bench: 'security-ratio', configPut64: { encrypted: r(encPut, plainPut), tls: r(tlsPut, plainPut) }, gossipMsgsPerMember: { encrypted: r(encGossip, plainGossip) } }));
