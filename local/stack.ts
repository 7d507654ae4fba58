import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startRedisServer } from './redisServer';

/**
 * The embedded local stack: Azurite Blob, @vercel/cosmosdb-server and the mock Event Hubs AMQP service,
 * each in a worker thread of this process, and a redis-server child process. Nothing is downloaded and
 * nothing is written to disk. A service whose connection setting is already given is not started: the
 * given endpoint is used instead.
 */

/** Azurite's and the Cosmos DB emulator's published development keys: public, not secrets. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
export const COSMOS_EMULATOR_KEY =
  'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU9DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';
/** The mock hub checks no credentials; the key name and value only have to be well-formed. */
const EVENT_HUB_KEY_NAME = 'RootManageSharedAccessKey';
const EVENT_HUB_KEY = 'SAS_KEY_VALUE';

export type LocalService = 'blob' | 'cosmos' | 'eventHubs' | 'redis';

/** The connection settings the stack can provide, by the names the Functions host uses. */
export const CONNECTION_SETTING_NAMES = [
  'EventHubConnection',
  'CosmosDBConnection',
  'ArchiveStorage',
  'AzureWebJobsStorage',
  'RedisConnection',
] as const;

export interface LocalStackOptions {
  /** Where given settings are looked up; defaults to process.env. Never modified. */
  env?: Record<string, string | undefined>;
  /** Partitions of the embedded Event Hub; defaults to 4. */
  partitionCount?: number;
  /** Progress lines (defaults to none). */
  log?: (line: string) => void;
}

export interface LocalStack {
  /**
   * Settings for the services this stack started, named as the Functions host names them, plus
   * EVENTHUB_NAME. Settings that were already given are not repeated here.
   */
  readonly settings: Readonly<Record<string, string>>;
  /** The services that were started (those whose settings were not given). */
  readonly started: readonly LocalService[];
  /** Closes every server this stack started and stops redis-server. Safe to call twice. */
  stop(): Promise<void>;
}

const DEFAULT_EVENT_HUB_NAME = 'clickstream';

function given(env: Record<string, string | undefined>, name: string, identitySuffixes: string[]): boolean {
  return [name, ...identitySuffixes.map((suffix) => `${name}__${suffix}`)].some(
    (key) => (env[key]?.trim() ?? '') !== '',
  );
}

/**
 * Whether a storage connection is given, in any form: the host's own storage may also name just its
 * account (`AzureWebJobsStorage__accountName`), as infra/ sets it in Azure.
 */
function blobGiven(
  env: Record<string, string | undefined>,
  name: 'ArchiveStorage' | 'AzureWebJobsStorage',
): boolean {
  const suffixes = ['blobServiceUri', 'serviceUri'];
  return given(env, name, name === 'AzureWebJobsStorage' ? [...suffixes, 'accountName'] : suffixes);
}

/** Which settings are missing, by service; a service is started only when one of its settings is. */
export function missingServices(env: Record<string, string | undefined>): LocalService[] {
  const missing: LocalService[] = [];
  if (!blobGiven(env, 'ArchiveStorage') || !blobGiven(env, 'AzureWebJobsStorage')) {
    missing.push('blob');
  }
  if (!given(env, 'CosmosDBConnection', ['accountEndpoint'])) missing.push('cosmos');
  if (!given(env, 'EventHubConnection', ['fullyQualifiedNamespace'])) missing.push('eventHubs');
  if (!given(env, 'RedisConnection', [])) missing.push('redis');
  return missing;
}

