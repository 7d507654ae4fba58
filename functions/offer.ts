import { getCurrentModel } from '../shared/affinity/runtime';
import { RedisColdStartStore } from '../shared/coldstart/coldStartStore';
import { getSettings } from '../shared/config/settings';
import { CoalescedPointReads } from '../shared/cosmos/coalescedReads';
import { CosmosDocumentStore } from '../shared/cosmos/documentStore';
import { registerHttp } from '../shared/hosting/registry';
import { loadOfferCatalog, loadOfferStats, loadPopularProducts } from '../shared/offers/cosmosOfferData';
import { ModelAffinityScorer } from '../shared/offers/modelAffinityScorer';
import { createOfferHandler } from '../shared/offers/offerHttpHandler';
import { OfferService } from '../shared/offers/offerService';
import { RefreshingValue } from '../shared/resilience/refreshingValue';
import { getCosmosDatabase, getRedis } from '../shared/runtime/clients';
import { seededRandom } from '../shared/random/seededRandom';

/** GET|POST /api/offer: the next offer for a user, from their history, the affinity model and the rules. */
const settings = getSettings();
const database = getCosmosDatabase();
// Profiles as stored: OfferService validates each one (an invalid profile degrades, it is no error).
const profiles = new CoalescedPointReads<{ id: string }>(new CosmosDocumentStore(database), 'userProfiles');
const logError = (what: string) => (error: unknown) =>
  console.error(
    `offer: refreshing ${what} failed: ${error instanceof Error ? error.message : String(error)}`,
  );

// Slow-changing data is cached in memory and refreshed in the background, off the request path.
const catalog = new RefreshingValue(
  () =>
    loadOfferCatalog(database, (invalid) =>
      console.error(`offer: a stored offer is left out, the others keep serving: ${invalid.message}`),
    ),
  30_000,
  logError('the offer catalog'),
);
const offerStats = new RefreshingValue(
  () => loadOfferStats(database),
  settings.offer.statsRefreshSeconds * 1000,
  logError('offer statistics'),
);
const popularProducts = new RefreshingValue(
  () => loadPopularProducts(database, 500),
  60_000,
  logError('popularity'),
);
const service = new OfferService({
  catalog: () => catalog.get(),
  offerStats: () => offerStats.get(),
  readProfile: (userId, signal) => profiles.read(userId, userId, signal),
  scorer: new ModelAffinityScorer(getCurrentModel),
  coldStart: new RedisColdStartStore(getRedis(), settings.redis.keyPrefix),
  fallbackScores: () => popularProducts.get(),
  dependencyTimeoutMs: settings.offer.dependencyTimeoutMs,
  explorationRate: settings.offer.explorationRate,
  ...(settings.offer.explorationSeed === undefined
    ? {}
    : { random: seededRandom(settings.offer.explorationSeed) }),
  log: (message) => console.warn(message),
});

// Loading starts with the process, so the first requests find the catalog, statistics, popularity and
// the affinity model ready (or nearly: a request waits for each at most OFFER_DEPENDENCY_TIMEOUT_MS).
for (const [what, value] of [
  ['the offer catalog', catalog],
  ['offer statistics', offerStats],
  ['popularity', popularProducts],
] as const) {
  void (value as RefreshingValue<unknown>).get().catch(logError(what));
}
void getCurrentModel();

registerHttp('offer', {
  route: 'offer',
  methods: ['GET', 'POST', 'OPTIONS'],
  authLevel: 'anonymous',
  handler: createOfferHandler(service, {
    allowedOrigins: settings.ingest.allowedOrigins,
    allowedMethods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type'],
    maxAgeSeconds: 600,
  }),
});
