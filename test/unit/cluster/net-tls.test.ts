/**
 * Mutual TLS on the cluster transport: members with certificates from the
 * cluster CA talk; a peer without one, or with one from another CA, fails
 * the TLS handshake (counted, no handler called); a certificate that does not
 * name the member its handshake claims is refused; new certificates are
 * picked up by reloadTls() without a restart.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterNetTransport } from '../../../src/cluster/net-transport.js';
import { StreamKind } from '../../../src/cluster/kinds.js';
import type { TlsFiles } from '../../../src/cluster/tls.js';
import { createCa, createMemberCert, type PemPair } from '../../../src/cli/tls-certs.js';
import { bytes, loopback, text } from './net-helpers.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-mtls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function files(dir: string, ca: PemPair, cert: PemPair, tag: string): Promise<TlsFiles> {
  const f = { certFile: path.join(dir, `${tag}.pem`), keyFile: path.join(dir, `${tag}-key.pem`), caFile: path.join(dir, `${tag}-ca.pem`) };
  await writeFile(f.certFile, cert.certPem);
  await writeFile(f.keyFile, cert.keyPem);
  await writeFile(f.caFile, ca.certPem);
  return f;
}

async function node(t: ExecutionContext, name: string, tls: TlsFiles | undefined): Promise<ClusterNetTransport> {
  const n = await ClusterNetTransport.listen({
    bind: { host: loopback, port: 0 },
    identity: { clusterLabel: '', clusterId: '', name, nodeId: `${name}-id` },
    advertise: (port) => `${loopback}:${port}`,
    ...(tls === undefined ? {} : { tls }),
  });
  t.teardown(() => n.close());
  return n;
}

const member = (ca: PemPair, name: string): PemPair => createMemberCert(ca, { name, dns: [], ips: ['127.0.0.1'], days: 1 });

test('members with certificates from the cluster CA talk; strangers fail the TLS handshake and reach no handler', async (t) => {
  const dir = await tempDir(t);
  const ca = createCa({ commonName: 'test CA', days: 1 });
  const a = await node(t, 'a', await files(dir, ca, member(ca, 'a'), 'a'));
  const b = await node(t, 'b', await files(dir, ca, member(ca, 'b'), 'b'));
  const got: string[] = [];
  b.handle(StreamKind.Control, { request: async (peer, p) => { got.push(peer.name); return bytes(`hi ${peer.name}: ${text(p)}`); } });
  t.true(a.tlsEnabled);
  t.is(text(await a.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 3000 })), 'hi a: x');

  const plain = await node(t, 'plain', undefined);
  await t.throwsAsync(plain.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 3000 }));
  const otherCa = createCa({ commonName: 'other CA', days: 1 });
  const foreign = await node(t, 'foreign', await files(dir, otherCa, member(otherCa, 'foreign'), 'foreign'));
  await t.throwsAsync(foreign.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 3000 }));
  t.true(b.stats.tlsRefused >= 1, 'a certificate of another CA fails the TLS handshake');
  t.deepEqual(got, ['a'], 'only the member with a valid certificate reached the handler');
});

test("a certificate that does not name the member its handshake claims is refused, both ways", async (t) => {
  const dir = await tempDir(t);
  const ca = createCa({ commonName: 'test CA', days: 1 });
  const b = await node(t, 'b', await files(dir, ca, member(ca, 'b'), 'b'));
  // "mallory" holds a valid certificate, but for the name "x": it cannot speak as mallory.
  const mallory = await node(t, 'mallory', await files(dir, ca, member(ca, 'x'), 'mallory'));
  const e = await t.throwsAsync(mallory.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 3000 }));
  t.regex(String(e), /certificate does not name mallory/);
  t.is(b.stats.refusedInbound.certificate, 1);
  await t.throwsAsync(b.request(mallory.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 3000 }));
  t.is(b.stats.refusedOutbound.certificate, 1);
});

test('reloadTls picks up a new CA and certificate without a restart', async (t) => {
  const dir = await tempDir(t);
  const oldCa = createCa({ commonName: 'old CA', days: 1 });
  const newCa = createCa({ commonName: 'new CA', days: 1 });
  const bFiles = await files(dir, oldCa, member(oldCa, 'b'), 'b');
  const b = await node(t, 'b', bFiles);
  b.handle(StreamKind.Control, { request: async (peer) => bytes(`hi ${peer.name}`) });
  const c = await node(t, 'c', await files(dir, newCa, member(newCa, 'c'), 'c'));
  await t.throwsAsync(c.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 3000 }), undefined, 'b trusts only the old CA');
  // Rotate b to the new CA on disk, then reload.
  await files(dir, newCa, member(newCa, 'b'), 'b');
  await b.reloadTls();
  let answer = '';
  const deadline = Date.now() + 5000;
  while (answer === '' && Date.now() < deadline) {
    answer = await c.request(b.localAddr, StreamKind.Control, bytes('x'), { timeoutMs: 3000 }).then(text, () => '');
    if (answer === '') await new Promise((r) => setTimeout(r, 50)); // c backs off after its refused dial
  }
  t.is(answer, 'hi c');
  // A bad file keeps the old certificates.
  await writeFile(bFiles.certFile, 'not a certificate');
  await t.throwsAsync(b.reloadTls());
  t.is(text(await c.request(b.localAddr, StreamKind.Control, bytes('y'), { timeoutMs: 3000 })), 'hi c');
});
