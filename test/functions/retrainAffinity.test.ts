import { InvocationContext } from '@azure/functions';
import Redis from 'ioredis';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { generateSyntheticInteractions } from '../../models/affinity/synthetic';
import { BlobAffinityBundleStore } from '../../shared/affinity/bundleStore';
import { archiveBlobName } from '../../shared/archive/eventArchive';
import { RedisColdStartStore } from '../../shared/coldstart/coldStartStore';
import { listRegistrations, runShutdownHooks } from '../../shared/hosting/registry';
import { connectRedisClient } from '../../shared/runtime/clients';
import { startBlobAndRedis } from '../shared/affinity/blobStack';

/** The retraining function as registered (functions/retrainAffinity.ts), against Azurite and redis-server. */

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

let stack: Awaited<ReturnType<typeof startBlobAndRedis>>;
let redis: Redis;

beforeAll(async () => {
  stack = await startBlobAndRedis();
  redis = await connectRedisClient(stack.redisUrl);
  Object.assign(process.env, {
    ArchiveStorage: stack.connectionString,
    // Parsed at startup but not used by this function.
    EventHubConnection: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=n;SharedAccessKey=k',
    EVENTHUB_NAME: 'clickstream',
    CosmosDBConnection: 'AccountEndpoint=http://127.0.0.1:1/;AccountKey=a2V5;',
    RedisConnection: stack.redisUrl,
    REDIS_KEY_PREFIX: 'fn:',
    AFFINITY_RETRAIN_SCHEDULE: '0 30 2 * * *',
    AFFINITY_LAMBDA: '20',
  });
  const archive = stack.blob.getContainerClient('clickstream-archive');
  await archive.create();
  const hour = Math.floor(Date.now() / 3_600_000) - 2;
  const lines = generateSyntheticInteractions({ users: 100, items: 60, interactions: 2500, seed: 3 }).map(
    (interaction, index) => {
      const at = new Date(hour * 3_600_000 + index).toISOString();
      const event = {
        type: 'product_view',
        userId: interaction.userId,
        productId: interaction.itemId,
        eventId: `e${index}`,
        receivedAt: at,
        timestamp: at,
      };
      return JSON.stringify({
        partitionId: '0',
        sequenceNumber: index,
        position: index * 1000,
        enqueuedTime: at,
        event,
      });
    },
  );
  await archive
    .getBlockBlobClient(archiveBlobName('clickstream', '0', new Date(hour * 3_600_000), 0, lines.length - 1))
    .uploadData(gzipSync(lines.join('\n')));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(join(__dirname, '../../functions/retrainAffinity.ts'));
});

afterAll(async () => {
  redis.disconnect();
  await runShutdownHooks();
  await stack.stop();
});

function invocation(invocationId: string): {
  context: InvocationContext;
  logs: string[];
  errors: string[];
} {
  const logs: string[] = [];
  const errors: string[] = [];
  const context = new InvocationContext({
    invocationId,
    functionName: 'retrainAffinity',
    logHandler: (level, ...args) => (level === 'error' ? errors : logs).push(args.join(' ')),
  });
  return { context, logs, errors };
}

function registered() {
  const registration = listRegistrations().find((r) => r.name === 'retrainAffinity');
  if (registration?.kind !== 'timer') throw new Error('retrainAffinity is not a registered timer');
  return registration;
}

describe('retrainAffinity', () => {
  it('registers a timer on the AFFINITY_RETRAIN_SCHEDULE setting and publishes a model when it fires', async () => {
    const registration = registered();
    expect(registration.options.schedule).toBe('0 30 2 * * *');

    const { context, logs, errors } = invocation('run-1');
    await registration.options.handler({ isPastDue: false } as never, context);

    const latest = await new BlobAffinityBundleStore(stack.blob.getContainerClient('models')).readLatest();
    expect(latest?.pointer.metrics?.ndcgAtK).toBeGreaterThan(0);
    expect(logs).toContainEqual(
      expect.stringMatching(
        /^affinity retrain: \d+ interactions, 0 archive blobs skipped, promoted, cold start loaded, 0 old versions removed$/,
      ),
    );
    expect(errors).toEqual([]);
    // The offer function's cold-start store (same REDIS_KEY_PREFIX) now serves the promoted model's lists.
    const coldStart = new RedisColdStartStore(redis, 'fn:');
    expect(await coldStart.loadedVersion()).toBe(latest!.pointer.version);
    expect((await coldStart.topProducts([], 5)).size).toBeGreaterThan(0);
  });

  it('keeps a promotion when Redis refuses the cold-start lists, logging an error with the invocation id', async () => {
    const registration = registered();
    const store = new BlobAffinityBundleStore(stack.blob.getContainerClient('models'));
    const before = (await store.readLatest())!.pointer.version;
    // A version is the second it was trained in and its graph's digest: retrained on the same data within
    // the first run's second, the model would be that run's version, whose lists Redis already holds.
    const firstRunSecond = Date.parse(
      before.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z.*$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    await sleep(Math.max(0, firstRunSecond + 1000 - Date.now()));
    // Redis refuses every write (NOREPLICAS), as it would for a reason no retry mends.
    await redis.config('SET', 'min-replicas-to-write', '1');
    const { context, logs, errors } = invocation('run-2');
    try {
      await registration.options.handler({ isPastDue: false } as never, context);
    } finally {
      await redis.config('SET', 'min-replicas-to-write', '0');
    }
    const promoted = (await store.readLatest())!.pointer.version;
    expect(promoted).not.toBe(before);
    expect(logs).toContainEqual(
      expect.stringMatching(
        /^affinity retrain: \d+ interactions, 0 archive blobs skipped, promoted, cold start failed, 0 old versions removed$/,
      ),
    );
    expect(errors).toEqual([
      expect.stringMatching(
        new RegExp(
          `cold-start lists of ${promoted} NOT loaded into Redis: NOREPLICAS.*\\(invocation run-2\\)$`,
        ),
      ),
    ]);
    const coldStart = new RedisColdStartStore(redis, 'fn:');
    expect(await coldStart.loadedVersion()).toBe(before);
  });
});
