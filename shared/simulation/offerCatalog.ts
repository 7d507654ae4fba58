import { Random } from './random';
import type { World } from './world';

/**
 * Offers that fit the simulated world: one per category, single-product deals on popular products,
 * and small bundles within a category. Written by `npx nextoffer simulate --write-catalog FILE` in the
 * shape of models/catalog/offers.json.
 */
export interface SimulatedOffer {
  offerId: string;
  title: string;
  productIds?: string[];
  categories?: string[];
  /** Higher wins ties between equally scored offers. */
  priority: number;
  startsAt?: string;
  endsAt?: string;
}

export interface OfferCatalogOptions {
  /** How many single-product and bundle offers besides the per-category ones. Default: 2 per category. */
  productOffers?: number;
  /** Some offers are time-boxed around this moment (ISO 8601); none are when omitted. */
  now?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_OFFERS = 10_000;

function offerIdFor(index: number): string {
  return `o${String(index + 1).padStart(4, '0')}`;
}

export function generateOfferCatalog(world: World, options: OfferCatalogOptions = {}): SimulatedOffer[] {
  const productOffers = options.productOffers ?? 2 * world.categories.length;
  if (
    !Number.isInteger(productOffers) ||
    productOffers < 0 ||
    productOffers + world.categories.length > MAX_OFFERS
  ) {
    throw new RangeError(
      `productOffers must be an integer from 0 to ${MAX_OFFERS - world.categories.length}`,
    );
  }
  const nowMs = options.now === undefined ? undefined : Date.parse(options.now);
  if (nowMs !== undefined && Number.isNaN(nowMs)) throw new RangeError(`now is not a date: ${options.now}`);
  const random = Random.stream(world.seed, 'offers');
  const offers: SimulatedOffer[] = [];

  for (const category of world.categories) {
    const percent = 5 + 5 * random.int(4);
    offers.push({
      offerId: offerIdFor(offers.length),
      title: `${percent}% off ${category}`,
      categories: [category],
      priority: 1 + random.int(5),
    });
  }

  // Deals go to popular products, as a merchandiser would pick them.
  const byPopularity = [...world.products].sort((a, b) => b.popularity - a.popularity);
  for (let i = 0; i < productOffers; i++) {
    const product = byPopularity[i % byPopularity.length];
    if (!product) break;
    const sameCategory = world.products.filter((p) => p.category === product.category && p !== product);
    const bundle = i % 3 === 2 && sameCategory.length > 0;
    const productIds = bundle
      ? [product.productId, random.pick(sameCategory).productId]
      : [product.productId];
    const offer: SimulatedOffer = {
      offerId: offerIdFor(offers.length),
      title: bundle ? `Bundle: ${productIds.join(' + ')}` : `Deal of the week: ${product.productId}`,
      productIds,
      priority: 1 + random.int(10),
    };
    if (nowMs !== undefined && i % 4 === 1) {
      offer.startsAt = new Date(nowMs - DAY_MS).toISOString();
      offer.endsAt = new Date(nowMs + 30 * DAY_MS).toISOString();
    }
    offers.push(offer);
  }
  return offers;
}
