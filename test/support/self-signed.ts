/** A throwaway self-signed certificate for 127.0.0.1 / localhost, made with the openssl CLI (undefined when it is missing). */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

export interface SelfSigned {
  dir: string;
  certFile: string;
  keyFile: string;
  remove(): Promise<void>;
}

export async function makeSelfSigned(): Promise<SelfSigned | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  return { dir, certFile, keyFile, remove: () => rm(dir, { recursive: true, force: true }) };
}
