import { CosmosClient, Database, ItemDefinition } from '@azure/cosmos';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainAffinityModel } from '../../models/affinity/train';
import { readArchivedEvents } from '../../shared/archive/archiveReader';
import { createAffinityBundleStore } from '../../shared/affinity/runtime';
import { OfferStats, UserProfile } from '../../shared/aggregation/documents';
import { getSettings } from '../../shared/config/settings';
import { saveOfferCatalog } from '../../shared/offers/cosmosOfferData';
import { offerSchema } from '../../shared/offers/offerCatalog';
import { OfferResponse } from '../../shared/offers/offerService';
import { createBlobServiceClient } from '../../shared/runtime/clients';
import { provisionResources } from '../../shared/runtime/provisioning';
import { runShutdownHooks } from '../../shared/hosting/registry';
import { FunctionsHost, loadFunctionModules, startFunctionsHost } from '../../local/host';
import { cosmosClientFor, startTestStack, TestStack } from '../support/localStack';

/**
 * The whole pipeline through the local host, as a website sees it: events in through POST /api/events,
 * Event Hubs, the aggregate trigger into Cosmos DB and Blob, then GET /api/offer reflecting the clicks.
 */

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

let stack: TestStack;
let host: FunctionsHost;
let cosmos: CosmosClient;
let database: Database;

const families = ['shoes', 'hats', 'bags'];
const catalog = families.map((family) =>
  offerSchema.parse({
    offerId: `offer-${family}`,
    title: `${family} week`,
    productIds: [`${family}-1`, `${family}-2`, `${family}-3`],
  }),
);

beforeAll(async () => {
  stack = await startTestStack({
    partitionCount: 2,
    extra: {
      OFFER_EXPLORATION_RATE: '0',
      OFFER_DEPENDENCY_TIMEOUT_MS: '2000',
    },
  });
  Object.assign(process.env, stack.settings);
  const settings = getSettings();
  await provisionResources(settings);
  cosmos = cosmosClientFor(stack.settings);
  database = cosmos.database(settings.cosmos.database);
  await saveOfferCatalog(database, catalog);

  // A model trained on shoppers who stay within one family of products, published as `latest`.
  const interactions = [];
  for (let u = 0; u < 90; u++) {
    const family = families[u % 3]!;
    for (let i = 1; i <= 4; i++)
      interactions.push({ userId: `train-${u}`, itemId: `${family}-${i}`, weight: 1 });
  }
  const bundle = await trainAffinityModel(interactions, { evaluate: false, lambda: 1 });
  await createBlobServiceClient(settings.archive.connection)
    .getContainerClient(settings.archive.modelsContainer)
    .createIfNotExists();
  await createAffinityBundleStore(settings.archive, settings.affinity).publish(bundle.files, { force: true });

  loadFunctionModules(join(__dirname, '../../functions'), '.ts');
  const hostJson = JSON.parse(readFileSync(join(__dirname, '../../host.json'), 'utf8')) as {
    extensions: unknown;
  };
  host = await startFunctionsHost({ port: 0, hostJson: hostJson, log: () => undefined });
}, 120_000);

afterAll(async () => {
  // The host runs the shutdown hooks; if it never started, close the functions' clients here.
  if (host) await host.stop();
  else await runShutdownHooks();
  cosmos?.dispose();
  await stack?.stop();
});

