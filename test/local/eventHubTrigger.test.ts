import { InvocationContext, LogLevel } from '@azure/functions';
import { EventHubProducerClient } from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { FunctionsHost, startFunctionsHost } from '../../local/host';
import { HostJson } from '../../local/hostJson';
import { CHECKPOINT_CONTAINER, checkpointContainer } from '../../local/eventHubTrigger';
import { ConfigurationError } from '../../shared/config/settings';
import { listRegistrations, registerEventHub } from '../../shared/hosting/registry';
import { blobServiceFor, eventHubProducerFor, startTestStack, TestStack } from '../support/localStack';

// @azure/functions warns on every registration outside the real host; that is expected here.
jest.spyOn(console, 'warn').mockImplementation(() => undefined);

interface Delivery {
  functionName: string;
  partitionId: string;
  bodies: Array<{ user: string; n: number }>;
  metadata: Record<string, unknown>;
}

const deliveries: Delivery[] = [];
let failing = false;

function handler(messages: unknown, context: InvocationContext): void {
  const metadata = context.triggerMetadata as Record<string, unknown>;
  const partitionContext = metadata.partitionContext as { PartitionId: string };
  deliveries.push({
    functionName: context.functionName,
    partitionId: partitionContext.PartitionId,
    bodies: messages as Delivery['bodies'],
    metadata,
  });
  if (failing) throw new Error('function failed on purpose');
}

// Two registrations of the same trigger stand for the same function on two host instances; the host
// under test gets one each, and functionName tells which instance received a batch.
for (const name of ['collectA', 'collectB']) {
  registerEventHub(name, {
    connection: 'EventHubConnection',
    eventHubName: '%EVENTHUB_NAME%',
    consumerGroup: '$Default',
    cardinality: 'many',
    handler,
  });
}

const singles: Array<{ body: unknown; metadata: Record<string, unknown> }> = [];
registerEventHub('collectOne', {
  connection: 'EventHubConnection',
  eventHubName: '%EVENTHUB_NAME%',
  // A second consumer group reads the same events independently of the first.
  consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
  cardinality: 'one',
  handler: (message, context) => {
    singles.push({ body: message, metadata: context.triggerMetadata as Record<string, unknown> });
  },
});

// A function with a retry policy, on the second consumer group once collectOne has stopped: while `outage` is set it fails every
// batch that holds a `retry-me` event, as the aggregate function does when it can keep the events nowhere.
interface Attempt {
  partitionId: string;
  retryCount: number | undefined;
  invocationId: string;
  bodies: Array<{ user: string; n: number }>;
  sequenceNumbers: number[];
}
const attempts: Attempt[] = [];
let outage = false;
registerEventHub('collectWithRetry', {
  connection: 'EventHubConnection',
  eventHubName: '%EVENTHUB_NAME%',
  consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
  cardinality: 'many',
  retry: { strategy: 'fixedDelay', maxRetryCount: -1, delayInterval: { milliseconds: 100 } },
  handler: (messages, context) => {
    const metadata = context.triggerMetadata as Record<string, unknown>;
    const bodies = messages as Attempt['bodies'];
    if (!bodies.some((b) => b.user.startsWith('retry-me'))) return;
    attempts.push({
      partitionId: (metadata.partitionContext as { PartitionId: string }).PartitionId,
      retryCount: context.retryContext?.retryCount,
      invocationId: context.invocationId,
      bodies,
      sequenceNumbers: metadata.sequenceNumberArray as number[],
    });
    if (outage) throw new Error('nowhere to keep the events');
  },
});

const hostJson: HostJson = {
  extensions: {
    eventHubs: { maxEventBatchSize: 5, maxWaitTime: '00:00:00.200', batchCheckpointFrequency: 1 },
  },
};
const PARTITIONS = ['0', '1', '2', '3'];

let stack: TestStack;
let producer: EventHubProducerClient;
let checkpoints: BlobCheckpointStore;
const logs: Array<{ level: LogLevel; message: string }> = [];
const hosts: FunctionsHost[] = [];
let nextN = 0;

