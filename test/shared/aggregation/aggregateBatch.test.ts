import { CosmosClient, Database, ItemDefinition } from '@azure/cosmos';
import { BlobServiceClient } from '@azure/storage-blob';
import { aggregateBatch } from '../../../shared/aggregation/aggregateBatch';
import { OfferStats, ProductStats, Rollup, UserProfile } from '../../../shared/aggregation/documents';
import { SequencedEvent, TriggerBatch } from '../../../shared/aggregation/triggerBatch';
import { readArchivedEvents } from '../../../shared/archive/archiveReader';
import { BlobEventArchive } from '../../../shared/archive/eventArchive';
import { CosmosDocumentStore } from '../../../shared/cosmos/documentStore';
import { ClickstreamEvent } from '../../../shared/events/clickstreamEvent';
import { provisionCosmos } from '../../../shared/runtime/provisioning';
import { blobServiceFor, cosmosClientFor, startTestStack, TestStack } from '../../support/localStack';
import { CosmosRequestCounter, startCosmosRequestCounter } from '../../../local/cosmosRequestCounter';
import { createCosmosClient } from '../../../shared/runtime/clients';
import { parseConnectionString } from '../../../shared/config/settings';
import { eventPosition } from '../../../shared/events/hubMessage';

let stack: TestStack;
let cosmos: CosmosClient;
let database: Database;
let blob: BlobServiceClient;
let archive: BlobEventArchive;
let counter: CosmosRequestCounter;
let counted: CosmosClient;

beforeAll(async () => {
  stack = await startTestStack();
  cosmos = cosmosClientFor(stack.settings);
  database = cosmos.database('aggregation-test');
  await provisionCosmos(database);
  blob = blobServiceFor(stack.settings);
  await blob.getContainerClient('archive').createIfNotExists();
  await blob.getContainerClient('deadletter').createIfNotExists();
  archive = new BlobEventArchive(blob.getContainerClient('archive'), blob.getContainerClient('deadletter'));
  counter = await startCosmosRequestCounter(
    parseConnectionString(stack.settings.CosmosDBConnection!).get('accountendpoint')!,
  );
  counted = createCosmosClient({ kind: 'connectionString', endpoint: counter.url, key: 'a2V5' });
});

afterAll(async () => {
  counted.dispose();
  await counter.stop();
  cosmos.dispose();
  await stack.stop();
});

const at = '2026-11-24T10:15:00.000Z';
let sequence = 0;

function events(
  userId: string,
  specs: Array<Partial<ClickstreamEvent> & Pick<ClickstreamEvent, 'type'>>,
  partitionId = '0',
): SequencedEvent[] {
  return specs.map((spec) => {
    sequence += 1;
    return {
      partitionId,
      sequenceNumber: sequence,
      position: eventPosition(sequence, 0),
      enqueuedTime: at,
      event: {
        schemaVersion: 1,
        eventId: `e${sequence}`,
        userId,
        receivedAt: at,
        timestamp: at,
        productId: 'p1',
        ...spec,
      } as ClickstreamEvent,
    };
  });
}

const batchOf = (sequenced: SequencedEvent[], partitionId = '0'): TriggerBatch => ({
  eventHubName: 'clickstream',
  partitionId,
  events: sequenced,
  unprocessable: [],
});

async function read<T extends ItemDefinition>(container: string, id: string, pk: string): Promise<T> {
  const { resource } = await database.container(container).item(id, pk).read<T>();
  if (!resource) throw new Error(`${container}/${id} missing`);
  return resource;
}

function withoutSystemFields<T extends object>(doc: T): Partial<T> {
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !k.startsWith('_'))) as Partial<T>;
}

