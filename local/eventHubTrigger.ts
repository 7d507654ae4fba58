import { EventHubFunctionOptions } from '@azure/functions';
import {
  earliestEventPosition,
  EventHubConsumerClient,
  EventPosition,
  latestEventPosition,
  LoadBalancingOptions,
  PartitionContext,
  ReceivedEventData,
  Subscription,
} from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { identityChoice, parseConnectionString } from '../shared/config/settings';
import { azureCredential } from '../shared/runtime/clients';
import { HostConfig } from './hostJson';
import { describeError, Invocations } from './invocations';
import { invokeWithRetry, retryPolicy } from './retryPolicy';

/** Where the real host keeps Event Hubs checkpoints and ownership in AzureWebJobsStorage. */
export const CHECKPOINT_CONTAINER = 'azure-webjobs-eventhub';

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Resolves `%NAME%` binding expressions from app settings, as the host does; unknown names fail. */
export function resolveBindingExpression(value: string, env: Env, field: string): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const resolved = nonEmpty(env, name);
    if (resolved === undefined)
      throw new Error(`${field}: app setting '${name}' (from '${value}') is not set`);
    return resolved;
  });
}

/**
 * AzureWebJobsStorage as a blob container client for checkpoints: a connection string, or identity-based as
 * the host reads it (`__blobServiceUri`, `__serviceUri`, or `__accountName` for the public cloud's
 * endpoint, the form infra/modules/functionApp.bicep sets), with the identity `__credential` and
 * `__clientId` choose.
 */
export function checkpointContainer(env: Env): ContainerClient {
  const connectionString = nonEmpty(env, 'AzureWebJobsStorage');
  if (connectionString !== undefined) {
    return BlobServiceClient.fromConnectionString(connectionString).getContainerClient(CHECKPOINT_CONTAINER);
  }
  const accountName = nonEmpty(env, 'AzureWebJobsStorage__accountName');
  const serviceUri =
    nonEmpty(env, 'AzureWebJobsStorage__blobServiceUri') ??
    nonEmpty(env, 'AzureWebJobsStorage__serviceUri') ??
    (accountName === undefined ? undefined : `https://${accountName}.blob.core.windows.net`);
  if (serviceUri !== undefined) {
    const credential = azureCredential(identityChoice(env, 'AzureWebJobsStorage'));
    return new BlobServiceClient(serviceUri, credential).getContainerClient(CHECKPOINT_CONTAINER);
  }
  throw new Error(
    'setting AzureWebJobsStorage: missing (the Event Hubs trigger keeps its checkpoints there)',
  );
}

function consumerClient(
  options: EventHubFunctionOptions,
  functionName: string,
  env: Env,
  checkpointStore: BlobCheckpointStore,
  loadBalancing: LoadBalancingOptions,
): EventHubConsumerClient {
  const field = `function ${functionName}`;
  const consumerGroup = resolveBindingExpression(
    options.consumerGroup ?? '$Default',
    env,
    `${field} consumerGroup`,
  );
  const hubName = resolveBindingExpression(options.eventHubName, env, `${field} eventHubName`);
  const setting = options.connection;
  const connectionString = nonEmpty(env, setting);
  const clientOptions = { loadBalancingOptions: loadBalancing };
  if (connectionString !== undefined) {
    // A connection string with EntityPath names the hub itself; the SDK refuses a second name.
    const hasEntityPath = parseConnectionString(connectionString).has('entitypath');
    return hasEntityPath
      ? new EventHubConsumerClient(consumerGroup, connectionString, checkpointStore, clientOptions)
      : new EventHubConsumerClient(consumerGroup, connectionString, hubName, checkpointStore, clientOptions);
  }
  const namespace = nonEmpty(env, `${setting}__fullyQualifiedNamespace`);
  if (namespace !== undefined) {
    return new EventHubConsumerClient(
      consumerGroup,
      namespace,
      hubName,
      azureCredential(identityChoice(env, setting)),
      checkpointStore,
      clientOptions,
    );
  }
  throw new Error(
    `${field}: connection setting '${setting}' is missing (set ${setting} or ${setting}__fullyQualifiedNamespace)`,
  );
}

/** The trigger metadata the real host gives a `cardinality: 'many'` Event Hubs function. */
export function batchTriggerMetadata(events: readonly ReceivedEventData[], partition: PartitionContext) {
  const systemProperties = events.map((event) => ({
    ...event.systemProperties,
    SequenceNumber: event.sequenceNumber,
    Offset: event.offset,
    PartitionKey: event.partitionKey ?? null,
    EnqueuedTimeUtc: event.enqueuedTimeUtc.toISOString(),
  }));
  return {
    partitionContext: {
      EventHubName: partition.eventHubName,
      ConsumerGroup: partition.consumerGroup,
      FullyQualifiedNamespace: partition.fullyQualifiedNamespace,
      PartitionId: partition.partitionId,
    },
    sequenceNumberArray: events.map((event) => event.sequenceNumber),
    offsetArray: events.map((event) => event.offset),
    enqueuedTimeUtcArray: events.map((event) => event.enqueuedTimeUtc.toISOString()),
    partitionKeyArray: events.map((event) => event.partitionKey ?? null),
    propertiesArray: events.map((event) => event.properties ?? {}),
    systemPropertiesArray: systemProperties,
  };
}

