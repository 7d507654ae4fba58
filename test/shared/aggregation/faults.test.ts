import { CosmosClient, Database } from '@azure/cosmos';
import { BlobServiceClient } from '@azure/storage-blob';
import { InvocationContext } from '@azure/functions';
import { createAggregateHandler, isHeld } from '../../../shared/aggregation/aggregateHandler';
import { ProductStats } from '../../../shared/aggregation/documents';
import { replayDeadLetters } from '../../../shared/aggregation/replayDeadLetters';
import { BlobEventArchive, pendingPrefix } from '../../../shared/archive/eventArchive';
import { CosmosDocumentStore } from '../../../shared/cosmos/documentStore';
import { parseConnectionString } from '../../../shared/config/settings';
import { createCosmosClient } from '../../../shared/runtime/clients';
import { provisionCosmos } from '../../../shared/runtime/provisioning';
import { FaultProxy, startFaultProxy } from '../../support/faultProxy';
import { blobServiceFor, cosmosClientFor, startTestStack, TestStack } from '../../support/localStack';

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

let stack: TestStack;
let direct: CosmosClient;
let database: Database;
let blob: BlobServiceClient;
const proxies: FaultProxy[] = [];
const clients: CosmosClient[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  direct = cosmosClientFor(stack.settings);
  database = direct.database('faults');
  await provisionCosmos(database);
  blob = blobServiceFor(stack.settings);
  for (const name of ['archive', 'deadletter']) await blob.getContainerClient(name).createIfNotExists();
});

afterAll(async () => {
  clients.forEach((c) => c.dispose());
  await Promise.all(proxies.map((p) => p.stop()));
  direct.dispose();
  await stack.stop();
});

const cosmosEndpoint = () =>
  parseConnectionString(stack.settings.CosmosDBConnection!).get('accountendpoint')!;

/** A Cosmos client that reaches the real local server through a proxy that injects faults. */
async function cosmosBehind(
  decide: Parameters<typeof startFaultProxy>[1],
): Promise<{ database: Database; proxy: FaultProxy }> {
  const proxy = await startFaultProxy(cosmosEndpoint(), decide);
  proxies.push(proxy);
  const client = createCosmosClient({ kind: 'connectionString', endpoint: `${proxy.url}/`, key: 'a2V5' });
  clients.push(client);
  return { database: client.database('faults'), proxy };
}

const isDocumentWrite = (method: string | undefined, url: string | undefined) =>
  (method === 'POST' || method === 'PUT') && (url ?? '').includes('/docs');

let sequence = 1000;
function trigger(productId: string, count: number, partitionId = '0') {
  const at = new Date().toISOString();
  const messages = Array.from({ length: count }, (_, i) => ({
    type: 'product_view',
    userId: `user-${productId}-${i % 3}`,
    productId,
    // Unique across triggers: events of two triggers for one product are different events, not a retry.
    eventId: `${productId}-${sequence + 1 + i}`,
    receivedAt: at,
    timestamp: at,
    schemaVersion: 1,
  }));
  const sequenceNumberArray = messages.map(() => ++sequence);
  return {
    messages,
    context: new InvocationContext({
      functionName: 'aggregate',
      logHandler: () => undefined,
      triggerMetadata: {
        partitionContext: { PartitionId: partitionId, EventHubName: 'clickstream' },
        sequenceNumberArray,
        enqueuedTimeUtcArray: messages.map(() => at),
      },
    }),
  };
}

const archive = () =>
  new BlobEventArchive(blob.getContainerClient('archive'), blob.getContainerClient('deadletter'));
const productViews = async (productId: string) =>
  (await database.container('product-stats').item(productId, productId).read<ProductStats>()).resource?.views;

