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
import { FaultProxy, startFaultProxy } from '../../support/faultProxy';

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

describe('what the aggregates say', () => {
  it('counts an offer click that names a product in its offerClicks, and impressions and dismissals nowhere there', async () => {
    const store = new CosmosDocumentStore(database);
    const offerEvent = { offerId: 'o-click', decisionId: 'd-click', productId: 'p-offered' };
    await aggregateBatch(
      batchOf(
        events('grace', [
          { type: 'offer_impression', ...offerEvent },
          { type: 'offer_click', ...offerEvent },
          { type: 'offer_dismiss', ...offerEvent },
          { type: 'product_view', productId: 'p-offered' },
        ]),
      ),
      store,
      archive,
    );
    const product = await read<ProductStats>('product-stats', 'p-offered', 'p-offered');
    expect(product).toMatchObject({ offerClicks: 1, views: 1, clicks: 0 });
    // Impressions and dismissals touch no product document at all.
    await aggregateBatch(
      batchOf(events('grace', [{ type: 'offer_impression', ...offerEvent, productId: 'p-only-shown' }])),
      store,
      archive,
    );
    const { resource } = await database
      .container('product-stats')
      .item('p-only-shown', 'p-only-shown')
      .read<ProductStats>();
    expect(resource).toBeUndefined();
  });

  it('keeps the latest event timestamp, not the processing time: an event at 09:00 processed at 10:00 says 09:00', async () => {
    const store = new CosmosDocumentStore(database);
    const nine = '2026-11-03T09:00:00.000Z';
    const tenLater = () => new Date('2026-11-03T10:00:00.000Z');
    await aggregateBatch(
      batchOf(
        events('heidi', [
          { type: 'product_view', productId: 'p-late', timestamp: nine },
          {
            type: 'offer_impression',
            offerId: 'o-late',
            decisionId: 'd',
            productId: undefined,
            timestamp: nine,
          },
        ]),
      ),
      store,
      archive,
      tenLater,
    );
    expect(await read<UserProfile>('user-profiles', 'heidi', 'heidi')).toMatchObject({
      firstSeenAt: nine,
      lastSeenAt: nine,
      updatedAt: '2026-11-03T10:00:00.000Z',
    });
    expect(await read<ProductStats>('product-stats', 'p-late', 'p-late')).toMatchObject({
      lastEventAt: nine,
    });
    expect(await read<OfferStats>('offer-stats', 'o-late', 'o-late')).toMatchObject({ lastEventAt: nine });
  });

  it('files roll-ups by UTC hour and day when the timestamp carries an offset', async () => {
    const store = new CosmosDocumentStore(database);
    await aggregateBatch(
      batchOf(
        events('ivan', [{ type: 'product_view', productId: 'p-tz', timestamp: '2026-01-01T23:30:00-05:00' }]),
      ),
      store,
      archive,
    );
    expect(await read<Rollup>('rollups', 'hour:2026-01-02T04', '2026-01-02')).toMatchObject({
      hour: 4,
      views: 1,
    });
    expect(await read<Rollup>('rollups', 'day:2026-01-02', '2026-01-02')).toMatchObject({ views: 1 });
    const { resource } = await database
      .container('rollups')
      .item('day:2026-01-01', '2026-01-01')
      .read<Rollup>();
    expect(resource).toBeUndefined();
    // Every time in the documents is UTC too.
    expect(await read<UserProfile>('user-profiles', 'ivan', 'ivan')).toMatchObject({
      lastSeenAt: '2026-01-02T04:30:00.000Z',
    });
  });
});

