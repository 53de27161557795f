/**
 * A quick-start certificate authority for the cluster transport's mutual
 * TLS (node-forge: Node can verify certificates but not make them). The CA
 * signs one certificate per member, whose CN and DNS name are the member's
 * name: that is what the transport checks against the name a peer claims.
 * RSA 2048 and SHA-256, as Consul's `tls ca create` defaults.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import forge from 'node-forge';

export interface PemPair {
  certPem: string;
  keyPem: string;
}

function serial(): string {
  // A positive 128-bit serial (the top bit clear keeps it positive in DER).
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, days: number): void {
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
}

export function createCa(options: { commonName: string; days: number }): PemPair {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, options.days);
  const subject = [{ name: 'commonName', value: options.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** A member certificate signed by the CA: CN and a DNS name = the member name, plus extra DNS names and IPs. */
export function createMemberCert(ca: PemPair, options: { name: string; dns: string[]; ips: string[]; days: number }): PemPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, options.days);
  cert.setSubject([{ name: 'commonName', value: options.name }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...[options.name, ...options.dns].map((value) => ({ type: 2, value })),
    ...options.ips.map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    // Every member is both a server (it listens) and a client (it dials).
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

export function isIp(s: string): boolean {
  return net.isIP(s) !== 0;
}