describe('aggregation under faults', () => {
  it('retries Cosmos DB throttling (429) to success and counts each event once', async () => {
    let throttled = 0;
    const { database: throttledDb, proxy } = await cosmosBehind((req) =>
      isDocumentWrite(req.method, req.url) && throttled++ < 6
        ? { status: 429, headers: { 'x-ms-retry-after-ms': '10', 'x-ms-substatus': '3200' } }
        : undefined,
    );
    const handler = createAggregateHandler({
      store: new CosmosDocumentStore(throttledDb),
      archive: archive(),
      eventHubName: 'clickstream',
    });
    const { messages, context } = trigger('throttled', 5);
    await handler(messages, context);
    expect(proxy.faults).toBe(6);
    expect(await productViews('throttled')).toBe(5);
  });

  it('retries 503s from Blob Storage when archiving', async () => {
    const blobUrl = new URL(blob.url);
    let failures = 0;
    const proxy = await startFaultProxy(blobUrl.origin, (req) =>
      req.method === 'PUT' && failures++ < 2 ? { status: 503 } : undefined,
    );
    proxies.push(proxy);
    const viaProxy = BlobServiceClient.fromConnectionString(
      stack.settings.ArchiveStorage!.replace(
        /BlobEndpoint=[^;]+/,
        `BlobEndpoint=${proxy.url}${blobUrl.pathname.replace(/\/$/, '')}`,
      ),
    );
    const flaky = new BlobEventArchive(
      viaProxy.getContainerClient('archive'),
      viaProxy.getContainerClient('deadletter'),
    );
    const handler = createAggregateHandler({
      store: new CosmosDocumentStore(database),
      archive: flaky,
      eventHubName: 'clickstream',
    });
    const { messages, context } = trigger('archived', 3);
    const result = await handler(messages, context);
    expect(proxy.faults).toBe(2);
    if (isHeld(result)) throw new Error(`held: ${result.reason}`);
    expect(result.archiveBlobs).toHaveLength(1);
    expect(await blob.getContainerClient('archive').getBlobClient(result.archiveBlobs[0]!).exists()).toBe(
      true,
    );
  });

  it('dead-letters a poison event with its reason and processes the rest', async () => {
    const handler = createAggregateHandler({
      store: new CosmosDocumentStore(database),
      archive: archive(),
      eventHubName: 'clickstream',
    });
    const { messages, context } = trigger('poisoned', 3, '3');
    const poisoned = [
      ...messages.slice(0, 2),
      '{"type": "product_view", "userId": ',
      { type: 'offer_click', userId: 'x' },
    ];
    const metadata = context.triggerMetadata as {
      sequenceNumberArray: number[];
      enqueuedTimeUtcArray: string[];
    };
    metadata.sequenceNumberArray.push(++sequence);
    metadata.enqueuedTimeUtcArray.push(new Date().toISOString());
    const result = await handler(poisoned, context);
    expect(result).toMatchObject({ events: 2, deadLettered: 2 });
    expect(await productViews('poisoned')).toBe(2);
    const reasons: string[] = [];
    for await (const item of blob
      .getContainerClient('deadletter')
      .listBlobsFlat({ prefix: 'clickstream/3/' })) {
      const record = JSON.parse(
        (await blob.getContainerClient('deadletter').getBlobClient(item.name).downloadToBuffer()).toString(),
      ) as { reason: string; invocationId?: string };
      reasons.push(record.reason);
      expect(record.invocationId).toBe(context.invocationId);
    }
    expect(reasons).toEqual(
      expect.arrayContaining([expect.stringContaining('not JSON'), expect.stringContaining('offerId')]),
    );
  });

  it('holds a batch it cannot write, and a replay later applies it exactly once', async () => {
    const { database: downDb } = await cosmosBehind((req) =>
      isDocumentWrite(req.method, req.url) ? { status: 503 } : undefined,
    );
    const handler = createAggregateHandler({
      store: new CosmosDocumentStore(downDb),
      archive: archive(),
      eventHubName: 'clickstream',
    });
    const { messages, context } = trigger('outage', 4, '7');
    // Held in Blob, so the invocation succeeds and the host may checkpoint past the batch.
    expect(await handler(messages, context)).toMatchObject({ held: 4 });
    expect(await productViews('outage')).toBeUndefined();

    const replay = await replayDeadLetters(
      blob.getContainerClient('deadletter'),
      new CosmosDocumentStore(database),
      archive(),
      { prefix: 'clickstream/7/' },
    );
    expect(replay).toEqual({ replayed: 4, stillInvalid: 0, failed: 0 });
    expect(await productViews('outage')).toBe(4);
    // The host checkpointed past the batch, but suppose it was delivered again anyway: nothing changes.
    await createAggregateHandler({
      store: new CosmosDocumentStore(database),
      archive: archive(),
      eventHubName: 'clickstream',
    })(messages, context);
    expect(await productViews('outage')).toBe(4);
  }, 120_000);
});

