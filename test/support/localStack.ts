import { CosmosClient } from '@azure/cosmos';
import { EventHubConsumerClient, EventHubProducerClient } from '@azure/event-hubs';
import { BlobServiceClient } from '@azure/storage-blob';
import Redis from 'ioredis';
import { parseConnectionString } from '../../shared/config/settings';
import { eventsInMessage } from '../../shared/events/hubMessage';
import { startLocalStack } from '../../local/stack';

/**
 * Integration-test fixtures: each test file starts its own embedded stack in beforeAll and stops it in
 * afterAll. The stack ignores connection settings in the environment, so a developer's shell or
 * local.settings.json never points tests at a real service.
 */
export interface TestStack {
  /** Every setting the app needs against this stack (connections, EVENTHUB_NAME), plus `extra`. */
  readonly settings: Readonly<Record<string, string>>;
  /** The settings merged over a copy of process.env, ready for parseSettings(). */
  env(): Record<string, string | undefined>;
  stop(): Promise<void>;
}

export interface TestStackOptions {
  partitionCount?: number;
  eventHubName?: string;
  /** More settings to add (e.g. COSMOS_DATABASE); they are part of `settings`. */
  extra?: Record<string, string>;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    REDIS_SERVER_BIN: process.env.REDIS_SERVER_BIN,
    EVENTHUB_NAME: options.eventHubName ?? 'clickstream',
    EVENTHUB_CONSUMER_GROUP: options.extra?.EVENTHUB_CONSUMER_GROUP,
  };
  const stack = await startLocalStack({ env, partitionCount: options.partitionCount ?? 4 });
  const settings = Object.freeze({ ...stack.settings, ...options.extra });
  return {
    settings,
    env: () => ({ ...process.env, ...settings }),
    stop: () => stack.stop(),
  };
}

function setting(settings: Readonly<Record<string, string>>, name: string): string {
  const value = settings[name];
  if (value === undefined) throw new Error(`test stack has no setting ${name}`);
  return value;
}

/** Cosmos client for assertions; plain-HTTP endpoints need endpoint discovery off. */
export function cosmosClientFor(settings: Readonly<Record<string, string>>): CosmosClient {
  const parts = parseConnectionString(setting(settings, 'CosmosDBConnection'));
  return new CosmosClient({
    endpoint: parts.get('accountendpoint') ?? '',
    key: parts.get('accountkey') ?? '',
    connectionPolicy: { enableEndpointDiscovery: false },
  });
}

export function blobServiceFor(
  settings: Readonly<Record<string, string>>,
  name = 'ArchiveStorage',
): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(setting(settings, name));
}

export function eventHubProducerFor(settings: Readonly<Record<string, string>>): EventHubProducerClient {
  return new EventHubProducerClient(
    setting(settings, 'EventHubConnection'),
    setting(settings, 'EVENTHUB_NAME'),
  );
}

export function eventHubConsumerFor(
  settings: Readonly<Record<string, string>>,
  consumerGroup = '$Default',
): EventHubConsumerClient {
  return new EventHubConsumerClient(
    consumerGroup,
    setting(settings, 'EventHubConnection'),
    setting(settings, 'EVENTHUB_NAME'),
  );
}

/** Redis client that does not retry forever once the test's redis-server is gone. */
export function redisClientFor(settings: Readonly<Record<string, string>>): Redis {
  return new Redis(setting(settings, 'RedisConnection'), { maxRetriesPerRequest: 1, lazyConnect: false });
}

/** An event the hub delivered, with the partition it came from. */
export interface DeliveredEvent {
  partitionId: string;
  body: unknown;
}

/** Reads every partition of the stack's hub from the start into `delivered`, until `close()`. */
export function recordHubEvents(settings: Readonly<Record<string, string>>): {
  delivered: DeliveredEvent[];
  /** Hub messages received, each holding one or more of the delivered events. */
  messages: number;
  close(): Promise<void>;
} {
  const consumer = eventHubConsumerFor(settings);
  const delivered: DeliveredEvent[] = [];
  const recorder = {
    delivered,
    messages: 0,
    async close() {
      await subscription.close();
      await consumer.close();
    },
  };
  const subscription = consumer.subscribe(
    {
      processEvents: async (events, context) => {
        for (const e of events) {
          recorder.messages += 1;
          // Ingest sends a message per send holding its events; record each event.
          for (const body of eventsInMessage(e.body) ?? []) {
            delivered.push({ partitionId: context.partitionId, body });
          }
        }
      },
      processError: async () => undefined,
    },
    { startPosition: { enqueuedOn: new Date(0) }, maxWaitTimeInSeconds: 0.2 },
  );
  return recorder;
}
