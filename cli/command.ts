/** A subcommand of `npx nextoffer`. It prints its result on stdout, progress and diagnostics on stderr. */
export interface Command {
  /** One line for `npx nextoffer help`. */
  summary: string;
  /** Full usage text, printed for `--help` and on a usage error. */
  usage: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

/** Thrown for a wrong invocation: the dispatcher prints the message and the command's usage, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
