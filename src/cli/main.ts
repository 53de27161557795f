import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCli } from './program.js';

export { runCli };

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