async function eventually<T>(
  read: () => Promise<T | undefined>,
  done: (value: T) => boolean,
  what: string,
): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 150; i++) {
    last = await read();
    if (last !== undefined && done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
}

async function getOffer(userId: string): Promise<OfferResponse> {
  const response = await fetch(`${host.url}/api/offer?userId=${encodeURIComponent(userId)}`);
  expect(response.status).toBe(200);
  return (await response.json()) as OfferResponse;
}

async function postEvents(events: unknown[]): Promise<Response> {
  return fetch(`${host.url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
}

const readDoc = async <T extends ItemDefinition>(container: string, id: string): Promise<T | undefined> =>
  (await database.container(container).item(id, id).read<T>()).resource;

describe('the pipeline end to end', () => {
  it("turns a user's clicks into aggregates, an archive and a different offer", async () => {
    const userId = 'visitor-42';
    const before = await getOffer(userId);
    expect(before.source).not.toBe('model'); // no history yet

    const clicks = ['hats-1', 'hats-3', 'hats-1'].map((productId, i) => ({
      type: 'product_click',
      userId,
      productId,
      category: 'hats',
      eventId: `e2e-click-${i}`,
      timestamp: new Date().toISOString(),
    }));
    const posted = await postEvents(clicks);
    expect(posted.status).toBe(202);

    const profile = await eventually(
      () => readDoc<UserProfile>('user-profiles', userId),
      (p) => p.eventCounts.product_click === 3,
      'the user profile',
    );
    expect(profile.products['hats-1']!.clicks).toBe(2);
    expect(profile.categories.hats!.events).toBe(3);

    const archived: string[] = [];
    const archive = createBlobServiceClient(getSettings().archive.connection).getContainerClient(
      getSettings().archive.rawEventsContainer,
    );
    for await (const record of readArchivedEvents(archive))
      if (record.event.userId === userId) archived.push(record.event.eventId);
    expect(archived.sort()).toEqual(['e2e-click-0', 'e2e-click-1', 'e2e-click-2']);

    const after = await getOffer(userId);
    expect(after.source).toBe('model');
    expect(after.offer?.offerId).toBe('offer-hats');
    expect(after.modelVersion).toBeDefined();

    // Close the loop: the impression and click of that offer come back through ingest.
    const feedback = await postEvents([
      { type: 'offer_impression', userId, offerId: 'offer-hats', decisionId: after.decisionId },
      {
        type: 'offer_click',
        userId,
        offerId: 'offer-hats',
        decisionId: after.decisionId,
        productId: 'hats-2',
      },
    ]);
    expect(feedback.status).toBe(202);
    const stats = await eventually(
      () => readDoc<OfferStats>('offer-stats', 'offer-hats'),
      (s) => s.clicks === 1,
      'offer stats',
    );
    expect(stats).toMatchObject({ impressions: 1, clicks: 1, clickThroughRate: 1 });
  });

  it('answers concurrent requests each from its own profile, though their reads and model runs are shared', async () => {
    // Requests that arrive together share one Cosmos DB bulk read and one ONNX run (TurnBatcher): each
    // must still get the offer of its own history, and an unknown user among them cold start.
    const shoppers = families.flatMap((family) =>
      [0, 1, 2].map((n) => ({ userId: `together-${family}-${n}`, family })),
    );
    const posted = await postEvents(
      shoppers.flatMap(({ userId, family }) =>
        [1, 2, 3].map((i) => ({
          type: 'product_click',
          userId,
          productId: `${family}-${i}`,
          eventId: `together-${userId}-${i}`,
          timestamp: new Date().toISOString(),
        })),
      ),
    );
    expect(posted.status).toBe(202);
    for (const { userId } of shoppers) {
      await eventually(
        () => readDoc<UserProfile>('user-profiles', userId),
        (p) => p.eventCounts.product_click === 3,
        `the profile of ${userId}`,
      );
    }
    const answers = await Promise.all([...shoppers.map((s) => s.userId), 'together-nobody'].map(getOffer));
    shoppers.forEach(({ userId, family }, i) => {
      expect(answers[i]).toMatchObject({ userId, source: 'model', offer: { offerId: `offer-${family}` } });
    });
    expect(answers.at(-1)).toMatchObject({ userId: 'together-nobody', degraded: [] });
    expect(answers.at(-1)?.source).not.toBe('model');
  });

  it('refuses bad input with a 4xx naming the field', async () => {
    const noUser = await fetch(`${host.url}/api/offer`);
    expect(noUser.status).toBe(400);
    expect(((await noUser.json()) as { error: { field: string } }).error.field).toBe('userId');
    const bad = await postEvents([{ type: 'product_view', userId: '', productId: 'p' }]);
    expect(bad.status).toBe(400);
  });
});