/** An aggregate handler whose Cosmos DB writes fail with 503 until `end()`. */
async function handlerWithCosmosOutage() {
  let failing = true;
  const { database: downDb } = await cosmosBehind((req) =>
    isDocumentWrite(req.method, req.url) && failing ? { status: 503 } : undefined,
  );
  return {
    handler: createAggregateHandler({
      store: new CosmosDocumentStore(downDb),
      archive: archive(),
      eventHubName: 'clickstream',
    }),
    end: () => (failing = false),
  };
}

describe('a batch held during an outage, then later batches of its partition', () => {
  it('applies the held batch before any later one, so no count is lost to the watermarks', async () => {
    const { handler, end: endOutage } = await handlerWithCosmosOutage();
    const lost = trigger('gap', 4, '8');
    expect(await handler(lost.messages, lost.context)).toMatchObject({ held: 4 });
    endOutage();
    // The host checkpointed past the held batch; the next one of the same partition touches the same
    // documents. It must not push their watermarks past the events nobody has counted yet.
    const next = trigger('gap', 3, '8');
    await handler(next.messages, next.context);
    expect(await productViews('gap')).toBe(7);
    // Nothing left to replay, and a replay now changes nothing.
    const replay = await replayDeadLetters(
      blob.getContainerClient('deadletter'),
      new CosmosDocumentStore(database),
      archive(),
      { prefix: 'clickstream/8/' },
    );
    expect(replay.failed).toBe(0);
    expect(await productViews('gap')).toBe(7);
  }, 120_000);
});

describe('a batch that can be neither written nor held', () => {
  it('fails the invocation, keeping nothing half-done, and the same batch delivered again counts once', async () => {
    const blobUrl = new URL(blob.url);
    let blobDown = true;
    const proxy = await startFaultProxy(blobUrl.origin, () => (blobDown ? { status: 503 } : undefined));
    proxies.push(proxy);
    const viaProxy = BlobServiceClient.fromConnectionString(
      stack.settings.ArchiveStorage!.replace(
        /BlobEndpoint=[^;]+/,
        `BlobEndpoint=${proxy.url}${blobUrl.pathname.replace(/\/$/, '')}`,
      ),
      // Only the archive's own retries (shared/resilience/retry.ts), not the SDK's minutes of them too.
      { retryOptions: { maxTries: 1 } },
    );
    const errors: string[] = [];
    const handler = createAggregateHandler({
      store: new CosmosDocumentStore(database),
      archive: new BlobEventArchive(
        viaProxy.getContainerClient('archive'),
        viaProxy.getContainerClient('deadletter'),
      ),
      eventHubName: 'clickstream',
    });
    const { messages, context } = trigger('blob-down', 3, '10');
    const logged = new InvocationContext({
      invocationId: context.invocationId,
      functionName: 'aggregate',
      triggerMetadata: context.triggerMetadata,
      logHandler: (level, ...args) => {
        if (level === 'error') errors.push(args.join(' '));
      },
    });
    // Blob is down: the held events could not be kept anywhere, so the invocation must fail (the trigger's
    // retry policy then delivers the batch again instead of the host checkpointing past it).
    await expect(handler(messages, logged)).rejects.toThrow();
    expect(errors.join('\n')).toMatch(/holding its 3 events failed too/);
    expect(await productViews('blob-down')).toBeUndefined();
    blobDown = false;
    // The retry: the same batch, applied once.
    expect(await handler(messages, logged)).toMatchObject({ events: 3 });
    expect(await productViews('blob-down')).toBe(3);
    await handler(messages, logged);
    expect(await productViews('blob-down')).toBe(3);
  }, 120_000);
});

