/**
 * Mutual TLS on the cluster transport's TCP streams: every member presents a
 * certificate signed by the cluster's CA, and the member name its handshake
 * claims must be in its certificate (subject CN or a DNS subject alternative
 * name), so a certificate proves the name. Certificates are read from files
 * and can be reloaded without a restart (SIGHUP); new connections use the new
 * ones, established ones carry on.
 */
import { readFile } from 'node:fs/promises';
import type * as tls from 'node:tls';
import { ErrorCode, ShoalError } from '../util/errors.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
}

/** PEM files are a few KiB; refuse anything absurd rather than hand it to OpenSSL. */
const pemBytesMax = 1024 * 1024;

export async function loadTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const read = async (field: string, file: string): Promise<string> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new ShoalError(ErrorCode.InvalidConfig, `invalid config: ${field} "${file}" cannot be read: ${(e as Error).message}`, { details: { field } });
    }
    if (text.length > pemBytesMax || !text.includes('-----BEGIN ')) {
      throw new ShoalError(ErrorCode.InvalidConfig, `invalid config: ${field} "${file}" is not a PEM file`, { details: { field } });
    }
    return text;
  };
  return { cert: await read('tlsCert', files.certFile), key: await read('tlsKey', files.keyFile), ca: await read('tlsCa', files.caFile) };
}

/** Options shared by both ends: TLS 1.3 only (no negotiation down), our chain, only the cluster CA trusted. */
export function tlsOptions(m: TlsMaterial): tls.SecureContextOptions & { minVersion: tls.SecureVersion } {
  return { cert: m.cert, key: m.key, ca: m.ca, minVersion: 'TLSv1.3' };
}

/** The names a verified peer certificate vouches for: its CN and its DNS alternative names. */
export function certificateNames(socket: tls.TLSSocket): string[] {
  const cert = socket.getPeerCertificate();
  if (cert === null || typeof cert !== 'object' || Object.keys(cert).length === 0) return [];
  const names: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...(cn as string[]));
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const p = part.trim();
    if (p.startsWith('DNS:')) names.push(p.slice(4));
  }
  return names;
}

export function isTlsSocket(socket: unknown): socket is tls.TLSSocket {
  return typeof socket === 'object' && socket !== null && (socket as { encrypted?: unknown }).encrypted === true;
}
