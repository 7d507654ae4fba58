import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { functionModulesDir, maskSecrets, packageRoot } from '../../local/appFiles';
import type { FunctionsHost } from '../../local/host';
import { readHostJson } from '../../local/hostJson';
import type { DemoCampaignModel } from '../../local/demoData';
import { applyMissing, readLocalSettings } from '../../local/localSettings';
import { CONNECTION_SETTING_NAMES, LocalStack, startLocalStack } from '../../local/stack';
import { getSettings } from '../../shared/config/settings';
import { runSimulation, SimulationSummary } from '../../shared/simulation/simulator';
import { Command, UsageError } from '../command';

const DEFAULT_PORT = 7071;
const DEFAULT_SIMULATION_RATE = 20;

const usage = `usage: npx nextoffer start [--port N] [--simulate[=RATE]] [--no-demo]

Runs the pipeline locally, as \`func start\` would: reads local.settings.json (Values; environment
variables win), starts the embedded stack (Azurite, Cosmos DB server, Event Hubs emulator, redis-server)
for every connection setting that is not given, creates the databases and containers, and serves the
functions from dist/functions on http://localhost:PORT with the local Functions host.
Without local.settings.json, the non-connection values of local.settings.json.example are used.

  --port N            HTTP port (default ${DEFAULT_PORT})
  --simulate[=RATE]   also run the traffic simulator against this host, RATE events per second
                      (default ${DEFAULT_SIMULATION_RATE}); its users also ask for offers and react to them
  --no-demo           do not seed the embedded stack with the demo offer catalog and affinity model
                      (services you configured yourself are never seeded), nor train a demo campaign
                      model when CAMPAIGN_MODEL_DIR is not set (or is the default with no model there)

Ctrl-C stops everything it started and exits 0.`;

export interface StartOptions {
  port: number;
  simulateRate: number | undefined;
  demo: boolean;
}