describe('aggregateBatch against Cosmos DB and Blob', () => {
  it('writes profile, product, offer and roll-up documents once per batch, one bulk request per container', async () => {
    const store = new CosmosDocumentStore(counted.database('aggregation-test'));
    counter.reset();
    const batch = batchOf([
      ...events('alice', [
        { type: 'product_view', productId: 'p1', category: 'shoes' },
        { type: 'product_click', productId: 'p1', category: 'shoes' },
        { type: 'purchase', productId: 'p1', category: 'shoes', price: 30 },
        { type: 'offer_impression', offerId: 'o1', decisionId: 'd1', productId: undefined },
        { type: 'offer_click', offerId: 'o1', decisionId: 'd1', productId: undefined },
      ]),
    ]);
    const result = await aggregateBatch(batch, store, archive);
    expect(result).toMatchObject({ events: 5, deadLettered: 0 });
    // profile + product + offer + hourly + daily
    expect(result.documentsWritten).toBe(5);
    // Counted on the wire: user-profiles, product-stats, offer-stats, rollups (hour and day in one request).
    expect(counter.counts()).toMatchObject({ writeRequests: 4, documentWrites: 5, readRequests: 4 });

    const profile = await read<UserProfile>('user-profiles', 'alice', 'alice');
    expect(profile.products.p1).toMatchObject({ views: 1, clicks: 1, purchases: 1 });
    expect(profile.purchasedProducts).toEqual(['p1']);
    const product = await read<ProductStats>('product-stats', 'p1', 'p1');
    expect(product).toMatchObject({ views: 1, clicks: 1, purchases: 1, revenue: 30, category: 'shoes' });
    const offer = await read<OfferStats>('offer-stats', 'o1', 'o1');
    expect(offer).toMatchObject({ impressions: 1, clicks: 1, clickThroughRate: 1 });
    const hourly = await read<Rollup>('rollups', 'hour:2026-11-24T10', '2026-11-24');
    expect(hourly).toMatchObject({
      grain: 'hour',
      hour: 10,
      events: 5,
      purchases: 1,
      revenue: 30,
      impressions: 1,
      offerClicks: 1,
    });
  });

  it('leaves every aggregate unchanged when the same batch is delivered again', async () => {
    const store = new CosmosDocumentStore(database);
    const batch = batchOf(
      events('bob', [
        { type: 'product_view', productId: 'p2' },
        { type: 'add_to_cart', productId: 'p2' },
      ]),
    );
    await aggregateBatch(batch, store, archive);
    const before = withoutSystemFields(await read<UserProfile>('user-profiles', 'bob', 'bob'));
    const productBefore = withoutSystemFields(await read<ProductStats>('product-stats', 'p2', 'p2'));

    const again = await aggregateBatch(batch, store, archive);
    expect(again.documentsWritten).toBe(0);
    expect(withoutSystemFields(await read<UserProfile>('user-profiles', 'bob', 'bob'))).toEqual(before);
    expect(withoutSystemFields(await read<ProductStats>('product-stats', 'p2', 'p2'))).toEqual(productBefore);
  });

  it('applies only the unseen part of a batch redelivered with other boundaries', async () => {
    const store = new CosmosDocumentStore(database);
    const all = events('carol', [
      { type: 'product_view', productId: 'p3' },
      { type: 'product_view', productId: 'p3' },
      { type: 'product_view', productId: 'p3' },
    ]);
    await aggregateBatch(batchOf(all.slice(0, 2)), store, archive);
    await aggregateBatch(batchOf(all), store, archive);
    const product = await read<ProductStats>('product-stats', 'p3', 'p3');
    expect(product.views).toBe(3);
  });

  it('counts every event once when two consumers update the same documents at the same time', async () => {
    const storeA = new CosmosDocumentStore(database);
    const storeB = new CosmosDocumentStore(database);
    const fromPartition0 = events(
      'dave',
      Array.from({ length: 20 }, () => ({ type: 'product_view' as const, productId: 'hot' })),
      '0',
    );
    const fromPartition1 = events(
      'erin',
      Array.from({ length: 20 }, () => ({ type: 'product_view' as const, productId: 'hot' })),
      '1',
    );
    // Each consumer applies a partition's batches in order, as the trigger does; a rebalance has two
    // consumers read the same partition from the same checkpoint at once, cut into different batches.
    const inOrder = async (store: CosmosDocumentStore, batches: Array<Parameters<typeof batchOf>>) => {
      for (const args of batches) await aggregateBatch(batchOf(...args), store, archive);
    };
    await Promise.all([
      inOrder(storeA, [
        [fromPartition0.slice(0, 10), '0'],
        [fromPartition0.slice(10), '0'],
      ]),
      inOrder(storeB, [
        [fromPartition0.slice(0, 5), '0'],
        [fromPartition0.slice(5), '0'],
      ]),
      inOrder(storeB, [
        [fromPartition1.slice(0, 10), '1'],
        [fromPartition1.slice(10), '1'],
      ]),
      inOrder(storeA, [[fromPartition1, '1']]), // the same partition again, as one redelivered batch
    ]);
    const product = await read<ProductStats>('product-stats', 'hot', 'hot');
    expect(product.views).toBe(40);
    const dave = await read<UserProfile>('user-profiles', 'dave', 'dave');
    expect(dave.products.hot!.views).toBe(20);
  });

  it('archives raw events as gzip JSON Lines that read back once each, and dead-letters the unreadable', async () => {
    const store = new CosmosDocumentStore(database);
    const sequenced = events(
      'frank',
      [
        { type: 'product_view', productId: 'p4' },
        { type: 'product_click', productId: 'p4' },
      ],
      '2',
    );
    const batch: TriggerBatch = {
      ...batchOf(sequenced, '2'),
      unprocessable: [
        {
          partitionId: '2',
          sequenceNumber: 999999,
          position: eventPosition(999999, 0),
          enqueuedTime: at,
          reason: 'invalid event: userId: is required',
          body: { type: 'product_view' },
        },
      ],
    };
    const result = await aggregateBatch(batch, store, archive);
    await aggregateBatch(batchOf(sequenced.slice(1), '2'), store, archive); // overlapping redelivery
    expect(result.archiveBlobs[0]).toMatch(/^clickstream\/2\/2026\/11\/24\/10\/\d{20}-\d{20}\.jsonl\.gz$/);
    const archived = [];
    for await (const record of readArchivedEvents(blob.getContainerClient('archive'))) {
      if (record.eventHubName === 'clickstream' && record.partitionId === '2')
        archived.push(record.event.eventId);
    }
    expect(archived).toEqual(sequenced.map((s) => s.event.eventId));
    const deadLetters = [];
    for await (const item of blob.getContainerClient('deadletter').listBlobsFlat())
      deadLetters.push(item.name);
    expect(deadLetters).toEqual(['clickstream/2/2026/11/24/00000000000999999000.json']);
    const content = JSON.parse(
      (
        await blob.getContainerClient('deadletter').getBlobClient(deadLetters[0]!).downloadToBuffer()
      ).toString(),
    ) as { reason: string };
    expect(content.reason).toContain('userId');
  });
});