async function startHost(functionName: string): Promise<FunctionsHost> {
  const host = await startFunctionsHost({
    port: 0,
    registrations: listRegistrations().filter((r) => r.name === functionName),
    hostJson,
    env: stack.env(),
    log: (level, message) => logs.push({ level, message }),
    // The host's default strategy (greedy), with fast intervals so two hosts settle on a split within a
    // second or two.
    eventHubLoadBalancing: {
      strategy: 'greedy',
      updateIntervalInMs: 100,
      partitionOwnershipExpirationIntervalInMs: 1500,
    },
    runShutdownHooksOnStop: false,
  });
  hosts.push(host);
  return host;
}

/** Sends `count` events per user, each batch under the user id as partition key, numbered in order. */
async function send(users: string[], count: number): Promise<Array<{ user: string; n: number }>> {
  const sent: Array<{ user: string; n: number }> = [];
  for (const user of users) {
    const batch = await producer.createBatch({ partitionKey: user });
    for (let i = 0; i < count; i += 1) {
      const body = { user, n: nextN++ };
      expect(batch.tryAdd({ body, properties: { source: 'test' } })).toBe(true);
      sent.push(body);
    }
    await producer.sendBatch(batch);
  }
  return sent;
}

/** Sends one event to each partition by id; returns their numbers. */
async function sendToEveryPartition(): Promise<number[]> {
  const sent: number[] = [];
  for (const partitionId of PARTITIONS) {
    const batch = await producer.createBatch({ partitionId });
    const body = { user: `partition-${partitionId}`, n: nextN++ };
    if (!batch.tryAdd({ body })) throw new Error('an event of a few bytes did not fit a batch');
    await producer.sendBatch(batch);
    sent.push(body.n);
  }
  return sent;
}

function delivered(from = 0): Array<{ user: string; n: number }> {
  return deliveries.slice(from).flatMap((d) => d.bodies);
}

async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function checkpointSequenceNumbers(): Promise<Record<string, number>> {
  const namespace = (deliveries[0]?.metadata.partitionContext as { FullyQualifiedNamespace: string })
    .FullyQualifiedNamespace;
  const list = await checkpoints.listCheckpoints(namespace, stack.settings.EVENTHUB_NAME!, '$Default');
  return Object.fromEntries(list.map((c) => [c.partitionId, c.sequenceNumber]));
}

function lastSequenceNumbers(from = 0): Record<string, number> {
  const last: Record<string, number> = {};
  for (const delivery of deliveries.slice(from)) {
    const sequenceNumbers = delivery.metadata.sequenceNumberArray as number[];
    last[delivery.partitionId] = sequenceNumbers[sequenceNumbers.length - 1]!;
  }
  return last;
}

beforeAll(async () => {
  stack = await startTestStack({
    partitionCount: PARTITIONS.length,
    eventHubName: 'trigger-test',
    extra: { EVENTHUB_CONSUMER_GROUP: 'single' },
  });
  producer = eventHubProducerFor(stack.settings);
  const container = blobServiceFor(stack.settings, 'AzureWebJobsStorage').getContainerClient(
    CHECKPOINT_CONTAINER,
  );
  checkpoints = new BlobCheckpointStore(container);
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  await producer.close();
  await stack.stop();
});

const users = ['user-a', 'user-b', 'user-c', 'user-d', 'user-e', 'user-f', 'user-g', 'user-h'];

