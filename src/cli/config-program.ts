/**
 * The control plane's CLI commands (raft, config, lease, acl) and the control
 * flags of `shoal agent` (--bootstrap-expect, --voter,
 * --dead-voter-grace-ms, --learner-stable-ms); program.ts adds them.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseCountArg } from './args.js';
import { addAclCommands } from './acl-commands.js';
import { addClientOptions, DEFAULT_HTTP, httpOption } from './connection.js';
import {
  runConfigDel,
  runConfigGet,
  runConfigPut,
  runConfigTxn,
  runConfigWatch,
  runLeaseGrant,
  runLeaseKeepAlive,
  runLeaseRevoke,
  runRaftRemovePeer,
  runRaftStatus,
  runRaftTransferLeader,
} from './config-commands.js';
import type { CliIo } from './io.js';
import { controlAgentDefaults, type ControlAgentOptions } from '../agent/control-options.js';

export { DEFAULT_HTTP, httpOption };

const uintArg = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} "${v}" is not a non-negative integer`);
  return n;
};

/** Adds `raft`, `config`, `lease` and `acl` to the CLI program. */
export function addControlCommands(program: Command, io: CliIo, setResult: (p: Promise<number>) => void): void {
  const raft = program.command('raft').description('the control plane Raft group');
  addClientOptions(raft.command('status').description('leader, term, commit and applied index, voters, learners')).option('--json', 'print JSON')
    .action((opts) => setResult(runRaftStatus(opts, io)));
  addClientOptions(raft.command('transfer-leader').description('hand leadership to NAME (default: the most caught-up voter)').argument('[NAME]'))
    .action((name: string | undefined, opts) => setResult(runRaftTransferLeader(name, opts, io)));
  addClientOptions(raft.command('remove-peer').description('remove a voter or learner from the Raft group').argument('<NAME>'))
    .action((name: string, opts) => setResult(runRaftRemovePeer(name, opts, io)));

  const config = program.command('config').description('the replicated config store');
  addClientOptions(config.command('get').description('print a key\'s value (linearizable unless --serializable)').argument('<KEY>'))
    .option('--prefix', 'list every key under KEY as key=value').option('--serializable', 'read the local replica').option('--json', 'print JSON')
    .action((key: string, opts) => setResult(runConfigGet(key, opts, io)));
  addClientOptions(config.command('put').description('write a key').argument('<KEY>').argument('<VALUE>'))
    .option('--lease <ID>', 'attach to a lease', uintArg('lease')).option('--prev-revision <N>', 'only if the key is at this modRevision (0: absent)', uintArg('prev-revision'))
    .action((key: string, value: string, opts) => setResult(runConfigPut(key, value, opts, io)));
  addClientOptions(config.command('del').description('delete a key').argument('<KEY>'))
    .action((key: string, opts) => setResult(runConfigDel(key, opts, io)));
  addClientOptions(config.command('watch').description('print changes under PREFIX until Ctrl-C').argument('[PREFIX]', 'key prefix', ''))
    .option('--from-revision <N>', 'replay from this revision', uintArg('from-revision')).option('--json', 'print the stream\'s JSON lines')
    .option('--count <N>', 'exit after N changes', parseCountArg(1, 1_000_000))
    .action((prefix: string, opts) => setResult(runConfigWatch(prefix, opts, io)));
  addClientOptions(config.command('txn').description('run a txn: {"compare":[...],"success":[...],"failure":[...]} from FILE or - (stdin)').argument('<FILE>'))
    .action((file: string, opts) => setResult(runConfigTxn(file, opts, io)));

  const lease = program.command('lease').description('leases: keys attached to one are deleted when it expires');
  addClientOptions(lease.command('grant').description('grant a lease of TTL seconds').argument('<TTL>', 'seconds', parseCountArg(1, 30 * 24 * 3600)))
    .action((ttl: number, opts) => setResult(runLeaseGrant(ttl, opts, io)));
  addClientOptions(lease.command('keepalive').description('renew a lease (once, or every --every seconds)').argument('<ID>', 'lease id', uintArg('id')))
    .option('--every <SECONDS>', 'keep renewing', parseCountArg(1, 86_400))
    .action((id: number, opts) => setResult(runLeaseKeepAlive(id, opts, io)));
  addClientOptions(lease.command('revoke').description('revoke a lease and delete its keys').argument('<ID>', 'lease id', uintArg('id')))
    .action((id: number, opts) => setResult(runLeaseRevoke(id, opts, io)));

  addAclCommands(program, io, setResult);
}

/** The control plane flags of `shoal agent`, as commander options (parsed into ControlAgentOptions by controlOptionsFrom). */
export function addControlAgentOptions(agent: Command): Command {
  return agent
    .option('--bootstrap-expect <N>', 'form the cluster once N eligible members see each other', parseCountArg(1, 9), controlAgentDefaults.bootstrapExpect)
    .addOption(new Option('--voter <true|false>', 'may this member be a Raft voter').choices(['true', 'false']).default('true'))
    .option('--dead-voter-grace-ms <MS>', 'autopilot: replace a voter gossip reports dead for this long', parseCountArg(0, 86_400_000))
    .option('--learner-stable-ms <MS>', 'autopilot: a learner must be healthy this long before promotion', parseCountArg(0, 86_400_000))
    .option('--quota-bytes <BYTES>', 'space quota of the config store: past it writes get ERR_NO_SPACE and a NOSPACE alarm (default 256 MiB)', parseCountArg(1024 * 1024, 768 * 1024 * 1024));
}

export interface ControlAgentFlags {
  bootstrapExpect: number;
  voter: 'true' | 'false';
  deadVoterGraceMs?: number;
  learnerStableMs?: number;
  quotaBytes?: number;
}

export function controlOptionsFrom(flags: ControlAgentFlags): ControlAgentOptions {
  return {
    bootstrapExpect: flags.bootstrapExpect,
    voter: flags.voter === 'true',
    ...(flags.deadVoterGraceMs === undefined ? {} : { deadVoterGraceMs: flags.deadVoterGraceMs }),
    ...(flags.learnerStableMs === undefined ? {} : { learnerStableMs: flags.learnerStableMs }),
    ...(flags.quotaBytes === undefined ? {} : { quotaBytes: flags.quotaBytes }),
  };
}
