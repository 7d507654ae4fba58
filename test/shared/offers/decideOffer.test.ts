import { foldIntoUserProfile, newUserProfile } from '../../../shared/aggregation/documents';
import { decideOffer, DecisionInput } from '../../../shared/offers/decideOffer';
import { Offer, offerSchema } from '../../../shared/offers/offerCatalog';

const now = new Date('2026-11-24T12:00:00Z');
const offer = (o: Partial<Offer> & { offerId: string }): Offer =>
  offerSchema.parse({ title: o.offerId, productIds: ['p1'], ...o });

const offers = [
  offer({ offerId: 'shoes', productIds: ['p-shoe'] }),
  offer({ offerId: 'hats', productIds: ['p-hat'] }),
  offer({ offerId: 'socks', categories: ['socks'] }),
];

function input(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    offers,
    profile: undefined,
    scores: {
      source: 'model',
      products: new Map([
        ['p-shoe', 5],
        ['p-hat', 1],
      ]),
    },
    offerStats: new Map(),
    context: {},
    explorationRate: 0,
    now,
    random: () => 0.99,
    ...overrides,
  };
}

describe('decideOffer', () => {
  it('picks the offer whose products the user likes most, with runners-up', () => {
    const decision = decideOffer(input());
    expect(decision.chosen?.offer.offerId).toBe('shoes');
    expect(decision.source).toBe('model');
    expect(decision.propensity).toBe(1);
    expect(decision.runnersUp.map((r) => r.offer.offerId)).toEqual(['hats', 'socks']);
  });

  it('prefers an offer that converts better when relevance is equal', () => {
    const decision = decideOffer(
      input({
        scores: {
          source: 'cold-start',
          products: new Map([
            ['p-shoe', 1],
            ['p-hat', 1],
          ]),
        },
        offerStats: new Map([
          ['shoes', { impressions: 1000, clicks: 10 }],
          ['hats', { impressions: 1000, clicks: 200 }],
        ]),
      }),
    );
    expect(decision.chosen?.offer.offerId).toBe('hats');
    expect(decision.source).toBe('cold-start');
  });

  it('applies the business rules: dates, segments, purchases, caps and budgets', () => {
    const profile = newUserProfile('u1', now.toISOString());
    foldIntoUserProfile(profile, {
      type: 'purchase',
      userId: 'u1',
      productId: 'p-shoe',
      eventId: 'e',
      receivedAt: now.toISOString(),
      timestamp: now.toISOString(),
      schemaVersion: 1,
    });
    profile.offers.hats = { impressions: 3, clicks: 0, dismissals: 0, lastAt: now.toISOString() };
    const catalog = [
      offer({ offerId: 'shoes', productIds: ['p-shoe'] }),
      offer({ offerId: 'hats', productIds: ['p-hat'], frequencyCap: 3 }),
      offer({ offerId: 'future', startsAt: '2027-01-01T00:00:00Z' }),
      offer({ offerId: 'past', endsAt: '2026-01-01T00:00:00Z' }),
      offer({ offerId: 'newcomers', segments: ['new'] }),
      offer({ offerId: 'spent', budget: 10 }),
      offer({ offerId: 'buyers', segments: ['buyer'], productIds: ['p-belt'] }),
    ];
    const decision = decideOffer(
      input({ offers: catalog, profile, offerStats: new Map([['spent', { impressions: 10, clicks: 1 }]]) }),
    );
    expect(decision.chosen?.offer.offerId).toBe('buyers');
    expect(decision.excluded).toEqual({
      already_bought: 1,
      frequency_cap: 1,
      not_started: 1,
      ended: 1,
      segment: 1,
      budget: 1,
    });
  });

  it('explores at the configured rate and reports the propensity', () => {
    const draws = [0.05, 0.5]; // first: explore (< 0.1); second: pick index floor(0.5*3) = 1
    const decision = decideOffer(input({ explorationRate: 0.1, random: () => draws.shift() ?? 0.99 }));
    expect(decision.source).toBe('explore');
    expect(decision.chosen?.offer.offerId).toBe('hats');
    expect(decision.propensity).toBeCloseTo(0.1 / 3, 10);
    const greedy = decideOffer(input({ explorationRate: 0.1 }));
    expect(greedy.propensity).toBeCloseTo(0.9 + 0.1 / 3, 10);
  });

  it('uses the page category for users without scores', () => {
    const decision = decideOffer(
      input({ scores: { source: 'fallback', products: new Map() }, context: { category: 'socks' } }),
    );
    expect(decision.chosen?.offer.offerId).toBe('socks');
  });

  it('returns no offer when nothing is eligible', () => {
    const decision = decideOffer(
      input({ offers: [offer({ offerId: 'x', endsAt: '2020-01-01T00:00:00Z' })] }),
    );
    expect(decision.chosen).toBeUndefined();
    expect(decision.source).toBe('fallback');
  });
});