describe('local Functions host: Event Hubs trigger', () => {
  let hostA: FunctionsHost;

  it('delivers every event exactly once, in order per partition, in batches with the host metadata', async () => {
    const sent = await send(users, 6);
    hostA = await startHost('collectA');
    await eventually('all events', () => (delivered().length >= sent.length ? true : undefined));

    expect(delivered().sort((a, b) => a.n - b.n)).toEqual(sent);
    for (const delivery of deliveries) {
      expect(delivery.bodies.length).toBeGreaterThan(0);
      expect(delivery.bodies.length).toBeLessThanOrEqual(5);
    }
    // Per user (hence per partition), events arrive in the order they were sent.
    for (const user of users) {
      const order = delivered()
        .filter((b) => b.user === user)
        .map((b) => b.n);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    // One partition's events come from one partition, in sequence-number order.
    for (const partitionId of PARTITIONS) {
      const sequence = deliveries
        .filter((d) => d.partitionId === partitionId)
        .flatMap((d) => d.metadata.sequenceNumberArray as number[]);
      expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
    }
    expect(new Set(deliveries.map((d) => d.partitionId)).size).toBeGreaterThan(1);

    const { metadata, bodies } = deliveries[0]!;
    expect(metadata.partitionContext).toEqual({
      EventHubName: 'trigger-test',
      ConsumerGroup: '$Default',
      FullyQualifiedNamespace: expect.any(String) as unknown,
      PartitionId: deliveries[0]!.partitionId,
    });
    for (const field of [
      'sequenceNumberArray',
      'offsetArray',
      'enqueuedTimeUtcArray',
      'partitionKeyArray',
      'propertiesArray',
      'systemPropertiesArray',
    ]) {
      expect(metadata[field]).toHaveLength(bodies.length);
    }
    expect(metadata.partitionKeyArray).toEqual(bodies.map((b) => b.user));
    expect((metadata.propertiesArray as unknown[])[0]).toEqual({ source: 'test' });
    const system = (metadata.systemPropertiesArray as Array<Record<string, unknown>>)[0]!;
    expect(system).toMatchObject({
      SequenceNumber: (metadata.sequenceNumberArray as number[])[0],
      Offset: (metadata.offsetArray as string[])[0],
      PartitionKey: bodies[0]!.user,
      EnqueuedTimeUtc: (metadata.enqueuedTimeUtcArray as string[])[0],
    });
    expect(new Date(system.EnqueuedTimeUtc as string).toISOString()).toBe(system.EnqueuedTimeUtc);

    // After each invocation the host checkpoints the batch's last event.
    const expected = lastSequenceNumbers();
    await eventually('checkpoints of the delivered batches', async () => {
      const stored = await checkpointSequenceNumbers();
      return Object.entries(expected).every(([p, s]) => stored[p] === s) ? true : undefined;
    });
  });

  it('checkpoints after a failed invocation too, logs the error, and does not redeliver', async () => {
    const before = deliveries.length;
    failing = true;
    const sent = await send(['user-a', 'user-c'], 3);
    await eventually('the failing batches', () =>
      delivered(before).length >= sent.length ? true : undefined,
    );
    const expected = lastSequenceNumbers(before);
    await eventually('checkpoints after failures', async () => {
      const stored = await checkpointSequenceNumbers();
      return Object.entries(expected).every(([p, s]) => stored[p] === s) ? true : undefined;
    });
    failing = false;
    // Each partition delivers in order; the two users' partitions interleave as they please.
    expect(delivered(before).sort((a, b) => a.n - b.n)).toEqual(sent);
    const errors = logs.filter((l) => l.level === 'error');
    expect(errors.length).toBe(deliveries.length - before);
    expect(errors[0]!.message).toContain('function failed on purpose');
  });

  it('resumes from the checkpoint after a restart', async () => {
    await hostA.stop();
    const before = deliveries.length;
    const sent = await send(users, 2);
    await startHost('collectA');
    await eventually('events sent while stopped', () =>
      delivered(before).length >= sent.length ? true : undefined,
    );
    // Anything before the checkpoints would have come first in its partition.
    expect(delivered(before).sort((a, b) => a.n - b.n)).toEqual(sent);
  });

  it("with cardinality 'one', invokes once per event with singular metadata, on its own consumer group", async () => {
    const sentSoFar = nextN;
    await startHost('collectOne');
    await eventually('every event on the second consumer group', () =>
      singles.length >= sentSoFar ? true : undefined,
    );
    expect(singles.map((s) => (s.body as { n: number }).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: sentSoFar }, (_, i) => i),
    );
    const { metadata, body } = singles[0]!;
    expect(metadata.partitionContext).toMatchObject({
      ConsumerGroup: 'single',
      EventHubName: 'trigger-test',
    });
    expect(metadata).toMatchObject({
      sequenceNumber: expect.any(Number) as unknown,
      offset: expect.any(String) as unknown,
      partitionKey: (body as { user: string }).user,
      properties: { source: 'test' },
    });
    await hosts.pop()!.stop();
  });

  it('shares the partitions with a second host through the checkpoint store', async () => {
    await startHost('collectB');
    const namespace = (deliveries[0]!.metadata.partitionContext as { FullyQualifiedNamespace: string })
      .FullyQualifiedNamespace;
    const owners = await eventually('an even split of partitions', async () => {
      const ownership = await checkpoints.listOwnership(namespace, 'trigger-test', '$Default');
      const counts = new Map<string, number>();
      for (const o of ownership) counts.set(o.ownerId, (counts.get(o.ownerId) ?? 0) + 1);
      return counts.size === 2 && [...counts.values()].every((c) => c === 2) ? counts : undefined;
    });
    expect(owners.size).toBe(2);

    // A claim in the store comes before the new owner's receiver. Until that receiver attaches and the
    // service disconnects the old owner's (both use ownerLevel 0), host A may still read a partition it
    // has lost, and B reads those events again from the checkpoint: at-least-once, as on Azure. So rounds
    // of one event per partition go on until one in which each host reads two partitions of its own.
    const split = await eventually('a round read by both hosts, two partitions each', async () => {
      const from = deliveries.length;
      const round = new Set(await sendToEveryPartition());
      await eventually('every event of the round', () => {
        const got = new Set(delivered(from).map((b) => b.n));
        return [...round].every((n) => got.has(n)) ? true : undefined;
      });
      const hostsByPartition = new Map<string, Set<string>>();
      for (const delivery of deliveries.slice(from)) {
        if (!delivery.bodies.some((b) => round.has(b.n))) continue;
        const readers = hostsByPartition.get(delivery.partitionId) ?? new Set<string>();
        readers.add(delivery.functionName);
        hostsByPartition.set(delivery.partitionId, readers);
      }
      const partitionsByHost = new Map<string, string[]>();
      for (const [partitionId, readers] of hostsByPartition) {
        if (readers.size !== 1) return undefined;
        const [reader] = [...readers] as [string];
        partitionsByHost.set(reader, [...(partitionsByHost.get(reader) ?? []), partitionId]);
      }
      const counts = [...partitionsByHost.values()].map((partitions) => partitions.length);
      return counts.length === 2 && counts.every((c) => c === 2) ? partitionsByHost : undefined;
    });
    expect([...split.keys()].sort()).toEqual(['collectA', 'collectB']);
    expect([...split.values()].flat().sort()).toEqual(PARTITIONS);
  });
});

