/**
 * The HTTP API's security with real `shoal agent` processes (run `npm run
 * build` first): a voter and a member outside the Raft group (--voter
 * false, it keeps a follower copy of the config), both with --api-token.
 * Requests without a token, with a wrong one, a read-only token writing, a
 * text/plain POST and a foreign Host are refused and change nothing; tokens
 * are created, listed and revoked through the CLI; a token works on the
 * follower too, and a revoked one is refused on both members within a
 * bounded time. Then an agent serving HTTPS, reached by the CLI with --ca.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigClient } from '../../src/api/config-client.js';
import { ErrorCode, isShoalError } from '../../src/util/errors.js';
import { LocalControlCluster, freePort } from '../support/control-cluster.js';
import { bearer, jsonBody, raw } from '../support/raw-http.js';
import { makeSelfSigned } from '../support/self-signed.js';
import { waitUntil } from './wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/shoal');
const built = existsSync(path.join(root, 'dist/src/api/acl-routes.js'));
const MGMT = 'integration-management-token-0123';
/** A revoked token is refused on every member within this (cache 1 s + a follower's replication lag + slack). */
const revokeBoundMs = 5_000;

interface CliRun {
  code: number;
  out: string;
  err: string;
}

function shoal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, SHOAL_HTTP_TOKEN: '', SHOAL_API_TOKEN: '', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, out: stdout.trim(), err: stderr.trim() });
    });
  });
}

test.serial('tokens: refusals change nothing; CLI create/list/revoke; the follower member checks tokens too; a revoked token is refused in bounded time', async (t) => {
  if (!built) return t.fail('run `npm run build` first');
  const cluster = new LocalControlCluster({
    bin,
    size: 2,
    bootstrapExpect: 1,
    extraArgs: ['--api-token', MGMT],
    argsFor: (i) => (i === 1 ? ['--voter', 'false'] : []),
    clientOptions: { token: MGMT },
  });
  t.teardown(() => cluster.stopAll());
  await cluster.start();
  const [voter, follower] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  const admin = cluster.client(voter.name);
  t.true(await waitUntil(async () => (await admin.put({ key: 'app/seed', value: '1' }).catch(() => undefined)) !== undefined, 30_000, 200), 'the voter bootstraps alone');
  t.true(
    await waitUntil(async () => (await cluster.client(follower.name).get('app/seed', { serializable: true }).catch(() => undefined))?.value === '1', 20_000, 200),
    'the member outside the Raft group has its copy',
  );
  const follows = await cluster.client(follower.name).raftStatus();
  t.is(follows.mode, 'follower', 'n1 is outside the Raft group');

  // Each refusal, on both members: nothing changes.
  const revisionBefore = (await admin.raftStatus()).revision;
  const httpPort = voter.http.split(':')[1]!;
  for (const n of [voter, follower]) {
    const put = '{"value":"changed"}';
    const noToken = await raw(n.http, 'PUT', '/v1/config/app/x', jsonBody, put);
    t.is(noToken.status, 401, `${n.name}: no token`);
    t.is(noToken.json.error?.code, ErrorCode.Unauthenticated);
    const wrong = await raw(n.http, 'PUT', '/v1/config/app/x', { ...jsonBody, ...bearer('not-the-token-0123456789') }, put);
    t.is(wrong.status, 401, `${n.name}: wrong token`);
    const plain = await raw(n.http, 'POST', '/v1/config/txn', { ...bearer(MGMT), 'content-type': 'text/plain' }, '{"success":[{"put":{"key":"app/x","value":"changed"}}]}');
    t.is(plain.status, 415, `${n.name}: text/plain POST`);
    t.is(plain.json.error?.code, ErrorCode.UnsupportedMediaType);
    const rebound = await raw(n.http, 'PUT', '/v1/config/app/x', { ...jsonBody, ...bearer(MGMT), host: `attacker.example:${httpPort}` }, put);
    t.is(rebound.status, 403, `${n.name}: foreign Host`);
    t.is(rebound.json.error?.code, ErrorCode.Forbidden);
    const reserved = await raw(n.http, 'PUT', '/v1/config/shoal/acl/tokens/0000000000000001', { ...jsonBody, ...bearer(MGMT) }, put);
    t.is(reserved.status, 403, `${n.name}: reserved prefix`);
  }
  const leave = await raw(voter.http, 'POST', '/v1/leave', { ...jsonBody, ...bearer('not-the-token-0123456789') });
  t.is(leave.status, 401);
  t.is(await admin.get('app/x'), undefined, 'app/x is absent');
  t.is((await admin.raftStatus()).revision, revisionBefore, 'the revision did not move');
  t.is(cluster.running().length, 2, 'both agents still run');

  // Tokens through the CLI.
  const at = (n: { http: string }) => ['--http', n.http];
  const noMgmt = await shoal(['acl', 'token', 'create', '--scope', 'read', ...at(voter)]);
  t.is(noMgmt.code, 1);
  t.regex(noMgmt.err, /ERR_UNAUTHENTICATED/);
  const createdRead = await shoal(['acl', 'token', 'create', '--scope', 'read', '--json', '--description', 'ci', ...at(voter), '--token', MGMT]);
  t.is(createdRead.code, 0, createdRead.err);
  const read = JSON.parse(createdRead.out) as { id: string; secret: string; scope: string };
  t.is(read.scope, 'read');
  const createdWrite = await shoal(['acl', 'token', 'create', '--scope', 'write', '--json', ...at(voter)], { SHOAL_HTTP_TOKEN: MGMT });
  t.is(createdWrite.code, 0, createdWrite.err);
  const write = JSON.parse(createdWrite.out) as { id: string; secret: string };
  const listed = await shoal(['acl', 'token', 'list', ...at(follower), '--token', MGMT]);
  t.is(listed.code, 0, listed.err);
  t.regex(listed.out, new RegExp(`${read.id}\\s+read`));
  t.regex(listed.out, new RegExp(`${write.id}\\s+write`));
  t.false(listed.out.includes(read.secret) || listed.out.includes(write.secret), 'no secret listed');
  t.false((await shoal(['config', 'get', '', '--prefix', ...at(voter), '--token', MGMT])).out.includes('shoal/acl'), 'the records are hidden from config reads');

  // A read token reads (on the follower too, from its copy of the records) and may not write; a write token writes.
  for (const n of [voter, follower]) {
    const reader = new ConfigClient(n.http, { token: read.secret });
    t.true(await waitUntil(async () => (await reader.get('app/seed').catch(() => undefined))?.value === '1', 5_000, 100), `${n.name}: the read token reads`);
    const e = await t.throwsAsync(reader.put({ key: 'app/x', value: 'changed' }));
    t.true(isShoalError(e, ErrorCode.Forbidden), `${n.name}: ${(e as Error).message}`);
  }
  t.is(await admin.get('app/x'), undefined, 'the read token wrote nothing');
  const put = await new ConfigClient(follower.http, { token: write.secret }).put({ key: 'app/x', value: 'by write token' });
  t.true(put.revision > revisionBefore);
  t.is((await admin.get('app/x'))?.value, 'by write token');

  // Revoke through the CLI on the follower: refused on both members within the bound.
  const revoked = await shoal(['acl', 'token', 'revoke', read.id, ...at(follower), '--token', MGMT]);
  t.is(revoked.code, 0, revoked.err);
  const revokedAt = performance.now();
  for (const n of [voter, follower]) {
    const reader = new ConfigClient(n.http, { token: read.secret });
    const refused = await waitUntil(async () => isShoalError(await reader.get('app/seed').catch((e: unknown) => e), ErrorCode.Unauthenticated), revokeBoundMs, 50);
    t.true(refused, `${n.name} refuses the revoked token`);
    t.log(`${n.name}: revoked token refused ${(performance.now() - revokedAt).toFixed(0)} ms after the revoke`);
  }
  t.true(performance.now() - revokedAt < revokeBoundMs);
  const cliRefused = await shoal(['config', 'get', 'app/seed', ...at(voter), '--token', read.secret]);
  t.is(cliRefused.code, 1);
  t.regex(cliRefused.err, /ERR_UNAUTHENTICATED/);
  // The other token still works.
  t.is((await new ConfigClient(voter.http, { token: write.secret }).get('app/x'))?.value, 'by write token');
  t.false(voter.log.concat(follower.log).some((l) => /warning/.test(l)), 'loopback agents print no warning');
});