describe('a held batch delivered again', () => {
  it('is applied once, whether it comes back from the hub or from where it was held', async () => {
    const { handler, end: endOutage } = await handlerWithCosmosOutage();
    const held = trigger('held-again', 5, '9');
    expect(await handler(held.messages, held.context)).toMatchObject({ held: 5 });
    const pending = await archive().pendingEvents('clickstream', '9');
    expect(pending.events.map((e) => e.event.eventId)).toEqual(held.messages.map((m) => m.eventId));
    endOutage();
    // Suppose the host stopped before its checkpoint and the same batch is delivered again.
    await handler(held.messages, held.context);
    expect(await productViews('held-again')).toBe(5);
    expect((await archive().pendingEvents('clickstream', '9')).names).toEqual([]);
  }, 120_000);
});

describe('a held event that can no longer be read', () => {
  it('moves to the dead letter instead of holding up the partition', async () => {
    const deadLetters = blob.getContainerClient('deadletter');
    const corrupt = `${pendingPrefix('clickstream', '10')}00000000000000000001.json`;
    await deadLetters.getBlockBlobClient(corrupt).upload('not json', 8);
    const handler = createAggregateHandler({
      store: new CosmosDocumentStore(database),
      archive: archive(),
      eventHubName: 'clickstream',
    });
    const next = trigger('after-corrupt', 2, '10');
    await handler(next.messages, next.context);
    expect(await productViews('after-corrupt')).toBe(2);
    expect(await deadLetters.getBlobClient(corrupt).exists()).toBe(false);
    const moved = [];
    for await (const b of deadLetters.listBlobsFlat({ prefix: 'clickstream/10/' })) moved.push(b.name);
    expect(moved).toEqual([expect.stringMatching(/^clickstream\/10\/\d{4}\/\d\d\/\d\d\/0+1\.json$/)]);
  }, 60_000);
});

describe('feedback for offers outside the catalog', () => {
  it('dead-letters an offer event whose offer is unknown, after checking a fresh catalog', async () => {
    const loads: boolean[] = [];
    const handler = createAggregateHandler({
      store: new CosmosDocumentStore(database),
      archive: archive(),
      eventHubName: 'clickstream',
      knownOffers: async (fresh) => {
        loads.push(fresh);
        return new Set(fresh ? ['known-offer', 'new-offer'] : ['known-offer']);
      },
    });
    const at = new Date().toISOString();
    const offerEvent = (offerId: string, i: number) => ({
      type: 'offer_click',
      userId: 'fan',
      offerId,
      decisionId: `d${i}`,
      eventId: `oe-${offerId}-${i}`,
      receivedAt: at,
      timestamp: at,
      schemaVersion: 1,
    });
    const messages = [offerEvent('known-offer', 1), offerEvent('new-offer', 2), offerEvent('made-up', 3)];
    const context = new InvocationContext({
      functionName: 'aggregate',
      logHandler: () => undefined,
      triggerMetadata: {
        partitionContext: { PartitionId: '9', EventHubName: 'clickstream' },
        sequenceNumberArray: messages.map(() => ++sequence),
        enqueuedTimeUtcArray: messages.map(() => at),
      },
    });
    const result = await handler(messages, context);
    expect(loads).toEqual([false, true]);
    expect(result).toMatchObject({ events: 2, deadLettered: 1 });
    const names: string[] = [];
    for await (const item of blob
      .getContainerClient('deadletter')
      .listBlobsFlat({ prefix: 'clickstream/9/' }))
      names.push(item.name);
    expect(names).toHaveLength(1);
    const record = JSON.parse(
      (await blob.getContainerClient('deadletter').getBlobClient(names[0]!).downloadToBuffer()).toString(),
    ) as { reason: string };
    expect(record.reason).toContain("offerId 'made-up'");
  });
});
