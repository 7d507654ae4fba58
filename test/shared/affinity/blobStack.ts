import { BlobServiceClient } from '@azure/storage-blob';
import { startLocalStack } from '../../../local/stack';
import { FaultProxy, startFaultProxy } from '../../support/faultProxy';

/** Azurite alone: the other services count as given, so the local stack starts only Blob. */
export async function startBlobOnly(): Promise<{
  blob: BlobServiceClient;
  connectionString: string;
  stop(): Promise<void>;
}> {
  const stack = await startLocalStack({
    env: { CosmosDBConnection: 'not-used', EventHubConnection: 'not-used', RedisConnection: 'not-used' },
  });
  const connectionString = stack.settings.ArchiveStorage;
  if (connectionString === undefined) throw new Error('local stack started no Blob service');
  return {
    blob: BlobServiceClient.fromConnectionString(connectionString),
    connectionString,
    stop: () => stack.stop(),
  };
}

/** Azurite and a redis-server: what retraining needs to publish a model and load its cold-start lists. */
export async function startBlobAndRedis(): Promise<{
  blob: BlobServiceClient;
  connectionString: string;
  redisUrl: string;
  stop(): Promise<void>;
}> {
  const stack = await startLocalStack({
    env: {
      PATH: process.env.PATH,
      REDIS_SERVER_BIN: process.env.REDIS_SERVER_BIN,
      CosmosDBConnection: 'not-used',
      EventHubConnection: 'not-used',
    },
  });
  const connectionString = stack.settings.ArchiveStorage;
  const redisUrl = stack.settings.RedisConnection;
  if (connectionString === undefined || redisUrl === undefined)
    throw new Error('local stack started no Blob or no Redis service');
  return {
    blob: BlobServiceClient.fromConnectionString(connectionString),
    connectionString,
    redisUrl,
    stop: () => stack.stop(),
  };
}

/**
 * A Blob client that reaches Azurite through a fault proxy (test/support/faultProxy.ts), without the SDK's
 * own retries, so each fault reaches the code under test. The caller stops the proxy.
 */
export async function blobBehindFaultProxy(
  stack: { blob: BlobServiceClient; connectionString: string },
  decide: Parameters<typeof startFaultProxy>[1],
): Promise<{ blob: BlobServiceClient; proxy: FaultProxy }> {
  const blobUrl = new URL(stack.blob.url);
  const proxy = await startFaultProxy(blobUrl.origin, decide);
  const blob = BlobServiceClient.fromConnectionString(
    stack.connectionString.replace(
      /BlobEndpoint=[^;]+/,
      `BlobEndpoint=${proxy.url}${blobUrl.pathname.replace(/\/$/, '')}`,
    ),
    { retryOptions: { maxTries: 1 } },
  );
  return { blob, proxy };
}