test.serial('HTTPS: an agent with --api-tls-cert/--api-tls-key, reached by the CLI with --ca; a non-loopback gossip bind warns', async (t) => {
  if (!built) return t.fail('run `npm run build` first');
  const cert = await makeSelfSigned();
  if (cert === undefined) {
    t.log('skipped: no openssl to make a self-signed certificate');
    return t.pass();
  }
  t.teardown(() => cert.remove());
  const cluster = new LocalControlCluster({
    bin,
    size: 1,
    bootstrapExpect: 1,
    extraArgs: ['--api-token', MGMT, '--api-tls-cert', cert.certFile, '--api-tls-key', cert.keyFile],
    clientOptions: { token: MGMT, https: true, ca: await readFile(cert.certFile) },
  });
  t.teardown(() => cluster.stopAll());
  await cluster.start();
  const n = cluster.nodes[0]!;
  t.true(await waitUntil(async () => (await cluster.client(n.name).put({ key: 'tls/k', value: 'v' }).catch(() => undefined)) !== undefined, 30_000, 200));
  const get = await shoal(['config', 'get', 'tls/k', '--http', `https://${n.http}`, '--ca', cert.certFile, '--token', MGMT]);
  t.is(get.code, 0, get.err);
  t.is(get.out, 'v');
  const untrusted = await shoal(['members', '--http', `https://${n.http}`, '--token', MGMT]);
  t.is(untrusted.code, 1);
  const plain = await shoal(['members', '--http', n.http, '--token', MGMT]);
  t.is(plain.code, 1, 'plain HTTP to the HTTPS port fails');

  // Gossip on a non-loopback address: a warning line at start.
  const ip = Object.values(os.networkInterfaces()).flat().find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  if (ip === undefined) {
    t.log('no non-loopback IPv4 address here: the warning is covered by test/unit/cli/warnings.test.ts');
    return;
  }
  // A port free on 127.0.0.1 is free enough on the other address for a test; the last --bind wins.
  const port = await freePort();
  const exposed = new LocalControlCluster({ bin, size: 1, bootstrapExpect: 1, argsFor: () => ['--bind', `${ip}:${port}`] });
  t.teardown(() => exposed.stopAll());
  await exposed.start();
  t.true(await waitUntil(() => exposed.nodes[0]!.log.some((l) => /warning: gossip binds .* without an encryption key/.test(l)), 5_000));
});
