import { CosmosClient, Database } from '@azure/cosmos';
import { EventHubConsumerClient, EventHubProducerClient } from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { InvocationContext } from '@azure/functions';
import { join } from 'node:path';
import { ProductStats, UserProfile } from '../../shared/aggregation/documents';
import { eventsInMessage } from '../../shared/events/hubMessage';
import { EventHubsPublisher } from '../../shared/ingest/eventPublisher';
import { getSettings } from '../../shared/config/settings';
import { listRegistrations, runShutdownHooks } from '../../shared/hosting/registry';
import { provisionResources } from '../../shared/runtime/provisioning';
import { FunctionsHost, startFunctionsHost } from '../../local/host';
import {
  blobServiceFor,
  cosmosClientFor,
  eventHubProducerFor,
  startTestStack,
  TestStack,
} from '../support/localStack';

/**
 * The aggregate function as registered (functions/aggregate.ts), fed by real Event Hubs consumers with a
 * blob checkpoint store: the situations that make a naive consumer double count.
 */

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

let stack: TestStack;
let cosmos: CosmosClient;
let database: Database;
let producer: EventHubProducerClient;

beforeAll(async () => {
  stack = await startTestStack({ partitionCount: 4 });
  Object.assign(process.env, stack.settings);
  await provisionResources(getSettings());
  cosmos = cosmosClientFor(stack.settings);
  database = cosmos.database(getSettings().cosmos.database);
  producer = eventHubProducerFor(stack.settings);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(join(__dirname, '../../functions/aggregate.ts'));
});

afterAll(async () => {
  await producer.close();
  await runShutdownHooks();
  cosmos.dispose();
  await stack.stop();
});

function aggregateHandler() {
  const registration = listRegistrations().find((r) => r.name === 'aggregate');
  if (registration?.kind !== 'eventHub') throw new Error('aggregate is not registered');
  return registration.options.handler;
}

/** Sends as ingest does: through the publisher, so each send is one message holding several events. */
async function send(userIds: string[], productId: string): Promise<void> {
  const now = new Date().toISOString();
  const acknowledged = await new EventHubsPublisher(producer).publish(
    userIds.map((userId, i) => ({
      type: 'product_view',
      userId,
      productId,
      eventId: `${userId}-${productId}-${i}`,
      receivedAt: now,
      timestamp: now,
      schemaVersion: 1,
    })),
  );
  expect(acknowledged.every(Boolean)).toBe(true);
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const product = async (id: string) =>
  (await database.container('product-stats').item(id, id).read<ProductStats>()).resource;

describe('aggregate on a real hub', () => {
  it('counts once when an instance crashes after writing and before checkpointing', async () => {
    const users = Array.from({ length: 30 }, (_, i) => `crash-user-${i % 10}`);
    await send(users, 'crash-product');
    const checkpoints = new BlobCheckpointStore(
      blobServiceFor(stack.settings, 'AzureWebJobsStorage').getContainerClient('crash-checkpoints'),
    );
    await blobServiceFor(stack.settings, 'AzureWebJobsStorage')
      .getContainerClient('crash-checkpoints')
      .createIfNotExists();
    const handler = aggregateHandler();

    async function runInstance(checkpoint: boolean): Promise<number> {
      const consumer = new EventHubConsumerClient(
        '$Default',
        stack.settings.EventHubConnection!,
        'clickstream',
        checkpoints,
        {
          loadBalancingOptions: { strategy: 'greedy', updateIntervalInMs: 200 },
        },
      );
      let delivered = 0;
      const subscription = consumer.subscribe(
        {
          processEvents: async (events, partition) => {
            if (events.length === 0) return;
            for (const e of events) delivered += eventsInMessage(e.body)?.length ?? 0;
            const context = new InvocationContext({
              functionName: 'aggregate',
              logHandler: () => undefined,
              triggerMetadata: {
                partitionContext: {
                  PartitionId: partition.partitionId,
                  EventHubName: partition.eventHubName,
                },
                sequenceNumberArray: events.map((e) => e.sequenceNumber),
                enqueuedTimeUtcArray: events.map((e) => e.enqueuedTimeUtc.toISOString()),
              },
            });
            await handler(
              events.map((e) => e.body as unknown),
              context,
            );
            // The crashing instance dies here: its writes are done, its checkpoint never happens.
            if (checkpoint) await partition.updateCheckpoint(events[events.length - 1]!);
          },
          processError: async () => undefined,
        },
        { startPosition: { enqueuedOn: new Date(0) }, maxBatchSize: 100, maxWaitTimeInSeconds: 0.3 },
      );
      await eventually(
        async () => (await product('crash-product'))?.views === 30 && delivered >= 30,
        'the batch',
      );
      await subscription.close();
      await consumer.close();
      return delivered;
    }

    expect(await runInstance(false)).toBe(30);
    // A new instance starts from the last checkpoint (none) and gets every event again.
    expect(await runInstance(true)).toBe(30);
    expect((await product('crash-product'))?.views).toBe(30);
    const profile = (
      await database.container('user-profiles').item('crash-user-3', 'crash-user-3').read<UserProfile>()
    ).resource;
    expect(profile?.products['crash-product']?.views).toBe(3);
  });

  it('counts every event once with two host instances sharing the hub', async () => {
    const hosts: FunctionsHost[] = [];
    const options = {
      port: 0,
      registrations: listRegistrations().filter((r) => r.name === 'aggregate'),
      hostJson: { extensions: { eventHubs: { maxEventBatchSize: 50, maxWaitTime: '00:00:00.300' } } },
      log: () => undefined,
      runShutdownHooksOnStop: false,
      eventHubLoadBalancing: { updateIntervalInMs: 200, partitionOwnershipExpirationIntervalInMs: 2000 },
    };
    hosts.push(await startFunctionsHost(options), await startFunctionsHost(options));
    try {
      const users = Array.from({ length: 200 }, (_, i) => `shared-user-${i % 40}`);
      await send(users.slice(0, 100), 'shared-product');
      // Traffic continues while the two instances balance the partitions between them.
      await new Promise((r) => setTimeout(r, 1500));
      await send(users.slice(100), 'shared-product');
      await eventually(async () => (await product('shared-product'))?.views === 200, 'all 200 views');
      await new Promise((r) => setTimeout(r, 1500));
      expect((await product('shared-product'))?.views).toBe(200);
    } finally {
      await Promise.all(hosts.map((h) => h.stop()));
    }
  }, 120_000);
});