/** The same for `cardinality: 'one'`: one event's values instead of arrays. */
function singleTriggerMetadata(event: ReceivedEventData, partition: PartitionContext) {
  return {
    partitionContext: batchTriggerMetadata([event], partition).partitionContext,
    sequenceNumber: event.sequenceNumber,
    offset: event.offset,
    enqueuedTimeUtc: event.enqueuedTimeUtc.toISOString(),
    partitionKey: event.partitionKey ?? null,
    properties: event.properties ?? {},
    systemProperties: batchTriggerMetadata([event], partition).systemPropertiesArray[0],
  };
}

function startPosition(config: HostConfig['eventHubs']): EventPosition {
  switch (config.initialOffset.type) {
    case 'fromEnd':
      return latestEventPosition;
    case 'fromEnqueuedTime':
      return { enqueuedOn: config.initialOffset.enqueuedTimeUtc };
    default:
      return earliestEventPosition;
  }
}

export interface EventHubTriggerOptions {
  name: string;
  options: EventHubFunctionOptions;
  env: Env;
  config: HostConfig['eventHubs'];
  invocations: Invocations;
  loadBalancing: LoadBalancingOptions;
}

export interface RunningTrigger {
  stop(): Promise<void>;
}

/**
 * Drives one Event Hubs-triggered function from an EventHubConsumerClient with a blob checkpoint store,
 * with the real host's semantics: batches of up to maxEventBatchSize within maxWaitTime, invocations
 * for one partition strictly one after another, and after every invocation, successful or not, a
 * checkpoint at the batch's last event (every batchCheckpointFrequency-th batch). A function that
 * throws does not get the batch again (the host logs the error and moves on) unless it has a `retry`
 * policy: then the same batch is invoked again after the policy's delay, and the checkpoint waits until an
 * execution succeeds or the retries run out. When the host stops during the retries, the batch is left
 * without a checkpoint, so whoever reads the partition next gets it again.
 */
export async function startEventHubTrigger(trigger: EventHubTriggerOptions): Promise<RunningTrigger> {
  const { name, options, env, config, invocations } = trigger;
  const container = checkpointContainer(env);
  await container.createIfNotExists();
  const client = consumerClient(
    options,
    name,
    env,
    new BlobCheckpointStore(container),
    trigger.loadBalancing,
  );
  const batchesSinceCheckpoint = new Map<string, number>();
  const many = options.cardinality !== 'one';
  const retry = retryPolicy(name, options.retry);
  const stopped = new AbortController();

  /** Runs the function on one input, with its retry policy; false when the host stopped before it settled. */
  function invoke(input: unknown, metadata: Record<string, unknown>): Promise<boolean> {
    return invokeWithRetry({
      invocations,
      functionName: name,
      trigger: { type: 'eventHubTrigger', name: 'messages' },
      triggerMetadata: metadata,
      retry,
      stopped: stopped.signal,
      run: (context) => options.handler(input, context),
    });
  }

  async function processEvents(events: ReceivedEventData[], partition: PartitionContext): Promise<void> {
    const last = events[events.length - 1];
    // The SDK hands over an empty batch when maxWaitTime passes without events; the host does not invoke.
    if (last === undefined) return;
    if (many) {
      const settled = await invoke(
        events.map((event) => event.body as unknown),
        batchTriggerMetadata(events, partition),
      );
      if (!settled) return;
    } else {
      for (const event of events) {
        if (!(await invoke(event.body as unknown, singleTriggerMetadata(event, partition)))) return;
      }
    }
    const count = (batchesSinceCheckpoint.get(partition.partitionId) ?? 0) + 1;
    if (count >= config.batchCheckpointFrequency) {
      batchesSinceCheckpoint.set(partition.partitionId, 0);
      await partition.updateCheckpoint(last);
    } else {
      batchesSinceCheckpoint.set(partition.partitionId, count);
    }
  }

  let stopping = false;
  const subscription: Subscription = client.subscribe(
    {
      processEvents,
      processError: async (error, partition) => {
        if (stopping) return;
        invocations.log(
          'warning',
          `Event Hubs trigger ${name}, partition ${partition.partitionId || '(load balancing)'}: ${describeError(error)}`,
        );
        await Promise.resolve();
      },
      processClose: async (_reason, partition) => {
        batchesSinceCheckpoint.delete(partition.partitionId);
        await Promise.resolve();
      },
    },
    {
      maxBatchSize: many ? config.maxEventBatchSize : Math.min(config.maxEventBatchSize, 100),
      maxWaitTimeInSeconds: config.maxWaitTimeMs / 1000,
      startPosition: startPosition(config),
      prefetchCount: Math.max(config.prefetchCount, config.maxEventBatchSize),
    },
  );

  return {
    async stop() {
      stopping = true;
      // A batch waiting for its next retry is abandoned without a checkpoint, as the host does on shutdown.
      stopped.abort(new Error('the host is stopping'));
      // Closing the subscription waits for the batch being processed, then releases the partitions.
      // Known leak in @azure/event-hubs 6.0.4 that no call of ours reaches (docs/local-development.md,
      // "Scale-out"): when another instance takes a partition while this one is between two reads, the
      // SDK's receiver reconnects, and its connect() replaces the link's CBS token renewal timer (45 min,
      // not unref'd) without stopping the old one. Seen in the SDK's verbose log of the two-instance test.
      await subscription.close();
      await client.close();
    },
  };
}
