import { CosmosClient, Database } from '@azure/cosmos';
import Redis from 'ioredis';
import { createServer, Server, Socket } from 'node:net';
import { trainAffinityModel } from '../../../models/affinity/train';
import { loadAffinityModelFromFiles, AffinityModel } from '../../../shared/affinity/affinityModel';
import { aggregateBatch } from '../../../shared/aggregation/aggregateBatch';
import { BlobEventArchive } from '../../../shared/archive/eventArchive';
import { RedisColdStartStore } from '../../../shared/coldstart/coldStartStore';
import { CosmosDocumentStore } from '../../../shared/cosmos/documentStore';
import { ModelAffinityScorer } from '../../../shared/offers/modelAffinityScorer';
import { holdFirstRun } from './heldModel';
import { offerSchema } from '../../../shared/offers/offerCatalog';
import { OfferService, OfferServiceDependencies } from '../../../shared/offers/offerService';
import { createCosmosClient, createRedisClient } from '../../../shared/runtime/clients';
import { cosmosContainers } from '../../../shared/runtime/cosmosContainers';
import { provisionCosmos } from '../../../shared/runtime/provisioning';
import { newUserProfile, UserProfile } from '../../../shared/aggregation/documents';
import { SequencedEvent } from '../../../shared/aggregation/triggerBatch';
import { blobServiceFor, cosmosClientFor, startTestStack, TestStack } from '../../support/localStack';
import { eventPosition } from '../../../shared/events/hubMessage';

let stack: TestStack;
let cosmos: CosmosClient;
let database: Database;
let redis: Redis;
let model: AffinityModel;
let blackhole: Server;
const sockets: Socket[] = [];

const catalog = ['shoes', 'hats', 'bags'].map((name) =>
  offerSchema.parse({
    offerId: `offer-${name}`,
    title: `${name} sale`,
    productIds: [`${name}-1`, `${name}-2`],
  }),
);

beforeAll(async () => {
  stack = await startTestStack();
  cosmos = cosmosClientFor(stack.settings);
  database = cosmos.database('offer-test');
  await provisionCosmos(database);
  redis = createRedisClient(stack.settings.RedisConnection!);

  // A small world where people who look at shoes also buy shoes, and the same for hats and bags.
  const interactions = [];
  for (let u = 0; u < 60; u++) {
    const family = ['shoes', 'hats', 'bags'][u % 3]!;
    for (const item of [`${family}-1`, `${family}-2`, `${family}-3`])
      interactions.push({ userId: `t${u}`, itemId: item, weight: 1 });
  }
  const bundle = await trainAffinityModel(interactions, { evaluate: false, lambda: 1 });
  model = await loadAffinityModelFromFiles(bundle.files);

  // A server that accepts connections and never answers: what a hung dependency looks like.
  blackhole = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  sockets.forEach((s) => s.destroy());
  blackhole.close();
  await model.close();
  redis.disconnect();
  cosmos.dispose();
  await stack.stop();
});

const store = () => new CosmosDocumentStore(database);

function service(overrides: Partial<OfferServiceDependencies> = {}): OfferService {
  return new OfferService({
    catalog: async () => catalog,
    offerStats: async () => new Map(),
    readProfile: (userId, signal) => store().read<UserProfile>('userProfiles', userId, userId, signal),
    scorer: new ModelAffinityScorer(async () => model),
    coldStart: new RedisColdStartStore(redis, 'test:'),
    fallbackScores: async () => new Map([['bags-1', 1]]),
    dependencyTimeoutMs: 500,
    explorationRate: 0,
    ...overrides,
  });
}

async function clicks(userId: string, productIds: string[]): Promise<void> {
  const at = new Date().toISOString();
  // Increasing across calls, as the documents' watermarks outlive a call.
  const firstSequence = (Date.now() - Date.UTC(2026, 0, 1)) * 10;
  const events = productIds.map((productId, i): SequencedEvent => ({
    partitionId: '0',
    sequenceNumber: firstSequence + i,
    position: eventPosition(firstSequence + i, 0),
    enqueuedTime: at,
    event: {
      schemaVersion: 1,
      eventId: `${userId}-${i}`,
      userId,
      productId,
      type: 'product_click',
      receivedAt: at,
      timestamp: at,
    },
  }));
  const blob = blobServiceFor(stack.settings);
  const archive = new BlobEventArchive(
    blob.getContainerClient('offer-test-archive'),
    blob.getContainerClient('offer-test-dead'),
  );
  await blob.getContainerClient('offer-test-archive').createIfNotExists();
  await aggregateBatch(
    { eventHubName: 'clickstream', partitionId: '0', events, unprocessable: [] },
    store(),
    archive,
  );
}

