/**
 * `shoal acl token create|list|revoke`: API tokens kept in the config store
 * (the routes need the management token: --token or $SHOAL_HTTP_TOKEN).
 */
import { Option, type Command } from 'commander';
import { AclClient } from '../api/acl-client.js';
import { TOKEN_SCOPES, type AclTokenView, type TokenScope } from '../api/acl-tokens.js';
import { addClientOptions, clientOptions, type ClientFlags } from './connection.js';
import { ExitCode, type CliIo } from './io.js';

const aclClient = (opts: ClientFlags): AclClient => new AclClient(opts.http, clientOptions(opts));

export async function runTokenCreate(opts: ClientFlags & { scope: TokenScope; description?: string; json?: boolean }, io: CliIo): Promise<number> {
  const t = await aclClient(opts).createToken({ scope: opts.scope, ...(opts.description === undefined ? {} : { description: opts.description }) });
  if (opts.json) io.out(JSON.stringify(t, null, 2));
  else {
    io.out(`id       ${t.id}\nscope    ${t.scope}\nsecret   ${t.secret}`);
    io.err('shoal: the secret is shown this once; the agent keeps only its hash');
  }
  return ExitCode.Ok;
}

export function formatTokens(tokens: AclTokenView[]): string {
  const rows = [['ID', 'SCOPE', 'CREATED', 'DESCRIPTION'], ...tokens.map((t) => [t.id, t.scope, t.created, t.description])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export async function runTokenList(opts: ClientFlags & { json?: boolean }, io: CliIo): Promise<number> {
  const r = await aclClient(opts).listTokens();
  io.out(opts.json ? JSON.stringify(r.tokens, null, 2) : formatTokens(r.tokens));
  return ExitCode.Ok;
}

export async function runTokenRevoke(id: string, opts: ClientFlags, io: CliIo): Promise<number> {
  const r = await aclClient(opts).revokeToken(id);
  io.out(`revoked token ${r.id} (revision ${r.revision})`);
  return ExitCode.Ok;
}

/** Adds `acl token create|list|revoke`. */
export function addAclCommands(program: Command, io: CliIo, setResult: (p: Promise<number>) => void): void {
  const token = program.command('acl').description('access control of the HTTP API').command('token').description('API tokens with read or write scope');
  addClientOptions(token.command('create').description('create a token and print its secret (once)'))
    .addOption(new Option('--scope <SCOPE>', 'read: GET routes; write: also config, lease and join writes').choices(TOKEN_SCOPES).makeOptionMandatory())
    .option('--description <TEXT>', 'a note for operators')
    .option('--json', 'print JSON')
    .action((opts) => setResult(runTokenCreate(opts, io)));
  addClientOptions(token.command('list').description('list tokens (ids and scopes, never secrets)')).option('--json', 'print JSON')
    .action((opts) => setResult(runTokenList(opts, io)));
  addClientOptions(token.command('revoke').description('delete a token: every member refuses it within a second or so').argument('<ID>'))
    .action((id: string, opts) => setResult(runTokenRevoke(id, opts, io)));
}