interface Running {
  settings: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Azurite runs in a worker thread, not in this realm: its telemetry module loads applicationinsights 2.x,
 * which on load puts a real OpenTelemetry tracer behind every Azure SDK call of the process (a span then
 * costs about 10 µs instead of 1), slowing down and skewing every function run next to the stack.
 * Plain JavaScript evaluated in the worker, so it runs the same under ts-jest as from dist/.
 */
const BLOB_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const BlobServer = require(workerData.modules.server).default;
const BlobConfiguration = require(workerData.modules.configuration).default;
const { MemoryExtentChunkStore } = require(workerData.modules.chunkStore);
// A private chunk store per server: Azurite's default one is shared by every server in the realm.
const chunks = new MemoryExtentChunkStore(512 * 1024 * 1024);
const server = new BlobServer(new BlobConfiguration(
  '127.0.0.1', 0, undefined, undefined, undefined, undefined, false, undefined, false, undefined,
  true, // loose: accept headers the emulator does not model instead of failing the request
  true, // skipApiVersionCheck: newer SDKs send API versions Azurite does not know yet
  '', '', '', undefined, false,
  true, // in memory: nothing on disk
  chunks,
));
server.start().then(
  () => parentPort.postMessage({ started: server.getHttpServerAddress() }),
  (error) => parentPort.postMessage({ failed: String(error && error.stack || error) }),
);
parentPort.on('message', async () => {
  await server.close();
  await server.clean();
  parentPort.postMessage({ stopped: true });
});
`;

/**
 * The Event Hubs emulator runs in a worker thread too: its side of every AMQP link (decoding each transfer,
 * storing, answering with a disposition) then runs on the other core instead of on the event loop of the
 * function host beside it, as the real service would. Plain JavaScript for the same reason as Azurite's.
 */
const EVENT_HUBS_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { MockEventHub } = require(workerData.modules.mockEventHub);
// rhea, the emulator's AMQP engine, drops the whole connection when a frame arrives on a channel whose
// session has already ended. A client that closes a receiver still settles the messages that were in
// flight to it, so its dispositions (and flows) can arrive after the session's end; dropping the
// connection for that strands the client's own close, which rhea-promise never settles when a
// disconnect interrupts it. Such late frames belong to a finished session and are ignored. This worker
// has its own module instances, so the clients in the host's thread keep rhea as published.
const Connection = require(workerData.modules.rheaConnection);
for (const performative of ['disposition', 'flow']) {
  const handler = Connection.prototype['on_' + performative];
  Connection.prototype['on_' + performative] = function (frame) {
    if (this.remote_channel_map[frame.channel] === undefined) return;
    handler.call(this, frame);
  };
}
const hub = new MockEventHub(workerData.options);
hub.start().then(
  () => parentPort.postMessage({ started: hub.port }),
  (error) => parentPort.postMessage({ failed: String(error && error.stack || error) }),
);
parentPort.on('message', async () => {
  await hub.stop();
  parentPort.postMessage({ stopped: true });
});
`;

/**
 * How long a service may take to stop cleanly before its worker is terminated. A client that never
 * closed its connection (a process killed mid-run, or an SDK link that reconnects after its client
 * closed) would otherwise hold the service's listener open for good: net.Server.close() waits for every
 * connection, and the Event Hubs emulator's stop() is that close. The services keep their state in
 * memory only, so terminating one loses nothing that stopping it would have kept.
 */
const STOP_GRACE_MS = 2000;

/** A service in a worker thread that posts `{ started }` (or `{ failed }`), and `{ stopped }` when told to. */
async function startInWorker<T>(
  service: string,
  source: string,
  workerData: unknown,
): Promise<{ started: T; stop: () => Promise<void> }> {
  const worker = new Worker(source, { eval: true, workerData });
  const reply = <R>(key: string) =>
    new Promise<R>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (key in message) {
          worker.off('message', onMessage);
          resolve(message[key] as R);
        } else if ('failed' in message) {
          reject(new Error(`${service} did not start: ${String(message.failed)}`));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`${service}'s worker exited with code ${code}`)));
    });
  let started: T;
  try {
    started = await reply<T>('started');
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const stop = async () => {
    // Terminating the worker makes `stopped` reject when it has not come yet; that is expected.
    const stopped = reply<boolean>('stopped').catch(() => false);
    worker.postMessage('stop');
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      stopped,
      new Promise((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS))),
    ]).finally(() => clearTimeout(grace));
    await worker.terminate();
  };
  return { started, stop };
}

