import { ApiClient } from '../../api/client.js';
import { ExitCode, type CliIo } from '../io.js';
import { formatMembersTable } from '../table.js';

export async function runMembersCommand(opts: { http: string; json?: boolean }, io: CliIo): Promise<number> {
  const members = await new ApiClient(opts.http).members();
  io.out(opts.json ? JSON.stringify(members, null, 2) : formatMembersTable(members));
  return ExitCode.Ok;
}

export async function runJoinCommand(addrs: string[], opts: { http: string }, io: CliIo): Promise<number> {
  const joined = await new ApiClient(opts.http).join(addrs);
  io.out(`joined: ${joined} of ${addrs.length} seed(s) answered`);
  return ExitCode.Ok;
}

export async function runLeaveCommand(opts: { http: string }, io: CliIo): Promise<number> {
  await new ApiClient(opts.http).leave();
  io.out('left the cluster; the agent is shutting down');
  return ExitCode.Ok;
}
