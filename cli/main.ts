import { Command, UsageError } from './command';

/**
 * Commands load lazily so that `nextoffer simulate` does not pay for onnxruntime or the Azure SDKs.
 * To add a command: write cli/commands/<name>.ts exporting `command: Command`, then add one line here.
 */
const commands: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./commands/start')).command,
  stack: async () => (await import('./commands/stack')).command,
  simulate: async () => (await import('./commands/simulate')).command,
  schema: async () => (await import('./commands/schema')).command,
  offers: async () => (await import('./commands/offers')).command,
  coldstart: async () => (await import('./commands/coldstart')).command,
  deadletter: async () => (await import('./commands/deadletter')).command,
  affinity: async () => (await import('./commands/affinity')).command,
  campaign: async () => (await import('./commands/campaign')).command,
};

/**
 * Errors about the input or the configuration (the project's error classes below): their message names
 * the file, line, field or setting, and a stack trace would only bury it. Anything else is a bug, shown
 * with its stack.
 */
const INPUT_ERRORS = new Set([
  'BundleError',
  'CampaignInputError',
  'CatalogValidationError',
  'ConfigurationError',
  'InteractionInputError',
  'RedisServerMissingError',
  'ScheduleError',
]);

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return INPUT_ERRORS.has(error.name) ? error.message : (error.stack ?? error.message);
}

function help(): string {
  return [
    'usage: npx nextoffer <command> [options]',
    '',
    'commands:',
    ...Object.keys(commands).map((name) => `  ${name}`),
    '',
    "Run `npx nextoffer <command> --help` for a command's options.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`nextoffer: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`nextoffer ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    process.stderr.write(`nextoffer ${name}: ${describeFailure(error)}\n`);
    return 1;
  }
}

/**
 * Ends the process once a command has finished: sets the exit code, and exits after `graceMs` should
 * anything still hold the event loop open. Why: after a partition has moved between two local instances,
 * @azure/event-hubs 6.0.4 leaves a CBS token-renewal timer running that no API reaches
 * (docs/local-development.md, "Scale-out"), and `npm start` then waited for a second Ctrl-C. The timer is
 * unref'd, so a process with nothing left open exits at once, as it always did.
 */
export function exitWhenDone(code: number, graceMs = 2000): NodeJS.Timeout {
  process.exitCode = code;
  return setTimeout(() => process.exit(code), graceMs).unref();
}