describe('local Functions host: Event Hubs trigger with a retry policy', () => {
  // The hosts of the tests above stop, so that only the host under test reads the consumer group.
  beforeAll(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.stop()));
  });

  /** The checkpointed sequence number of a partition on the second consumer group, -1 when none. */
  async function retryingCheckpoint(partitionId: string): Promise<number> {
    const namespace = (deliveries[0]?.metadata.partitionContext as { FullyQualifiedNamespace: string })
      .FullyQualifiedNamespace;
    const list = await checkpoints.listCheckpoints(namespace, stack.settings.EVENTHUB_NAME!, 'single');
    return list.find((c) => c.partitionId === partitionId)?.sequenceNumber ?? -1;
  }

  it('invokes a failing batch again, unchanged, and checkpoints only once an execution succeeds', async () => {
    outage = true;
    const [sent] = await send(['retry-me'], 1);
    const host = await startHost('collectWithRetry');
    const failed = await eventually('three failed executions', () =>
      attempts.length >= 3 ? attempts.slice(0, 3) : undefined,
    );
    const first = failed[0]!;
    // The same batch each time, a new invocation each time, counting its retries.
    for (const attempt of failed) {
      expect(attempt.bodies).toEqual(first.bodies);
      expect(attempt.sequenceNumbers).toEqual(first.sequenceNumbers);
    }
    expect(failed.map((a) => a.retryCount)).toEqual([0, 1, 2]);
    expect(new Set(failed.map((a) => a.invocationId)).size).toBe(3);
    expect(first.bodies).toContainEqual(sent);
    const last = first.sequenceNumbers[first.sequenceNumbers.length - 1]!;
    expect(await retryingCheckpoint(first.partitionId)).toBeLessThan(last);
    expect(logs.some((l) => l.level === 'warning' && /retry 2 in 100 ms/.test(l.message))).toBe(true);

    outage = false;
    await eventually('the checkpoint after the successful execution', async () =>
      (await retryingCheckpoint(first.partitionId)) === last ? true : undefined,
    );
    const succeeded = attempts.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(attempts.length).toBe(succeeded);
    await host.stop();
  });

  it('leaves the batch without a checkpoint when the host stops during the retries', async () => {
    outage = true;
    const from = attempts.length;
    await send(['retry-me-again'], 1);
    const host = await startHost('collectWithRetry');
    const failed = await eventually('two failed executions', () =>
      attempts.length >= from + 2 ? attempts[from] : undefined,
    );
    await host.stop();
    const last = failed.sequenceNumbers[failed.sequenceNumbers.length - 1]!;
    expect(await retryingCheckpoint(failed.partitionId)).toBeLessThan(last);

    // The next reader of the partition gets the batch again.
    outage = false;
    const again = attempts.length;
    const next = await startHost('collectWithRetry');
    await eventually('the batch after the restart', async () =>
      (await retryingCheckpoint(failed.partitionId)) === last ? true : undefined,
    );
    expect(attempts.slice(again).some((a) => a.sequenceNumbers.includes(last))).toBe(true);
    await next.stop();
  });
});

