import { BlobServiceClient } from '@azure/storage-blob';
import { startLocalStack } from '../../../local/stack';

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