async function startBlob(env: Record<string, string | undefined>): Promise<Running> {
  const { started: address, stop } = await startInWorker<string>('Azurite', BLOB_WORKER_SOURCE, {
    modules: {
      server: require.resolve('azurite/dist/src/blob/BlobServer'),
      configuration: require.resolve('azurite/dist/src/blob/BlobConfiguration'),
      chunkStore: require.resolve('azurite/dist/src/common/persistence/MemoryExtentStore'),
    },
  });
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=${address}/${AZURITE_ACCOUNT};`;
  const settings: Record<string, string> = {};
  for (const name of ['ArchiveStorage', 'AzureWebJobsStorage'] as const) {
    if (!blobGiven(env, name)) settings[name] = connectionString;
  }
  return { settings, stop };
}

/**
 * The Cosmos DB server runs in a worker thread as well: it is a JavaScript database answering every
 * point read, query and bulk request of the functions, and on the host's event loop that work would
 * be charged to each function run beside it. Keep-alive: the Cosmos SDK reuses connections, and a new
 * TCP connection per request would make it several times slower than it needs to be.
 */
const COSMOS_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHttpServer } = require(workerData.modules.cosmosServer);
const server = createHttpServer({ keepAlive: true });
server.once('error', (error) => parentPort.postMessage({ failed: String(error && error.stack || error) }));
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ started: server.address().port }));
parentPort.on('message', () => {
  server.close(() => parentPort.postMessage({ stopped: true }));
  // Keep-alive sockets of clients that are still open would hold close() forever.
  server.closeAllConnections();
});
`;

async function startCosmos(): Promise<Running> {
  const { started: port, stop } = await startInWorker<number>('The Cosmos DB server', COSMOS_WORKER_SOURCE, {
    modules: { cosmosServer: require.resolve('@vercel/cosmosdb-server') },
  });
  return {
    settings: {
      CosmosDBConnection: `AccountEndpoint=http://127.0.0.1:${port}/;AccountKey=${COSMOS_EMULATOR_KEY};`,
    },
    stop,
  };
}

async function startEventHubs(
  env: Record<string, string | undefined>,
  partitionCount: number,
): Promise<Running> {
  const name = env.EVENTHUB_NAME?.trim() || DEFAULT_EVENT_HUB_NAME;
  // The mock compares consumer groups in lower case; `$default` always exists.
  const consumerGroup = env.EVENTHUB_CONSUMER_GROUP?.trim().toLowerCase();
  const { started: port, stop } = await startInWorker<number>(
    'The Event Hubs emulator',
    EVENT_HUBS_WORKER_SOURCE,
    {
      modules: {
        mockEventHub: require.resolve('mock-event-hub'),
        // The copy of rhea the emulator itself loads.
        rheaConnection: require.resolve('rhea/lib/connection.js', {
          paths: [dirname(require.resolve('mock-event-hub'))],
        }),
      },
      options: {
        name,
        partitionCount,
        port: 0,
        consumerGroups: consumerGroup && consumerGroup !== '$default' ? [consumerGroup] : [],
        // Plain AMQP on TCP, as the official Event Hubs emulator speaks; the SDK uses it when the
        // connection string says UseDevelopmentEmulator=true.
        tlsOptions: { transport: 'tcp' },
      },
    },
  );
  return {
    settings: {
      EventHubConnection:
        `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=${EVENT_HUB_KEY_NAME};` +
        `SharedAccessKey=${EVENT_HUB_KEY};UseDevelopmentEmulator=true`,
    },
    stop,
  };
}

async function startRedis(env: Record<string, string | undefined>): Promise<Running> {
  const redis = await startRedisServer(env);
  return { settings: { RedisConnection: redis.url }, stop: () => redis.stop() };
}

/** Starts the services whose settings are missing from `env` and returns their settings. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const partitionCount = options.partitionCount ?? 4;
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 32) {
    throw new RangeError(`partitionCount must be an integer from 1 to 32, got ${partitionCount}`);
  }
  const missing = missingServices(env);
  const starters: Record<LocalService, () => Promise<Running>> = {
    blob: () => startBlob(env),
    cosmos: () => startCosmos(),
    eventHubs: () => startEventHubs(env, partitionCount),
    redis: () => startRedis(env),
  };
  const results = await Promise.allSettled(missing.map((service) => starters[service]()));
  const running = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= Promise.allSettled(running.map((service) => service.stop())).then((outcomes) => {
      const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
      if (errors.length > 0) throw new AggregateError(errors, 'some local services failed to stop');
    });
    return stopped;
  };
  if (failure) {
    await stop().catch(() => undefined);
    throw failure.reason;
  }
  const settings: Record<string, string> = {
    EVENTHUB_NAME: env.EVENTHUB_NAME?.trim() || DEFAULT_EVENT_HUB_NAME,
  };
  for (const service of running) Object.assign(settings, service.settings);
  for (const service of missing) log(`local stack: started ${service}`);
  return { settings: Object.freeze(settings), started: missing, stop };
}
