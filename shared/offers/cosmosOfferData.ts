import { Database } from '@azure/cosmos';
import { OfferStats, ProductStats } from '../aggregation/documents';
import { cosmosContainers } from '../runtime/cosmosContainers';
import { CatalogValidationError, Offer, parseOfferCatalog } from './offerCatalog';

/** Reads for the offer function that change slowly and are cached in memory (see RefreshingValue). */

/**
 * The stored catalog. Offers were validated when `npx nextoffer offers load` stored them (a catalog with an
 * invalid offer is refused whole there). Each is parsed again here, one by one: a document edited by hand
 * into an invalid offer is left out and reported through `onInvalid`, and the other offers keep serving.
 */
export async function loadOfferCatalog(
  database: Database,
  onInvalid: (error: CatalogValidationError) => void = () => undefined,
): Promise<Offer[]> {
  const { resources } = await database
    .container(cosmosContainers.offerCatalog.id)
    .items.query<Offer & { id: string }>('SELECT * FROM c')
    .fetchAll();
  const offers: Offer[] = [];
  for (const { id: _id, ...stored } of resources) {
    try {
      offers.push(...parseOfferCatalog([stripSystemFields(stored)]));
    } catch (error) {
      if (!(error instanceof CatalogValidationError)) throw error;
      onInvalid(error);
    }
  }
  return offers;
}

/**
 * The ids of every stored offer, valid or not: what feedback events may name. An offer edited by hand into
 * an invalid one stops serving, but feedback for it is still counted.
 */
export async function loadOfferIds(database: Database): Promise<Set<string>> {
  const { resources } = await database
    .container(cosmosContainers.offerCatalog.id)
    .items.query<{ offerId: unknown }>('SELECT c.offerId FROM c')
    .fetchAll();
  return new Set(resources.flatMap(({ offerId }) => (typeof offerId === 'string' ? [offerId] : [])));
}

function stripSystemFields<T extends object>(doc: T): T {
  const copy = { ...doc } as Record<string, unknown>;
  for (const key of Object.keys(copy)) if (key.startsWith('_')) delete copy[key];
  return copy as T;
}

/** Replaces the catalog: upserts every offer, then deletes offers no longer in it. */
export async function saveOfferCatalog(
  database: Database,
  offers: readonly Offer[],
): Promise<{ upserted: number; deleted: number }> {
  const container = database.container(cosmosContainers.offerCatalog.id);
  for (const offer of offers) await container.items.upsert({ id: offer.offerId, ...offer });
  const keep = new Set(offers.map((o) => o.offerId));
  const { resources } = await container.items
    .query<{ id: string; offerId: string }>('SELECT c.id, c.offerId FROM c')
    .fetchAll();
  let deleted = 0;
  for (const doc of resources) {
    if (keep.has(doc.offerId)) continue;
    await container.item(doc.id, doc.offerId).delete();
    deleted += 1;
  }
  return { upserted: offers.length, deleted };
}

export async function loadOfferStats(
  database: Database,
): Promise<Map<string, Pick<OfferStats, 'impressions' | 'clicks'>>> {
  const { resources } = await database
    .container(cosmosContainers.offerStats.id)
    .items.query<Pick<OfferStats, 'offerId' | 'impressions' | 'clicks'>>(
      'SELECT c.offerId, c.impressions, c.clicks FROM c',
    )
    .fetchAll();
  return new Map(resources.map((r) => [r.offerId, { impressions: r.impressions, clicks: r.clicks }]));
}

/** Product popularity from our own aggregates: the built-in fallback when Redis cannot answer. */
export async function loadPopularProducts(database: Database, limit: number): Promise<Map<string, number>> {
  const { resources } = await database
    .container(cosmosContainers.productStats.id)
    .items.query<Pick<ProductStats, 'productId' | 'views' | 'clicks' | 'carts' | 'purchases'>>(
      'SELECT c.productId, c.views, c.clicks, c.carts, c.purchases FROM c',
    )
    .fetchAll();
  return new Map(
    resources
      .map((r) => [r.productId, r.views + 2 * r.clicks + 4 * r.carts + 8 * r.purchases] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit),
  );
}
