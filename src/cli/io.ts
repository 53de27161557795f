/** Where the CLI writes; tests pass their own to capture output. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** True when stdout is a terminal (the demo redraws in place). */
  isTty: boolean;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  isTty: process.stdout.isTTY === true,
};

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A usage error found after parsing (e.g. a config the agent rejects): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
