import { ApiClient } from '../../api/client.js';
import { clientOptions, type ClientFlags } from '../connection.js';
import { ExitCode, type CliIo } from '../io.js';
import { formatMembersTable } from '../table.js';

export async function runMembersCommand(opts: ClientFlags & { json?: boolean }, io: CliIo): Promise<number> {
  const members = await new ApiClient(opts.http, clientOptions(opts)).members();
  io.out(opts.json ? JSON.stringify(members, null, 2) : formatMembersTable(members));
  return ExitCode.Ok;
}

export async function runJoinCommand(addrs: string[], opts: ClientFlags, io: CliIo): Promise<number> {
  const joined = await new ApiClient(opts.http, clientOptions(opts)).join(addrs);
  io.out(`joined: ${joined} of ${addrs.length} seed(s) answered`);
  return ExitCode.Ok;
}

export async function runLeaveCommand(opts: ClientFlags, io: CliIo): Promise<number> {
  await new ApiClient(opts.http, clientOptions(opts)).leave();
  io.out('left the cluster; the agent is shutting down');
  return ExitCode.Ok;
}
