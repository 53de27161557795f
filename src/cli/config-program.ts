/**
 * The control plane's CLI commands (raft, config, lease) and the control
 * flags of `shoal agent` (--raft, --bootstrap-expect, --dead-voter-grace-ms,
 * --learner-stable-ms, --voter). main.ts dispatches these; the gossip commands live in program.ts.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AgentDefaults } from '../agent/config.js';
import { isShoalError } from '../util/errors.js';
import { parseBindArg, parseCountArg, parsePeerArg } from './args.js';
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
import { ExitCode, UsageError, type CliIo } from './io.js';
import type { ControlAgentOptions } from '../agent/control-options.js';

const DEFAULT_HTTP = `127.0.0.1:${AgentDefaults.httpPort}`;
export const CONTROL_COMMANDS = ['raft', 'config', 'lease'] as const;

const uintArg = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} "${v}" is not a non-negative integer`);
  return n;
};

function buildControlProgram(io: CliIo, setResult: (p: Promise<number>) => void): Command {
  const program = new Command('shoal')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      outputError: (s, write) => write(`shoal: ${s.trim()}`),
    });
  const http = (): Option => new Option('--http <HOST:PORT>', 'HTTP API of the agent').default(DEFAULT_HTTP).argParser(parsePeerArg);

  const raft = program.command('raft').description('the control plane Raft group');
  raft.command('status').description('leader, term, commit and applied index, voters, learners').addOption(http()).option('--json', 'print JSON')
    .action((opts) => setResult(runRaftStatus(opts, io)));
  raft.command('transfer-leader').description('hand leadership to NAME (default: the most caught-up voter)').argument('[NAME]').addOption(http())
    .action((name: string | undefined, opts) => setResult(runRaftTransferLeader(name, opts, io)));
  raft.command('remove-peer').description('remove a voter or learner from the Raft group').argument('<NAME>').addOption(http())
    .action((name: string, opts) => setResult(runRaftRemovePeer(name, opts, io)));

  const config = program.command('config').description('the replicated config store');
  config.command('get').description('print a key\'s value (linearizable unless --serializable)').argument('<KEY>').addOption(http())
    .option('--prefix', 'list every key under KEY as key=value').option('--serializable', 'read the local replica').option('--json', 'print JSON')
    .action((key: string, opts) => setResult(runConfigGet(key, opts, io)));
  config.command('put').description('write a key').argument('<KEY>').argument('<VALUE>').addOption(http())
    .option('--lease <ID>', 'attach to a lease', uintArg('lease')).option('--prev-revision <N>', 'only if the key is at this modRevision (0: absent)', uintArg('prev-revision'))
    .action((key: string, value: string, opts) => setResult(runConfigPut(key, value, opts, io)));
  config.command('del').description('delete a key').argument('<KEY>').addOption(http())
    .action((key: string, opts) => setResult(runConfigDel(key, opts, io)));
  config.command('watch').description('print changes under PREFIX until Ctrl-C').argument('[PREFIX]', 'key prefix', '').addOption(http())
    .option('--from-revision <N>', 'replay from this revision', uintArg('from-revision')).option('--json', 'print the stream\'s JSON lines')
    .option('--count <N>', 'exit after N changes', parseCountArg(1, 1_000_000))
    .action((prefix: string, opts) => setResult(runConfigWatch(prefix, opts, io)));
  config.command('txn').description('run a txn: {"compare":[...],"success":[...],"failure":[...]} from FILE or - (stdin)').argument('<FILE>').addOption(http())
    .action((file: string, opts) => setResult(runConfigTxn(file, opts, io)));

  const lease = program.command('lease').description('leases: keys attached to one are deleted when it expires');
  lease.command('grant').description('grant a lease of TTL seconds').argument('<TTL>', 'seconds', parseCountArg(1, 30 * 24 * 3600)).addOption(http())
    .action((ttl: number, opts) => setResult(runLeaseGrant(ttl, opts, io)));
  lease.command('keepalive').description('renew a lease (once, or every --every seconds)').argument('<ID>', 'lease id', uintArg('id')).addOption(http())
    .option('--every <SECONDS>', 'keep renewing', parseCountArg(1, 86_400))
    .action((id: number, opts) => setResult(runLeaseKeepAlive(id, opts, io)));
  lease.command('revoke').description('revoke a lease and delete its keys').argument('<ID>', 'lease id', uintArg('id')).addOption(http())
    .action((id: number, opts) => setResult(runLeaseRevoke(id, opts, io)));
  return program;
}

/** Runs `shoal raft|config|lease ...`; resolves with the exit code. */
export async function runControlCli(argv: string[], io: CliIo): Promise<number> {
  let result: Promise<number> = Promise.resolve(ExitCode.Ok);
  const program = buildControlProgram(io, (p) => {
    result = p;
  });
  try {
    await program.parseAsync(argv);
    return await result;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    if (e instanceof UsageError) {
      io.err(`shoal: error: ${e.message}`);
      return ExitCode.Usage;
    }
    const message = isShoalError(e) ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e);
    io.err(`shoal: error: ${message}`);
    return ExitCode.Failure;
  }
}

/** Control flags of `shoal agent`, with their parsers. */
const agentFlags: Record<string, (v: string) => Partial<ControlAgentOptions>> = {
  '--raft': (v) => ({ raft: parseBindArg(v) }),
  '--bootstrap-expect': (v) => ({ bootstrapExpect: parseCountArg(1, 9)(v) }),
  '--dead-voter-grace-ms': (v) => ({ deadVoterGraceMs: parseCountArg(0, 86_400_000)(v) }),
  '--learner-stable-ms': (v) => ({ learnerStableMs: parseCountArg(0, 86_400_000)(v) }),
  '--voter': (v) => {
    if (v !== 'true' && v !== 'false') throw new InvalidArgumentError(`--voter must be true or false`);
    return { voter: v === 'true' };
  },
};

/**
 * Takes the control flags out of `shoal agent`'s argv (both `--flag V` and
 * `--flag=V`); the rest goes to the agent command. Throws UsageError.
 */
export function extractControlAgentFlags(argv: string[]): { argv: string[]; control: Partial<ControlAgentOptions> } {
  const rest: string[] = [];
  let control: Partial<ControlAgentOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const parse = agentFlags[name];
    if (parse === undefined) {
      rest.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`option '${name} <VALUE>' argument missing`);
    try {
      control = { ...control, ...parse(value) };
    } catch (e) {
      throw new UsageError(`option '${name}': ${(e as Error).message}`);
    }
  }
  return { argv: rest, control };
}
