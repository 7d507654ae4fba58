import { Database } from '@azure/cosmos';
import { OfferStats, ProductStats } from '../aggregation/documents';
import { cosmosContainers } from '../runtime/cosmosContainers';
import { Offer, parseOfferCatalog } from './offerCatalog';

/** Reads for the offer function that change slowly and are cached in memory (see RefreshingValue). */

export async function loadOfferCatalog(database: Database): Promise<Offer[]> {
  const { resources } = await database
    .container(cosmosContainers.offerCatalog.id)
    .items.query<Offer & { id: string }>('SELECT * FROM c')
    .fetchAll();
  // Stored offers were validated when loaded; parse again so a hand-edited document cannot break serving.
  return parseOfferCatalog(resources.map(({ id: _id, ...offer }) => stripSystemFields(offer)));
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