describe('OfferService', () => {
  it('scores a user with history through the ONNX model', async () => {
    await clicks('hat-fan', ['hats-1', 'hats-3']);
    const response = await service().decide('hat-fan', {});
    expect(response.source).toBe('model');
    expect(response.offer?.offerId).toBe('offer-hats');
    expect(response.modelVersion).toBe(model.version);
    expect(response.degraded).toEqual([]);
    expect(response.runnersUp).toHaveLength(2);
  });

  it('serves a user without history from the cold-start scores in Redis', async () => {
    await new RedisColdStartStore(redis, 'test:').replace({
      global: [{ itemId: 'shoes-1', score: 1 }],
      byContext: { 'category:bags': [{ itemId: 'bags-2', score: 1 }] },
    });
    const global = await service().decide('newcomer', {});
    expect(global).toMatchObject({ source: 'cold-start', offer: { offerId: 'offer-shoes' } });
    const inBags = await service().decide('newcomer', { category: 'bags' });
    expect(inBags.offer?.offerId).toBe('offer-bags');
  });

  it('falls back to built-in popularity when Redis is down, without an error', async () => {
    const down = createRedisClient('redis://127.0.0.1:1');
    down.on('error', () => undefined);
    const response = await service({ coldStart: new RedisColdStartStore(down, 'test:') }).decide(
      'newcomer',
      {},
    );
    // ioredis 5.11 disconnects a client that is waiting to reconnect by ending its old, already closed
    // stream: that arms a 2 s timer (disconnectTimeout) that no 'close' will clear; it runs out by itself.
    down.disconnect();
    expect(response.source).toBe('fallback');
    expect(response.offer?.offerId).toBe('offer-bags');
    expect(response.degraded).toEqual(['redis']);
  });

  it('uses cold start when no model is loaded', async () => {
    await clicks('no-model-user', ['hats-1']);
    const response = await service({ scorer: new ModelAffinityScorer(async () => undefined) }).decide(
      'no-model-user',
      {},
    );
    expect(response.source).toBe('cold-start');
  });

  it('uses cold start when the model knows none of the items of the history', async () => {
    await new RedisColdStartStore(redis, 'test:').replace({
      global: [{ itemId: 'shoes-1', score: 1 }],
      byContext: {},
    });
    await clicks('stranger', ['never-trained-1', 'never-trained-2']);
    const response = await service().decide('stranger', {});
    expect(response).toMatchObject({ source: 'cold-start', offer: { offerId: 'offer-shoes' } });
    expect(response.degraded).toEqual([]);
  });

  it('waits for popularity when Redis is down, so a first fallback is not empty', async () => {
    const down = createRedisClient('redis://127.0.0.1:1');
    down.on('error', () => undefined);
    // Popularity still loading when the decision needs it, as on the first request of a process.
    const loading = () =>
      new Promise<ReadonlyMap<string, number>>((resolve) =>
        setTimeout(() => resolve(new Map([['hats-2', 1]])), 50),
      );
    const response = await service({
      coldStart: new RedisColdStartStore(down, 'test:'),
      fallbackScores: loading,
    }).decide('newcomer', {});
    down.disconnect();
    expect(response).toMatchObject({ source: 'fallback', offer: { offerId: 'offer-hats' } });
    expect(response.degraded).toEqual(['redis']);
  });

  it('reports how many offers each rule ruled out, for the decision log', async () => {
    const { response, excluded } = await service({
      catalog: async () => [
        ...catalog,
        offerSchema.parse({
          offerId: 'offer-over',
          title: 'over',
          productIds: ['shoes-1'],
          endsAt: '2020-01-01T00:00:00Z',
        }),
      ],
    }).decideWithDetails('newcomer', {});
    expect(response.offer).not.toBeNull();
    expect(Object.values(excluded).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('cuts off a Cosmos DB that does not answer and still decides', async () => {
    const port = (blackhole.address() as { port: number }).port;
    const hung = createCosmosClient({
      kind: 'connectionString',
      endpoint: `http://127.0.0.1:${port}/`,
      key: 'a2V5',
    });
    const hungStore = new CosmosDocumentStore(hung.database('offer-test'));
    const response = await service({
      readProfile: (userId, signal) => hungStore.read<UserProfile>('userProfiles', userId, userId, signal),
      dependencyTimeoutMs: 200,
    }).decide('hat-fan', {});
    hung.dispose();
    expect(response.degraded).toContain('cosmos');
    expect(response.source).toBe('cold-start');
    expect(response.offer).not.toBeNull();
  });

  it('gives up on the model at the timeout, and a run nobody waits for any more is skipped', async () => {
    await Promise.all([
      clicks('queued-1', ['hats-1']),
      clicks('queued-2', ['bags-1']),
      clicks('queued-3', ['shoes-1']),
    ]);
    // The real model, its first run held: the runs of later requests queue behind it.
    const { scoring, runs, release, firstRunStarted } = holdFirstRun(model, (histories) => histories.length);
    const offers = service({
      scorer: new ModelAffinityScorer(async () => scoring),
      dependencyTimeoutMs: 200,
    });

    const first = offers.decide('queued-1', {});
    await firstRunStarted;
    const queued = await offers.decide('queued-2', {});
    expect(queued.degraded).toEqual(['model']);
    expect((await first).degraded).toEqual(['model']);
    release();
    // Runs go in order: once a later decision has its scores, the abandoned run has had its turn.
    const later = await offers.decide('queued-3', {});
    expect(later).toMatchObject({ source: 'model', degraded: [] });
    expect(runs).toEqual([1, 1]);
  });

  it('decides without the history of a stored profile that is invalid, and says so', async () => {
    await new RedisColdStartStore(redis, 'test:').replace({
      global: [{ itemId: 'shoes-1', score: 1 }],
      byContext: {},
    });
    // A profile edited by hand: a history, but no eventCounts.
    const at = new Date().toISOString();
    const { eventCounts: _dropped, ...edited } = newUserProfile('hand-edited', at);
    edited.products['hats-1'] = { views: 1, clicks: 0, carts: 0, purchases: 0, affinity: 1, lastAt: at };
    await database.container(cosmosContainers.userProfiles.id).items.upsert(edited);
    const log: string[] = [];
    const response = await service({ log: (message) => log.push(message) }).decide('hand-edited', {});
    expect(response).toMatchObject({
      source: 'cold-start',
      offer: { offerId: 'offer-shoes' },
      degraded: ['profile'],
    });
    expect(log).toEqual([expect.stringMatching(/user hand-edited is invalid: eventCounts /)]);
  });
});