describe('checkpointContainer', () => {
  it("finds the host's storage in each form the Functions host reads", () => {
    const url = (env: Record<string, string>) => checkpointContainer(env).url;
    expect(url({ AzureWebJobsStorage__accountName: 'sthost' })).toBe(
      `https://sthost.blob.core.windows.net/${CHECKPOINT_CONTAINER}`,
    );
    expect(url({ AzureWebJobsStorage__blobServiceUri: 'https://other.blob.core.windows.net' })).toBe(
      `https://other.blob.core.windows.net/${CHECKPOINT_CONTAINER}`,
    );
    expect(() => checkpointContainer({})).toThrow(/setting AzureWebJobsStorage: missing/);
  });

  it('uses the identity __credential and __clientId name, and refuses one it cannot use, naming it', () => {
    const env = {
      AzureWebJobsStorage__accountName: 'sthost',
      AzureWebJobsStorage__credential: 'managedidentity',
    };
    expect(checkpointContainer({ ...env, AzureWebJobsStorage__clientId: crypto.randomUUID() }).url).toContain(
      'sthost',
    );
    expect(() => checkpointContainer({ ...env, AzureWebJobsStorage__clientId: 'not-a-guid' })).toThrow(
      ConfigurationError,
    );
    expect(() => checkpointContainer({ ...env, AzureWebJobsStorage__clientId: 'not-a-guid' })).toThrow(
      /AzureWebJobsStorage__clientId/,
    );
    expect(() =>
      checkpointContainer({
        AzureWebJobsStorage__accountName: 'sthost',
        AzureWebJobsStorage__credential: 'cli',
      }),
    ).toThrow(/AzureWebJobsStorage__credential/);
  });
});