describe('a client that retries: the same eventId at two positions', () => {
  const day = '2026-11-05';
  const when = `${day}T08:00:00.000Z`;
  /** The client's request: a purchase and an offer click, with ids it chose. */
  const request = (userId: string, productId: string, offerId: string) =>
    [
      { type: 'purchase', productId, price: 10, eventId: `${userId}-buy` },
      { type: 'offer_click', offerId, decisionId: 'd', productId, eventId: `${userId}-click` },
    ] as const;
  const sendAt = (userId: string, specs: ReturnType<typeof request>) =>
    events(
      userId,
      specs.map((spec) => ({ ...spec, timestamp: when })),
    );

  async function expectCountedOnce(userId: string, productId: string, offerId: string, date: string) {
    const profile = await read<UserProfile>('user-profiles', userId, userId);
    expect(profile.eventCounts).toEqual({ purchase: 1, offer_click: 1 });
    expect(profile.products[productId]).toMatchObject({ purchases: 1, clicks: 1 });
    expect(await read<ProductStats>('product-stats', productId, productId)).toMatchObject({
      purchases: 1,
      revenue: 10,
      offerClicks: 1,
    });
    expect(await read<OfferStats>('offer-stats', offerId, offerId)).toMatchObject({ clicks: 1 });
    for (const id of [`hour:${date}T08`, `day:${date}`]) {
      expect(await read<Rollup>('rollups', id, date)).toMatchObject({
        events: 2,
        purchases: 1,
        revenue: 10,
        offerClicks: 1,
      });
    }
  }

  it('counts the event once in every container, whether the copy comes in a later batch or the same one', async () => {
    const store = new CosmosDocumentStore(database);
    const first = await aggregateBatch(
      batchOf(sendAt('judy', request('judy', 'p-retried', 'o-retried'))),
      store,
      archive,
    );
    expect(first.duplicates).toBe(0);
    // The hub took the events but the answer was lost (a timeout, a 503): the client sends them again.
    const retry = await aggregateBatch(
      batchOf(sendAt('judy', request('judy', 'p-retried', 'o-retried'))),
      store,
      archive,
    );
    expect(retry).toMatchObject({ events: 2, duplicates: 2, deadLettered: 0 });
    await expectCountedOnce('judy', 'p-retried', 'o-retried', day);

    // The same request twice in one batch (the retry reached the hub before the first batch was read).
    const both = [
      ...sendAt('kim', request('kim', 'p-twice', 'o-twice')),
      ...sendAt('kim', request('kim', 'p-twice', 'o-twice')),
    ];
    expect(await aggregateBatch(batchOf(both), store, archive)).toMatchObject({ duplicates: 2 });
    const profile = await read<UserProfile>('user-profiles', 'kim', 'kim');
    expect(profile.eventCounts).toEqual({ purchase: 1, offer_click: 1 });
    expect(await read<ProductStats>('product-stats', 'p-twice', 'p-twice')).toMatchObject({
      purchases: 1,
      revenue: 10,
    });
  });

  it('counts events with distinct eventIds each, though they are otherwise the same', async () => {
    const store = new CosmosDocumentStore(database);
    const twoPurchases = events('liam', [
      { type: 'purchase', productId: 'p-two', price: 10, eventId: 'liam-buy-1' },
      { type: 'purchase', productId: 'p-two', price: 10, eventId: 'liam-buy-2' },
    ]);
    expect(await aggregateBatch(batchOf(twoPurchases), store, archive)).toMatchObject({ duplicates: 0 });
    expect(await read<ProductStats>('product-stats', 'p-two', 'p-two')).toMatchObject({
      purchases: 2,
      revenue: 20,
    });
  });

  it('still counts once when the batch is delivered again after a crash between the profile write and the others', async () => {
    // Cosmos DB refuses every request for the documents other than profiles: the batch's profile write
    // lands, the rest fails, as if the instance had died between the two.
    const proxy: FaultProxy = await startFaultProxy(
      parseConnectionString(stack.settings.CosmosDBConnection!).get('accountendpoint')!,
      (req) =>
        /\/colls\/(product-stats|offer-stats|rollups)\//.test(req.url ?? '') ? { status: 503 } : undefined,
    );
    const broken = createCosmosClient({ kind: 'connectionString', endpoint: `${proxy.url}/`, key: 'a2V5' });
    try {
      const failing = new CosmosDocumentStore(broken.database('aggregation-test'), {
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      });
      const store = new CosmosDocumentStore(database);
      const date = '2026-11-06';
      const timestamp = `${date}T08:00:00.000Z`;
      const purchase = {
        type: 'purchase',
        productId: 'p-crash',
        price: 10,
        eventId: 'mia-buy',
        timestamp,
      } as const;
      const click = {
        type: 'offer_click',
        offerId: 'o-crash',
        decisionId: 'd',
        productId: 'p-crash',
        eventId: 'mia-click',
        timestamp,
      } as const;
      await aggregateBatch(batchOf(events('mia', [purchase])), store, archive);
      // The next batch: the client's retry of that purchase, a new offer click, and that click sent twice.
      const batch = batchOf(events('mia', [purchase, click, click]));
      await expect(aggregateBatch(batch, failing, archive)).rejects.toThrow();
      expect(proxy.faults).toBeGreaterThan(0);
      const written = await read<UserProfile>('user-profiles', 'mia', 'mia');
      expect(written.eventCounts).toEqual({ purchase: 1, offer_click: 1 });
      expect(await read<ProductStats>('product-stats', 'p-crash', 'p-crash')).toMatchObject({
        offerClicks: 0,
      });

      // Delivered again: the profile has nothing new, and remembers which events were copies; the click
      // (whose id the profile now knows) is counted, the copies are not.
      const again = await aggregateBatch(batch, store, archive);
      expect(again).toMatchObject({ duplicates: 2 });
      expect(await read<UserProfile>('user-profiles', 'mia', 'mia')).toEqual(written);
      await expectCountedOnce('mia', 'p-crash', 'o-crash', date);
      // And once more, for good measure: nothing changes.
      expect(await aggregateBatch(batch, store, archive)).toMatchObject({
        documentsWritten: 0,
        duplicates: 2,
      });
      await expectCountedOnce('mia', 'p-crash', 'o-crash', date);
    } finally {
      broken.dispose();
      await proxy.stop();
    }
  }, 120_000);
});
