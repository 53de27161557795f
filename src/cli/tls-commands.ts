/**
 * `shoal tls ca create` and `shoal tls cert create`: a certificate authority
 * and member certificates for `shoal agent --tls-cert --tls-key --tls-ca`,
 * as Consul's `consul tls` commands. Files are written owner-only and never
 * overwritten.
 */
import { open } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Command } from 'commander';
import { createCa, createMemberCert, isIp } from './tls-certs.js';
import { parseCountArg } from './args.js';
import { ExitCode, UsageError, type CliIo } from './io.js';

async function writeNew(file: string, text: string, mode: number): Promise<void> {
  let fh;
  try {
    fh = await open(file, 'wx', mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${file} exists: remove it first, or write elsewhere with --dir`);
    throw e;
  }
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function addTlsCommands(program: Command, io: CliIo, setResult: (p: Promise<number>) => void): void {
  const tls = program.command('tls').description('certificates for mutual TLS between agents (--tls-cert, --tls-key, --tls-ca)');
  tls
    .command('ca')
    .description('the certificate authority')
    .command('create')
    .description('create a CA: DIR/shoal-ca.pem (give it to every agent as --tls-ca) and DIR/shoal-ca-key.pem (keep it safe)')
    .option('--dir <DIR>', 'where to write', '.')
    .option('--days <N>', 'validity', parseCountArg(1, 36_500), 1825)
    .option('--common-name <CN>', 'the CA name', 'shoal CA')
    .action((opts: { dir: string; days: number; commonName: string }) =>
      setResult(
        (async () => {
          const ca = createCa({ commonName: opts.commonName, days: opts.days });
          const cert = path.join(opts.dir, 'shoal-ca.pem');
          const key = path.join(opts.dir, 'shoal-ca-key.pem');
          await writeNew(key, ca.keyPem, 0o600);
          await writeNew(cert, ca.certPem, 0o644);
          io.out(`wrote ${cert} and ${key}`);
          return ExitCode.Ok;
        })(),
      ),
    );
  tls
    .command('cert')
    .description('member certificates')
    .command('create')
    .description('create a certificate for member NAME signed by the CA: DIR/NAME.pem and DIR/NAME-key.pem')
    .requiredOption('--name <NAME>', 'the member name (shoal agent --name): its CN and DNS name')
    .option('--ca <FILE>', 'CA certificate', 'shoal-ca.pem')
    .option('--ca-key <FILE>', 'CA key', 'shoal-ca-key.pem')
    .option('--dir <DIR>', 'where to write', '.')
    .option('--days <N>', 'validity', parseCountArg(1, 36_500), 365)
    .option('--dns <NAME>', 'another DNS name (repeatable)', collect, [])
    .option('--ip <IP>', 'an IP address (repeatable)', collect, [])
    .action((opts: { name: string; ca: string; caKey: string; dir: string; days: number; dns: string[]; ip: string[] }) =>
      setResult(
        (async () => {
          if (!/^[A-Za-z0-9_.-]+$/.test(opts.name)) throw new UsageError(`--name must be a member name of letters, digits, _ . - (got "${opts.name}")`);
          for (const ip of opts.ip) if (!isIp(ip)) throw new UsageError(`--ip ${ip} is not an IP address`);
          let ca;
          try {
            ca = { certPem: await readFile(opts.ca, 'utf8'), keyPem: await readFile(opts.caKey, 'utf8') };
          } catch (e) {
            throw new UsageError(`cannot read the CA (${opts.ca}, ${opts.caKey}): ${(e as Error).message}; create one with \`shoal tls ca create\``);
          }
          const pair = createMemberCert(ca, { name: opts.name, dns: opts.dns, ips: opts.ip, days: opts.days });
          const cert = path.join(opts.dir, `${opts.name}.pem`);
          const key = path.join(opts.dir, `${opts.name}-key.pem`);
          await writeNew(key, pair.keyPem, 0o600);
          await writeNew(cert, pair.certPem, 0o644);
          io.out(`wrote ${cert} and ${key}`);
          return ExitCode.Ok;
        })(),
      ),
    );
}
