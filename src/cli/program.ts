import * as os from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { isShoalError } from '../util/errors.js';
import { AgentDefaults, PRESET_NAMES } from '../agent/config.js';
import { collectPeerArg, parseBindArg, parseCountArg, parsePeerArg, parsePortArg, parsePresetArg, parseTagsArg, parseTokenArg, readTokenFileArg } from './args.js';
import { addClientOptions } from './connection.js';
import { ExitCode, UsageError, processIo, type CliIo } from './io.js';
import { runAgentCommand } from './commands/agent.js';
import { DEFAULT_HTTP, addControlAgentOptions, addControlCommands, controlOptionsFrom } from './config-program.js';
import { runDemoCommand } from './commands/demo.js';
import { addKeyringCommands } from './keyring-commands.js';
import { addTlsCommands } from './tls-commands.js';
import { runJoinCommand, runLeaveCommand, runMembersCommand } from './commands/members.js';

function buildProgram(io: CliIo, setResult: (p: Promise<number>) => void): Command {
  const program = new Command('shoal')
    .description('shoal: a cluster agent (SWIM + Lifeguard membership, Raft config store)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      outputError: (s, write) => write(`shoal: ${s.trim()}`),
    })
    .showSuggestionAfterError(true);

  const agentCommand = program
    .command('agent')
    .description('run an agent: gossip on --bind (UDP and TCP), HTTP API on --http')
    .option('--name <NAME>', 'unique node name (default: the host name)', os.hostname())
    .option('--bind <HOST:PORT>', 'gossip address, UDP and TCP on the same port', parseBindArg, AgentDefaults.bind)
    .option('--advertise <IP:PORT>', 'the one address other members reach this node at (default: the bind address; for 0.0.0.0 the address toward the first seed, else the first non-loopback interface)', parsePeerArg)
    .option('--cluster-label <LABEL>', 'clusters with different labels never talk to each other, even on one network')
    .option('--http <HOST:PORT>', 'HTTP API address', parseBindArg, DEFAULT_HTTP)
    .option('--join <HOST:PORT>', 'seed to join at start (repeatable); the agent exits if none answers', collectPeerArg)
    .option('--retry-join <HOST:PORT>', 'seed to join in the background, retried with backoff until one answers (repeatable)', collectPeerArg)
    .option('--data-dir <DIR>', 'directory for agent state')
    .option('--tags <k=v,...>', 'node tags (metadata)', parseTagsArg)
    .addOption(
      new Option('--preset <NAME>', `gossip timing preset (${PRESET_NAMES.join('|')})`).default(AgentDefaults.preset).argParser(parsePresetArg),
    )
    .addOption(new Option('--api-token <TOKEN>', 'management token of the HTTP API: every request then needs a token').argParser(parseTokenArg))
    .addOption(new Option('--api-token-file <FILE>', 'read --api-token from the first line of FILE (keeps it out of ps)').argParser(readTokenFileArg).conflicts('apiToken'))
    .option('--api-tls-cert <FILE>', 'PEM certificate (chain): serve the HTTP API over HTTPS (with --api-tls-key)')
    .option('--api-tls-key <FILE>', 'PEM private key of --api-tls-cert')
    .option('--encrypt <KEY>', 'gossip encryption key (base64, `shoal keygen`): seeds DATA_DIR/keyring.json on first start')
    .addOption(new Option('--verify-incoming <on|off>', 'refuse plain traffic (default on with a key; off while migrating a plain cluster)').choices(['on', 'off']))
    .addOption(new Option('--verify-outgoing <on|off>', 'encrypt what this agent sends (default on with a key)').choices(['on', 'off']))
    .option('--tls-cert <FILE>', 'mutual TLS between agents: this member\'s certificate (CN or DNS name = --name), with --tls-key and --tls-ca')
    .option('--tls-key <FILE>', 'private key of --tls-cert')
    .option('--tls-ca <FILE>', 'the cluster CA: peers must present a certificate it signed');
  addControlAgentOptions(agentCommand).action((opts) =>
    setResult(runAgentCommand({ ...opts, apiToken: opts.apiToken ?? opts.apiTokenFile, control: controlOptionsFrom(opts) }, io)),
  );
  addControlCommands(program, io, setResult);
  addKeyringCommands(program, io, setResult);
  addTlsCommands(program, io, setResult);

  addClientOptions(program.command('members').description('list the members an agent knows'))
    .option('--json', 'print JSON instead of a table')
    .action((opts) => setResult(runMembersCommand(opts, io)));

  addClientOptions(
    program
      .command('join')
      .description('ask the agent to join a cluster through one or more seeds')
      .argument('<HOST:PORT...>', 'seed addresses', (v: string, prev: string[] | undefined) => collectPeerArg(v, prev)),
  ).action((addrs: string[], opts) => setResult(runJoinCommand(addrs, opts, io)));

  addClientOptions(program.command('leave').description('ask the agent to leave the cluster gracefully and shut down'))
    .action((opts) => setResult(runLeaveCommand(opts, io)));

  program
    .command('demo')
    .description('run a local demo cluster on 127.0.0.1 and show its membership')
    .option('--agents <N>', 'number of agents', parseCountArg(1, 64), 5)
    .option('--base-port <P>', 'gossip port of agent 0, agent i uses P+i (0: free ports)', parsePortArg, 0)
    .option('--http <HOST:PORT>', 'HTTP API of agent 0 ("" for none)', (v: string) => (v === '' ? '' : parseBindArg(v)), DEFAULT_HTTP)
    .option('--exit-after <SECONDS>', 'stop after this many seconds (0: until Ctrl-C)', parseCountArg(0, 86_400), 0)
    .action((opts) => setResult(runDemoCommand(opts, io)));

  return program;
}

/** Run the CLI; resolves with the exit code. argv as process.argv (node, script, ...args). */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  let result: Promise<number> = Promise.resolve(ExitCode.Ok);
  const program = buildProgram(io, (p) => {
    result = p;
  });
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return ExitCode.Usage;
    }
    await program.parseAsync(argv);
    return await result;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are exits with code 0; every parse error is a usage error.
      return e.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (e instanceof UsageError) {
      io.err(`shoal: error: ${e.message}`);
      return ExitCode.Usage;
    }
    const message = isShoalError(e) ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e);
    io.err(`shoal: error: ${message}`);
    return ExitCode.Failure;
  }
}
