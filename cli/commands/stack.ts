import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../../local/appFiles';
import { readLocalSettings } from '../../local/localSettings';
import { startLocalStack, CONNECTION_SETTING_NAMES } from '../../local/stack';
import { parseSettings } from '../../shared/config/settings';
import { provisionResources } from '../../shared/runtime/provisioning';
import { Command, UsageError } from '../command';

const usage = `usage: npx nextoffer stack [--partitions N]

Starts only the embedded local stack (Azurite, Cosmos DB server, Event Hubs emulator, redis-server),
creates the databases and containers, and prints a local.settings.json body for it on stdout, so that
Azure Functions Core Tools can run the functions against it:

  npx nextoffer stack > local.settings.json     # terminal 1; keep it running
  func start                                    # terminal 2

Connection settings already in the environment are used instead of starting that service (and are
copied into the printed settings).
local.settings.json is deliberately not read (the shell empties it before this command runs).
Ctrl-C stops every service it started; so does the end of its parent, when a Node process started it
with an IPC channel.

  --partitions N   partitions of the embedded Event Hub (default 4)`;

/** The local.settings.json body for Core Tools: the example's values, then the stack's connections. */
export function localSettingsBody(
  exampleValues: Record<string, string>,
  stackSettings: Readonly<Record<string, string>>,
): string {
  const values: Record<string, string> = {
    ...exampleValues,
    ...stackSettings,
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsFeatureFlags: 'EnableWorkerIndexing',
  };
  return JSON.stringify({ IsEncrypted: false, Values: values }, null, 2) + '\n';
}

/** What `untilStopRequested` listens to: the process, in production. */
export type StopSource = Pick<NodeJS.Process, 'on' | 'off' | 'connected'>;

/**
 * Resolves on Ctrl-C or SIGTERM, or, when a parent Node process started the stack with an IPC channel
 * (a benchmark, a test), when that channel closes: a parent that dies without stopping the stack then
 * leaves no services behind. Every listener is removed once it resolves.
 */
export function untilStopRequested(source: StopSource): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      source.off('SIGINT', stop);
      source.off('SIGTERM', stop);
      source.off('disconnect', stop);
      resolve();
    };
    source.on('SIGINT', stop);
    source.on('SIGTERM', stop);
    if (source.connected) source.on('disconnect', stop);
  });
}

async function run(args: string[]): Promise<number> {
  let partitions = 4;
  try {
    const { values } = parseArgs({ args, options: { partitions: { type: 'string' } } });
    if (values.partitions !== undefined) partitions = Number(values.partitions);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 32) {
    throw new UsageError('--partitions: expected an integer from 1 to 32');
  }
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const example = Object.fromEntries(
    Object.entries(readLocalSettings(join(packageRoot(), 'local.settings.json.example'))).filter(
      ([, v]) => v !== '',
    ),
  );
  const env = { ...example, ...process.env };
  const stack = await startLocalStack({ env, partitionCount: partitions, log: progress });
  try {
    await provisionResources(parseSettings({ ...env, ...stack.settings }));
    progress('provisioned Cosmos DB database, containers and blob containers');
    // Connections given in this environment belong in the file too, or `func start` would lack them.
    const given = Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] =>
          entry[1] !== undefined &&
          CONNECTION_SETTING_NAMES.some((n) => entry[0] === n || entry[0].startsWith(`${n}__`)),
      ),
    );
    process.stdout.write(localSettingsBody(example, { ...given, ...stack.settings }));
    progress('stack running; Ctrl-C stops it');
    await untilStopRequested(process);
    progress('stopping');
  } finally {
    await stack.stop();
  }
  return 0;
}

export const command: Command = {
  summary: 'start only the local stack and print a local.settings.json for func start',
  usage,
  run,
};