export function parseStartArgs(args: string[]): StartOptions {
  // `--simulate` alone means the default rate; parseArgs has no optional option values.
  const normalized = args.map((arg) =>
    arg === '--simulate' ? `--simulate=${DEFAULT_SIMULATION_RATE}` : arg,
  );
  let values: { port?: string; simulate?: string; 'no-demo'?: boolean };
  try {
    ({ values } = parseArgs({
      args: normalized,
      options: { port: { type: 'string' }, simulate: { type: 'string' }, 'no-demo': { type: 'boolean' } },
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port: '${values.port}' is not a port number`);
  }
  let simulateRate: number | undefined;
  if (values.simulate !== undefined) {
    simulateRate = Number(values.simulate);
    if (!Number.isFinite(simulateRate) || simulateRate <= 0 || simulateRate > 10_000) {
      throw new UsageError(
        `--simulate: '${values.simulate}' is not a rate from 0 to 10000 events per second`,
      );
    }
  }
  return { port, simulateRate, demo: values['no-demo'] !== true };
}

/** local.settings.json of the working directory (like func start), else the example's non-empty values. */
export function localSettingsValues(log: (line: string) => void): Record<string, string> {
  const path = join(process.cwd(), 'local.settings.json');
  const values = readLocalSettings(path);
  if (Object.keys(values).length > 0) {
    log(`settings: ${path}`);
    return values;
  }
  const example = join(packageRoot(), 'local.settings.json.example');
  log(`settings: no local.settings.json here; using the defaults of ${example}`);
  return Object.fromEntries(Object.entries(readLocalSettings(example)).filter(([, value]) => value !== ''));
}

/**
 * Outside the real host, @azure/functions warns that it runs in "test mode" at every registration;
 * under the local host that is expected (the registry records the registrations), so those lines go.
 */
async function withoutTestModeWarnings<T>(work: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /test mode/.test(args[0])) return;
    warn(...args);
  };
  try {
    return await work();
  } finally {
    console.warn = warn;
  }
}

/** Resolves on the first SIGINT or SIGTERM; `dispose` removes the handlers again. */
function signals(): { received: Promise<NodeJS.Signals>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  // A second Ctrl-C while stopping ends the process at once; redis-server still goes with it.
  const force = () => process.exit(130);
  const received = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', force);
      resolve(signal);
    };
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    received,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', force);
    },
  };
}

async function run(args: string[]): Promise<number> {
  const options = parseStartArgs(args);
  const started = Date.now();
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  let stack: LocalStack | undefined;
  let host: FunctionsHost | undefined;
  let campaignModel: DemoCampaignModel | undefined;
  const abort = new AbortController();
  let simulation: Promise<SimulationSummary | undefined> | undefined;
  const stopAll = async () => {
    abort.abort();
    await simulation;
    await host?.stop();
    await stack?.stop();
    await campaignModel?.remove();
  };
  const signal = signals();
  try {
    applyMissing(process.env, localSettingsValues(progress));
    stack = await startLocalStack({ env: process.env, log: progress });
    applyMissing(process.env, stack.settings);
    if (options.demo) {
      const demo = await withoutTestModeWarnings(() => import('../../local/demoData'));
      if (demo.wantsDemoCampaignModel(process.env, packageRoot())) {
        // Before the settings are first read: the functions serve the model CAMPAIGN_MODEL_DIR names.
        campaignModel = await demo.trainDemoCampaignModel(progress);
        process.env.CAMPAIGN_MODEL_DIR = campaignModel.dir;
      }
    }
    const settings = getSettings();
    // Imported here: the runtime clients load the registry, and with it @azure/functions' warnings.
    const { provisionResources } = await withoutTestModeWarnings(
      () => import('../../shared/runtime/provisioning'),
    );
    await provisionResources(settings);
    progress('provisioned Cosmos DB database, containers and blob containers');
    const embedded = (['cosmos', 'blob', 'redis'] as const).every((service) =>
      stack?.started.includes(service),
    );
    if (options.demo && embedded) {
      const { seedDemoData } = await withoutTestModeWarnings(() => import('../../local/demoData'));
      await seedDemoData(settings, join(packageRoot(), 'models', 'catalog', 'offers.json'), progress);
    }

    const { dir, extension } = functionModulesDir();
    const { loadFunctionModules, startFunctionsHost } = await withoutTestModeWarnings(
      () => import('../../local/host'),
    );
    const loaded = await withoutTestModeWarnings(async () =>
      Promise.resolve(loadFunctionModules(dir, extension)),
    );
    progress(`loaded ${loaded.length} function module(s) from ${dir}`);
    host = await startFunctionsHost({
      port: options.port,
      hostname: '127.0.0.1',
      hostJson: readHostJson(join(packageRoot(), 'host.json')),
      env: process.env,
    });

    const lines = ['Functions:'];
    for (const fn of host.httpFunctions) lines.push(`  ${fn.name}: [${fn.methods.join(',')}] ${fn.url}`);
    lines.push('', 'Settings:');
    for (const name of CONNECTION_SETTING_NAMES) {
      const source = stack.settings[name] !== undefined ? 'local stack' : 'given';
      for (const key of Object.keys(process.env)
        .filter((k) => k === name || k.startsWith(`${name}__`))
        .sort()) {
        lines.push(`  ${key} = ${maskSecrets(process.env[key] ?? '')} (${source})`);
      }
    }
    lines.push(`  EVENTHUB_NAME = ${settings.eventHub.name}`);
    lines.push(
      `  CAMPAIGN_MODEL_DIR = ${settings.campaign.modelDir}${campaignModel ? ' (demo model, removed on stop)' : ''}`,
    );
    process.stdout.write(lines.join('\n') + '\n');
    progress(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops everything`);

    if (options.simulateRate !== undefined) {
      progress(`simulator: posting ${options.simulateRate} events/s to ${host.url}`);
      simulation = runSimulation(
        {
          baseUrl: host.url,
          eventsPerSecond: options.simulateRate,
          offers: true,
          onProgress: (p) =>
            progress(
              `simulator: ${p.events} events, ${p.accepted} accepted, ${p.rejected} rejected, ${p.failed} failed`,
            ),
          progressIntervalMs: 10_000,
        },
        abort.signal,
      ).catch((error: unknown) => {
        progress(`simulator stopped: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
    }

    const received = await signal.received;
    progress(`${received}: stopping`);
    await stopAll();
    progress('stopped');
    return 0;
  } catch (error) {
    await stopAll().catch((stopError: unknown) => progress(`while stopping: ${String(stopError)}`));
    throw error;
  } finally {
    signal.dispose();
  }
}

export const command: Command = {
  summary: 'run the stack and the functions locally on http://localhost:7071, like func start',
  usage,
  run,
};
