/**
 * `shoal keygen` prints a new gossip key; `shoal keyring list|install|use|
 * remove|verify` rotates keys across a running cluster (through one agent,
 * which asks every live member) and reports which members hold which key.
 * Exit 1 when any member failed (the report says which).
 */
import { Option, type Command } from 'commander';
import { KeyringClient } from '../api/keyring-client.js';
import type { KeyringReportView } from '../api/keyring-routes.js';
import { formatKey, generateKey } from '../wire/crypto.js';
import { addClientOptions, clientOptions, type ClientFlags } from './connection.js';
import { ExitCode, type CliIo } from './io.js';

const client = (opts: ClientFlags): KeyringClient => new KeyringClient(opts.http, clientOptions(opts));

export function formatKeyringReport(r: KeyringReportView): string {
  const total = r.members.length;
  const lines: string[] = [];
  for (const [key, holders] of Object.entries(r.keys)) {
    const primaryOf = r.primaries[key]?.length ?? 0;
    lines.push(`${key}  held by ${holders.length}/${total}${primaryOf > 0 ? `, primary on ${primaryOf}` : ''}${holders.length < total ? ` (missing: ${r.members.filter((m) => m.ok && !holders.includes(m.name)).map((m) => m.name).join(', ')})` : ''}`);
  }
  if (lines.length === 0) lines.push('no member has a key: gossip is plain');
  const plainIn = r.members.filter((m) => m.ok && m.verifyIncoming === false).map((m) => m.name);
  const plainOut = r.members.filter((m) => m.ok && m.verifyOutgoing === false).map((m) => m.name);
  if (plainIn.length > 0) lines.push(`accepting plain traffic: ${plainIn.join(', ')}`);
  if (plainOut.length > 0) lines.push(`sending plain traffic: ${plainOut.join(', ')}`);
  for (const m of r.members.filter((x) => !x.ok)) lines.push(`FAILED ${m.name}: ${m.error ?? 'no answer'}`);
  return lines.join('\n');
}

async function report(p: Promise<KeyringReportView>, opts: { json?: boolean }, io: CliIo): Promise<number> {
  const r = await p;
  io.out(opts.json ? JSON.stringify(r, null, 2) : formatKeyringReport(r));
  return r.failed > 0 ? ExitCode.Failure : ExitCode.Ok;
}

const onOff = (v: string): boolean => v === 'on';

export function addKeyringCommands(program: Command, io: CliIo, setResult: (p: Promise<number>) => void): void {
  program
    .command('keygen')
    .description('print a new random gossip encryption key (base64, AES-256) for --encrypt and `keyring install`')
    .action(() => {
      io.out(formatKey(generateKey()));
      setResult(Promise.resolve(ExitCode.Ok));
    });
  const keyring = program.command('keyring').description('rotate gossip encryption keys across a running cluster, with no downtime');
  addClientOptions(keyring.command('list').description('the keys each member holds, its primary and its verify switches'))
    .option('--json', 'print JSON')
    .action((opts) => setResult(report(client(opts).list(), opts, io)));
  for (const [op, what] of [
    ['install', 'every member accepts KEY (a plain member gets it with both verify switches off)'],
    ['use', 'every member seals with KEY from now on (install it everywhere first)'],
    ['remove', 'every member stops accepting KEY (never the primary)'],
  ] as const) {
    addClientOptions(keyring.command(op).description(what).argument('<KEY>', 'base64 key from `shoal keygen`'))
      .option('--json', 'print JSON')
      .action((key: string, opts) => setResult(report(client(opts).change({ op, key }), opts, io)));
  }
  addClientOptions(keyring.command('verify').description('migrate a plain cluster: turn outgoing on everywhere, then incoming'))
    .addOption(new Option('--incoming <on|off>', 'refuse plain datagrams and handshakes').choices(['on', 'off']))
    .addOption(new Option('--outgoing <on|off>', 'seal what each member sends').choices(['on', 'off']))
    .option('--json', 'print JSON')
    .action((opts: ClientFlags & { incoming?: string; outgoing?: string; json?: boolean }) =>
      setResult(
        report(
          client(opts).change({
            op: 'verify',
            ...(opts.incoming === undefined ? {} : { incoming: onOff(opts.incoming) }),
            ...(opts.outgoing === undefined ? {} : { outgoing: onOff(opts.outgoing) }),
          }),
          opts,
          io,
        ),
      ),
    );
}
