import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCli as runGossipCli } from './program.js';
import { CONTROL_COMMANDS, extractControlAgentFlags, runControlCli } from './config-program.js';
import { setCliControlDefaults } from '../agent/control-options.js';
import { processIo, ExitCode, UsageError, type CliIo } from './io.js';

/**
 * The whole CLI: `raft`, `config` and `lease` go to the control plane's
 * commands (config-program.ts); `agent` takes its control flags (--raft,
 * --bootstrap-expect, --voter, --dead-voter-grace-ms, --learner-stable-ms)
 * and always runs the control plane; everything else is program.ts.
 */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const command = argv[2];
  if ((CONTROL_COMMANDS as readonly string[]).includes(command ?? '')) return runControlCli(argv, io);
  if (command === 'agent') {
    let extracted;
    try {
      extracted = extractControlAgentFlags(argv);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      io.err(`shoal: error: ${e.message}`);
      return ExitCode.Usage;
    }
    setCliControlDefaults(extracted.control);
    try {
      return await runGossipCli(extracted.argv, io);
    } finally {
      setCliControlDefaults(undefined);
    }
  }
  return runGossipCli(argv, io);
}

/** Entry used by bin/shoal and `node dist/src/cli/main.js`. */
export async function main(argv: string[] = process.argv): Promise<void> {
  const code = await runCli(argv);
  process.exitCode = code;
  // Agents and sockets are closed by now; exit so a stray handle never keeps us alive.
  process.exit(code);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main();
