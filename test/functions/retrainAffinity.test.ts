import { InvocationContext } from '@azure/functions';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateSyntheticInteractions } from '../../models/affinity/synthetic';
import { BlobAffinityBundleStore } from '../../shared/affinity/bundleStore';
import { archiveBlobName } from '../../shared/archive/eventArchive';
import { listRegistrations, runShutdownHooks } from '../../shared/hosting/registry';
import { startBlobOnly } from '../shared/affinity/blobStack';

/** The retraining function as registered (functions/retrainAffinity.ts), against Azurite. */

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

let stack: Awaited<ReturnType<typeof startBlobOnly>>;

beforeAll(async () => {
  stack = await startBlobOnly();
  Object.assign(process.env, {
    ArchiveStorage: stack.connectionString,
    // Parsed at startup but not used by this function.
    EventHubConnection: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=n;SharedAccessKey=k',
    EVENTHUB_NAME: 'clickstream',
    CosmosDBConnection: 'AccountEndpoint=http://127.0.0.1:1/;AccountKey=a2V5;',
    RedisConnection: 'redis://127.0.0.1:1',
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
  await runShutdownHooks();
  await stack.stop();
});

describe('retrainAffinity', () => {
  it('registers a timer on the AFFINITY_RETRAIN_SCHEDULE setting and publishes a model when it fires', async () => {
    const registration = listRegistrations().find((r) => r.name === 'retrainAffinity');
    if (registration?.kind !== 'timer') throw new Error('retrainAffinity is not a registered timer');
    expect(registration.options.schedule).toBe('0 30 2 * * *');

    const logs: string[] = [];
    const context = new InvocationContext({
      functionName: 'retrainAffinity',
      logHandler: (_level, ...args) => logs.push(args.join(' ')),
    });
    await registration.options.handler({ isPastDue: false } as never, context);

    const latest = await new BlobAffinityBundleStore(stack.blob.getContainerClient('models')).readLatest();
    expect(latest?.pointer.metrics?.ndcgAtK).toBeGreaterThan(0);
    expect(logs.some((l) => l.includes('promoted'))).toBe(true);
  });
});
