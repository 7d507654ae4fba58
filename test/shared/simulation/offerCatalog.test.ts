import { generateOfferCatalog } from '../../../shared/simulation/offerCatalog';
import { generateWorld } from '../../../shared/simulation/world';
import { parseOfferCatalog } from '../../../shared/offers/offerCatalog';

describe('generateOfferCatalog', () => {
  const world = generateWorld(4, { users: 10, products: 60, categories: 6 });

  it('offers every category and deals on products that exist, with unique ids', () => {
    const offers = generateOfferCatalog(world);
    expect(offers).toHaveLength(6 + 12);
    expect(new Set(offers.map((o) => o.offerId)).size).toBe(offers.length);
    const productIds = new Set(world.products.map((p) => p.productId));
    const covered = new Set(offers.flatMap((o) => o.categories ?? []));
    expect(covered).toEqual(new Set(world.categories));
    for (const offer of offers) {
      expect(offer.offerId).toMatch(/^o\d{4}$/);
      expect(offer.title.length).toBeGreaterThan(0);
      expect((offer.productIds?.length ?? 0) + (offer.categories?.length ?? 0)).toBeGreaterThan(0);
      for (const id of offer.productIds ?? []) expect(productIds.has(id)).toBe(true);
      expect(offer.priority).toBeGreaterThanOrEqual(1);
    }
    expect(offers.some((o) => (o.productIds?.length ?? 0) > 1)).toBe(true);
  });

  it('is deterministic and time-boxes offers only when given a moment', () => {
    expect(generateOfferCatalog(world)).toEqual(generateOfferCatalog(world));
    expect(generateOfferCatalog(world).some((o) => o.startsAt !== undefined || o.endsAt !== undefined)).toBe(
      false,
    );
    const now = '2026-03-01T00:00:00.000Z';
    const boxed = generateOfferCatalog(world, { now }).filter((o) => o.endsAt !== undefined);
    expect(boxed.length).toBeGreaterThan(0);
    for (const offer of boxed) {
      expect(Date.parse(offer.startsAt!)).toBeLessThanOrEqual(Date.parse(now));
      expect(Date.parse(offer.endsAt!)).toBeGreaterThan(Date.parse(now));
    }
  });

  it('passes the offer catalog contract that `npx nextoffer offers load` enforces', () => {
    const offers = generateOfferCatalog(world, { now: '2026-03-01T00:00:00.000Z' });
    expect(parseOfferCatalog(JSON.parse(JSON.stringify(offers))).map((o) => o.offerId)).toEqual(
      offers.map((o) => o.offerId),
    );
  });

  it('rejects a bad count or moment', () => {
    expect(() => generateOfferCatalog(world, { productOffers: -1 })).toThrow(/productOffers/);
    expect(() => generateOfferCatalog(world, { now: 'yesterday' })).toThrow(/now/);
  });
});
