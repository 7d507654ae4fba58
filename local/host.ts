import { HttpFunctionOptions } from '@azure/functions';
import { LoadBalancingOptions } from '@azure/event-hubs';
import { readdirSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { listRegistrations, Registration, runShutdownHooks } from '../shared/hosting/registry';
import { startEventHubTrigger, RunningTrigger } from './eventHubTrigger';
import { hostConfigFrom, HostConfig } from './hostJson';
import { createHttpTriggerServer, DEFAULT_MAX_REQUEST_BODY_BYTES } from './httpTrigger';
import { describeError, HostLogger, Invocations, stderrLogger } from './invocations';
import { startTimerTrigger } from './timerTrigger';

/**
 * A local Functions host for machines without Core Tools. It serves the registrations recorded by
 * shared/hosting/registry.ts, the same ones `func start` and Azure index, so routes, bindings and
 * handlers have one source of truth. See docs/local-development.md for the trigger semantics.
 */

export interface FunctionsHostOptions {
  /** Port for the HTTP triggers; 0 picks a free one. Defaults to 7071 like `func start`. */
  port?: number;
  /** Interface to listen on; defaults to 127.0.0.1. */
  hostname?: string;
  /** Defaults to listRegistrations(): every function registered in this process. */
  registrations?: readonly Registration[];
  /**
   * host.json contents as parsed JSON (validated here; a bad field is an error naming it), or a config
   * from readHostJson(path). Defaults to the real host's defaults.
   */
  hostJson?: unknown;
  /** App settings for binding expressions and trigger connections; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  log?: HostLogger;
  /**
   * Event Hubs partition load balancing across host instances. Defaults to the SDK's intervals (10 s /
   * 60 s) with the greedy strategy: the SDK's default, balanced, claims one partition per 10 s, so a lone
   * `npm start` would leave some partitions unread for 30 s or more after it says it is ready.
   */
  eventHubLoadBalancing?: LoadBalancingOptions;
  maxRequestBodyBytes?: number;
  /** Run Event Hubs and timer triggers (default true). */
  enableNonHttpTriggers?: boolean;
  /** Call runShutdownHooks() after stopping (default true); tests sharing clients may turn it off. */
  runShutdownHooksOnStop?: boolean;
}

export interface FunctionsHost {
  /** Base URL, e.g. http://127.0.0.1:7071 (the route prefix is not included). */
  readonly url: string;
  readonly port: number;
  readonly config: HostConfig;
  /** Each HTTP function with its full URL and methods, for printing. */
  readonly httpFunctions: ReadonlyArray<{ name: string; url: string; methods: readonly string[] }>;
  /** Stops accepting requests, waits for invocations in flight, closes consumers, runs shutdown hooks. */
  stop(): Promise<void>;
}

function isHostConfig(value: unknown): value is HostConfig {
  // Parsed host.json has `extensions` (and fields we ignore) at the top level, never these two.
  return typeof value === 'object' && value !== null && 'eventHubs' in value && 'http' in value;
}

/**
 * Requires every compiled function module in `dir` (what package.json `main`, `dist/functions/*.js`,
 * points the real host at), so their registrations are recorded. Returns the files loaded.
 */
export function loadFunctionModules(dir: string, extension = '.js'): string[] {
  const absolute = resolve(dir);
  const files = readdirSync(absolute)
    .filter((file) => file.endsWith(extension) && !file.endsWith('.d.ts'))
    .sort()
    .map((file) => join(absolute, file));
  // Loading is the registration: each module calls register* from shared/hosting/registry at load time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  for (const file of files) require(file);
  return files;
}

/**
 * The app setting that disables a function, if one does: `AzureWebJobs.<name>.Disabled`, or
 * `AzureWebJobs_<name>_Disabled` where setting names cannot hold dots (Linux), set to `true` or `1`. As
 * the Functions host reads them: names and values compared without regard to case, values untrimmed.
 */
export function disabledBy(
  env: Readonly<Record<string, string | undefined>>,
  functionName: string,
): string | undefined {
  const names = new Set(
    [`AzureWebJobs.${functionName}.Disabled`, `AzureWebJobs_${functionName}_Disabled`].map((n) =>
      n.toLowerCase(),
    ),
  );
  for (const [setting, value] of Object.entries(env)) {
    if (!names.has(setting.toLowerCase())) continue;
    const flag = value?.toLowerCase();
    if (flag === 'true' || flag === '1') return setting;
  }
  return undefined;
}

export async function startFunctionsHost(options: FunctionsHostOptions = {}): Promise<FunctionsHost> {
  const log = options.log ?? stderrLogger;
  const env = options.env ?? process.env;
  const registered = options.registrations ?? listRegistrations();
  const config = isHostConfig(options.hostJson) ? options.hostJson : hostConfigFrom(options.hostJson);
  const invocations = new Invocations(log);
  const names = new Set<string>();
  for (const registration of registered) {
    if (names.has(registration.name))
      throw new Error(`two functions are registered as '${registration.name}'`);
    names.add(registration.name);
  }
  // Disabled functions are not served or triggered, as in Azure (their HTTP routes answer 404).
  const registrations = registered.filter((registration) => {
    const setting = disabledBy(env, registration.name);
    if (setting !== undefined) log('information', `function ${registration.name} is disabled (${setting})`);
    return setting === undefined;
  });

  const http = registrations.flatMap((r) =>
    r.kind === 'http' ? [{ name: r.name, options: r.options }] : [],
  );
  const server = createHttpTriggerServer({
    functions: http,
    routePrefix: config.http.routePrefix,
    invocations,
    maxRequestBodyBytes: options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES,
  });
  // Clients keep connections open between requests (keep-alive); longer than typical client idle timeouts.
  server.keepAliveTimeout = 65_000;
  const hostname = options.hostname ?? '127.0.0.1';
  const requestedPort = options.port ?? 7071;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${requestedPort} on ${hostname} is already in use (another host running?); choose another port`,
            )
          : error,
      ),
    );
    server.listen(requestedPort, hostname, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;

  const triggers: RunningTrigger[] = [];
  const stopTriggers = () => Promise.allSettled(triggers.map((t) => t.stop()));
  try {
    if (options.enableNonHttpTriggers ?? true) {
      for (const registration of registrations) {
        if (registration.kind === 'eventHub') {
          triggers.push(
            await startEventHubTrigger({
              name: registration.name,
              options: registration.options,
              env,
              config: config.eventHubs,
              invocations,
              loadBalancing: options.eventHubLoadBalancing ?? { strategy: 'greedy' },
            }),
          );
        } else if (registration.kind === 'timer') {
          triggers.push(
            startTimerTrigger({ name: registration.name, options: registration.options, env, invocations }),
          );
        }
      }
    }
  } catch (error) {
    await stopTriggers();
    await new Promise<void>((done) => server.close(() => done()));
    throw error;
  }

  const prefix = config.http.routePrefix === '' ? '' : `/${config.http.routePrefix}`;
  const httpFunctions = http.map(({ name, options: o }: { name: string; options: HttpFunctionOptions }) => ({
    name,
    url: `${url}${prefix}/${(o.route ?? name).replace(/^\/+/, '')}`,
    methods: o.methods ?? ['GET', 'POST'],
  }));
  log('information', `host started on ${url} with ${registrations.length} function(s)`);

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    config,
    httpFunctions,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((done) => server.close(() => done()));
        server.closeIdleConnections();
        await invocations.drain();
        const outcomes = await stopTriggers();
        await invocations.drain();
        server.closeAllConnections();
        await closed;
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected')
            log('warning', `a trigger failed to stop: ${describeError(outcome.reason)}`);
        }
        if (options.runShutdownHooksOnStop ?? true) await runShutdownHooks();
        log('information', 'host stopped');
      })();
      return stopping;
    },
  };
}
