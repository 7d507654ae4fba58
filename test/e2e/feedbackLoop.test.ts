import { CosmosClient, Database } from '@azure/cosmos';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OfferStats } from '../../shared/aggregation/documents';
import { getSettings } from '../../shared/config/settings';
import { runShutdownHooks } from '../../shared/hosting/registry';
import { saveOfferCatalog } from '../../shared/offers/cosmosOfferData';
import { offerSchema } from '../../shared/offers/offerCatalog';
import { OfferResponse } from '../../shared/offers/offerService';
import { provisionResources } from '../../shared/runtime/provisioning';
import { FunctionsHost, loadFunctionModules, startFunctionsHost } from '../../local/host';
import { cosmosClientFor, startTestStack, TestStack } from '../support/localStack';
import { seededRandom } from '../../shared/random/seededRandom';

/**
 * The closed feedback loop through the real pipeline: GET /api/offer decides, the simulated visitors'
 * offer_impression and offer_click events (with the decisionId) go back through POST /api/events, Event
 * Hubs and the aggregate trigger into the per-offer click-through aggregates, and the offer function,
 * re-reading those aggregates, chooses the offer that is clicked more, more often.
 */

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

const EXPLORATION_RATE = 0.3;
const ROUNDS = 6;
const DECISIONS_PER_ROUND = 40;
const CATEGORY = 'gadgets';
// Both offers are equally relevant (same category, same priority). On a tie the decision prefers the
// offer id that sorts first, so the offer visitors like is the one that sorts LAST: any shift towards
// it is learned from the clicks, never a tie-break.
const LIKED = 'offer-zest';
const IGNORED = 'offer-arch';
const CLICK_PROBABILITY: Record<string, number> = { [LIKED]: 0.7, [IGNORED]: 0.15 };

let stack: TestStack;
let host: FunctionsHost;
let cosmos: CosmosClient;
let database: Database;

beforeAll(async () => {
  stack = await startTestStack({
    partitionCount: 2,
    extra: {
      OFFER_EXPLORATION_RATE: String(EXPLORATION_RATE),
      // Reproducible exploration, as the clicks below are: the bounds then hold on every run.
      OFFER_EXPLORATION_SEED: '20261202',
      OFFER_STATS_REFRESH_SECONDS: '1',
      OFFER_DEPENDENCY_TIMEOUT_MS: '2000',
    },
  });
  Object.assign(process.env, stack.settings);
  const settings = getSettings();
  await provisionResources(settings);
  cosmos = cosmosClientFor(stack.settings);
  database = cosmos.database(settings.cosmos.database);
  await saveOfferCatalog(
    database,
    [IGNORED, LIKED].map((offerId) =>
      offerSchema.parse({ offerId, title: `${offerId} deal`, categories: [CATEGORY], priority: 1 }),
    ),
  );
  loadFunctionModules(join(__dirname, '../../functions'), '.ts');
  const hostJson = JSON.parse(readFileSync(join(__dirname, '../../host.json'), 'utf8')) as unknown;
  host = await startFunctionsHost({ port: 0, hostJson, log: () => undefined });
}, 60_000);

afterAll(async () => {
  if (host) await host.stop();
  else await runShutdownHooks();
  cosmos?.dispose();
  await stack?.stop();
});

async function getOffer(userId: string): Promise<OfferResponse> {
  const response = await fetch(
    `${host.url}/api/offer?userId=${encodeURIComponent(userId)}&category=${CATEGORY}`,
  );
  expect(response.status).toBe(200);
  return (await response.json()) as OfferResponse;
}

async function postEvents(events: unknown[]): Promise<void> {
  const response = await fetch(`${host.url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  expect(response.status).toBe(202);
}

async function offerTotals(): Promise<{ impressions: number; clicks: number }> {
  const { resources } = await database.container('offer-stats').items.readAll<OfferStats>().fetchAll();
  return resources.reduce(
    (sum, s) => ({ impressions: sum.impressions + s.impressions, clicks: sum.clicks + s.clicks }),
    { impressions: 0, clicks: 0 },
  );
}

async function waitForAggregates(expected: { impressions: number; clicks: number }): Promise<void> {
  let last = { impressions: 0, clicks: 0 };
  for (let i = 0; i < 200; i++) {
    last = await offerTotals();
    if (last.impressions === expected.impressions && last.clicks === expected.clicks) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`offer stats never reached ${JSON.stringify(expected)}; last ${JSON.stringify(last)}`);
}

describe('the offer feedback loop', () => {
  it('chooses the offer that visitors click more, more often, round after round', async () => {
    const random = seededRandom(20261124);
    const likedShare: number[] = [];
    const expected = { impressions: 0, clicks: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const decisions = await Promise.all(
        Array.from({ length: DECISIONS_PER_ROUND }, (_, i) => getOffer(`loop-r${round}-u${i}`)),
      );
      const events: unknown[] = [];
      for (const decision of decisions) {
        const offerId = decision.offer?.offerId;
        if (offerId === undefined) throw new Error(`no offer chosen: ${JSON.stringify(decision)}`);
        const feedback = {
          userId: decision.userId,
          offerId,
          decisionId: decision.decisionId,
          category: CATEGORY,
        };
        events.push({ type: 'offer_impression', ...feedback });
        expected.impressions += 1;
        if (random() < (CLICK_PROBABILITY[offerId] ?? 0)) {
          events.push({ type: 'offer_click', ...feedback });
          expected.clicks += 1;
        }
      }
      likedShare.push(decisions.filter((d) => d.offer?.offerId === LIKED).length / decisions.length);
      await postEvents(events);
      // The round's feedback is aggregated before the next round asks for offers...
      await waitForAggregates(expected);
      // ...and the function's cache of the aggregates (OFFER_STATS_REFRESH_SECONDS = 1) has gone stale:
      // the first request after this triggers the re-read, which the next round's decisions then see.
      await new Promise((r) => setTimeout(r, 1_100));
      await getOffer('loop-refresh');
      await new Promise((r) => setTimeout(r, 200));
    }

    // Round one knows nothing: the tie goes to the ignored offer and only exploration shows the liked
    // one (expected share ε/2 = 15%). Once its clicks are aggregated the liked offer becomes the greedy
    // choice (expected share 1 - ε/2 = 85%); exploration still shows the other one now and then. A
    // simulation of this policy with these rates passes these bounds in 99.99% of seeds; with equal click
    // rates for both offers it fails them in about three runs of four.
    expect(likedShare[0]).toBeLessThan(0.5);
    const lastTwo = ((likedShare.at(-1) ?? 0) + (likedShare.at(-2) ?? 0)) / 2;
    expect(lastTwo).toBeGreaterThan(0.6);
    expect(lastTwo).toBeGreaterThan(likedShare[0] as number);

    const stats = new Map(
      (await database.container('offer-stats').items.readAll<OfferStats>().fetchAll()).resources.map((s) => [
        s.offerId,
        s,
      ]),
    );
    // Exploration kept the ignored offer in play, and the aggregates saw the difference in clicks.
    expect(stats.get(IGNORED)?.impressions ?? 0).toBeGreaterThan(0);
    expect(stats.get(LIKED)!.clickThroughRate).toBeGreaterThan(stats.get(IGNORED)!.clickThroughRate);
  }, 120_000);
});
