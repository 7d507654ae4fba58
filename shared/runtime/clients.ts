import { CosmosClient, Database } from '@azure/cosmos';
import { EventHubProducerClient, RetryMode, RetryOptions } from '@azure/event-hubs';
import { DefaultAzureCredential, ManagedIdentityCredential, TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import Redis from 'ioredis';
import {
  BlobConnectionSettings,
  CosmosConnectionSettings,
  EventHubConnectionSettings,
  getSettings,
  IdentityChoice,
} from '../config/settings';
import { onShutdown } from '../hosting/registry';

/**
 * One client per external system per process, created on first use and closed on shutdown.
 * Functions call these getters; tests and commands may build their own clients with the factories.
 */

/** One credential per identity, shared by the clients that use it (each caches its own tokens). */
const credentials = new Map<string, TokenCredential>();
export function azureCredential(choice: IdentityChoice): TokenCredential {
  const managed = choice.managedIdentity;
  const key = managed === undefined ? '(default)' : `managed:${managed.clientId ?? '(system)'}`;
  let credential = credentials.get(key);
  if (credential === undefined) {
    credential =
      managed === undefined
        ? new DefaultAzureCredential()
        : managed.clientId === undefined
          ? new ManagedIdentityCredential()
          : new ManagedIdentityCredential({ clientId: managed.clientId });
    credentials.set(key, credential);
  }
  return credential;
}

export function createCosmosClient(connection: CosmosConnectionSettings): CosmosClient {
  // A plain-HTTP endpoint is a local emulator; endpoint discovery would rewrite it to https.
  const connectionPolicy = { enableEndpointDiscovery: !connection.endpoint.startsWith('http://') };
  return connection.kind === 'connectionString'
    ? new CosmosClient({ endpoint: connection.endpoint, key: connection.key, connectionPolicy })
    : new CosmosClient({
        endpoint: connection.endpoint,
        aadCredentials: azureCredential(connection),
        connectionPolicy,
      });
}

export function createBlobServiceClient(connection: BlobConnectionSettings): BlobServiceClient {
  return connection.kind === 'connectionString'
    ? BlobServiceClient.fromConnectionString(connection.connectionString)
    : new BlobServiceClient(connection.serviceUri, azureCredential(connection));
}

/**
 * The producer's retries. The ingest functions answer 503 once the SDK gives up, and a browser's beacon or
 * a server waits for that answer: with the SDK's defaults (3 retries 30 s apart, 60 s per attempt) a hub
 * that refuses connections held each request about 90 s. Here the waits are about 0.2, 0.6 and 1.4 s
 * (exponential, ±20%), so such a hub gets a 503 in 2-3 s, and a blip is still ridden out; a
 * send of at most 1 MB that takes longer than 10 s is retried, and a copy the hub did keep is recognised
 * by its eventId downstream (docs/aggregation.md).
 */
export const PRODUCER_RETRY_OPTIONS: RetryOptions = {
  mode: RetryMode.Exponential,
  maxRetries: 3,
  retryDelayInMs: 200,
  maxRetryDelayInMs: 2_000,
  timeoutInMs: 10_000,
};

export function createEventHubProducer(
  connection: EventHubConnectionSettings,
  eventHubName: string,
): EventHubProducerClient {
  const options = { retryOptions: PRODUCER_RETRY_OPTIONS };
  return connection.kind === 'connectionString'
    ? new EventHubProducerClient(connection.connectionString, eventHubName, options)
    : new EventHubProducerClient(
        connection.fullyQualifiedNamespace,
        eventHubName,
        azureCredential(connection),
        options,
      );
}

export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    // The offer path must degrade fast when Redis is away, not queue commands until it returns.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
    // disconnect() ends the socket and destroys it if it has not closed by then. A socket that had closed
    // already (Redis down) never closes again, so ioredis's default of 2 s held every shutdown that long.
    disconnectTimeout: 200,
  });
}

/** A Redis client that is connected when it resolves: commands that run once must not race the connect. */
export async function connectRedisClient(url: string): Promise<Redis> {
  const client = createRedisClient(url);
  if (client.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (error) => {
        client.disconnect();
        reject(error);
      });
    });
  }
  return client;
}

let cosmos: CosmosClient | undefined;
let blob: BlobServiceClient | undefined;
let producer: EventHubProducerClient | undefined;
let redis: Redis | undefined;

export function getCosmosDatabase(): Database {
  if (!cosmos) {
    const client = createCosmosClient(getSettings().cosmos.connection);
    cosmos = client;
    onShutdown(async () => {
      client.dispose();
      cosmos = undefined;
    });
  }
  return cosmos.database(getSettings().cosmos.database);
}

export function getBlobServiceClient(): BlobServiceClient {
  // BlobServiceClient holds no sockets of its own to close; the HTTP pipeline's agent is shared.
  blob ??= createBlobServiceClient(getSettings().archive.connection);
  return blob;
}

export function getEventHubProducer(): EventHubProducerClient {
  if (!producer) {
    const settings = getSettings().eventHub;
    const client = createEventHubProducer(settings.connection, settings.name);
    producer = client;
    onShutdown(async () => {
      producer = undefined;
      await client.close();
    });
  }
  return producer;
}

export function getRedis(): Redis {
  if (!redis) {
    const client = createRedisClient(getSettings().redis.url);
    // Errors surface on the commands that fail; without a listener ioredis would log every reconnect attempt.
    client.on('error', () => undefined);
    redis = client;
    onShutdown(async () => {
      redis = undefined;
      client.disconnect();
    });
  }
  return redis;
}
