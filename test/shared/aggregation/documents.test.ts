import {
  AFFINITY_HALF_LIFE_MS,
  applyNewEvents,
  foldIntoOfferStats,
  foldIntoUserProfile,
  MAX_PROFILE_PRODUCTS,
  newOfferStats,
  newUserProfile,
  UserProfile,
} from '../../../shared/aggregation/documents';
import { ClickstreamEvent } from '../../../shared/events/clickstreamEvent';
import { SequencedEvent } from '../../../shared/aggregation/triggerBatch';
import { eventPosition } from '../../../shared/events/hubMessage';

const t0 = '2026-11-20T10:00:00.000Z';

function event(partial: Partial<ClickstreamEvent> & Pick<ClickstreamEvent, 'type'>): ClickstreamEvent {
  return {
    schemaVersion: 1,
    eventId: `e-${Math.random()}`,
    userId: 'u1',
    productId: 'p1',
    receivedAt: t0,
    timestamp: t0,
    ...partial,
  } as ClickstreamEvent;
}

function sequenced(seq: number, e: ClickstreamEvent, partitionId = '0', index = 0): SequencedEvent {
  return {
    partitionId,
    sequenceNumber: seq,
    position: eventPosition(seq, index),
    enqueuedTime: e.timestamp,
    event: e,
  };
}

describe('foldIntoUserProfile', () => {
  it('counts interactions and weights them into affinity', () => {
    const profile = newUserProfile('u1', t0);
    foldIntoUserProfile(profile, event({ type: 'product_view', category: 'shoes' }));
    foldIntoUserProfile(profile, event({ type: 'purchase', category: 'shoes', price: 10 }));
    expect(profile.products.p1).toMatchObject({ views: 1, purchases: 1, affinity: 9 });
    expect(profile.categories.shoes).toEqual({ affinity: 9, events: 2 });
    expect(profile.purchasedProducts).toEqual(['p1']);
    expect(profile.recentProducts).toEqual(['p1']);
    expect(profile.eventCounts).toEqual({ product_view: 1, purchase: 1 });
  });

  it('halves affinity after one half-life', () => {
    const profile = newUserProfile('u1', t0);
    foldIntoUserProfile(profile, event({ type: 'product_click', productId: 'old' }));
    const later = new Date(Date.parse(t0) + AFFINITY_HALF_LIFE_MS).toISOString();
    foldIntoUserProfile(profile, event({ type: 'product_view', productId: 'new', timestamp: later }));
    expect(profile.products.old!.affinity).toBeCloseTo(1, 6);
    expect(profile.products.new!.affinity).toBeCloseTo(1, 6);
    // A late event is discounted to what it is worth now, not counted at full weight.
    foldIntoUserProfile(profile, event({ type: 'product_click', productId: 'late', timestamp: t0 }));
    expect(profile.products.late!.affinity).toBeCloseTo(1, 6);
  });

  it('keeps the profile bounded', () => {
    const profile = newUserProfile('u1', t0);
    for (let i = 0; i < MAX_PROFILE_PRODUCTS + 50; i++) {
      foldIntoUserProfile(
        profile,
        event({ type: i % 2 === 0 ? 'product_view' : 'add_to_cart', productId: `p${i}` }),
      );
    }
    expect(Object.keys(profile.products)).toHaveLength(MAX_PROFILE_PRODUCTS);
    expect(profile.recentProducts).toHaveLength(20);
    // The weakest (views) went first.
    expect(profile.products.p1).toBeDefined();
  });

  it('tracks offer impressions, clicks and dismissals per user', () => {
    const profile = newUserProfile('u1', t0);
    foldIntoUserProfile(
      profile,
      event({ type: 'offer_impression', offerId: 'o1', decisionId: 'd1', productId: undefined }),
    );
    foldIntoUserProfile(
      profile,
      event({ type: 'offer_click', offerId: 'o1', decisionId: 'd1', productId: 'p9' }),
    );
    expect(profile.offers.o1).toMatchObject({ impressions: 1, clicks: 1, dismissals: 0 });
    expect(profile.products.p9!.clicks).toBe(1);
  });
});

describe('applyNewEvents', () => {
  const fold = (doc: UserProfile, e: ClickstreamEvent) => foldIntoUserProfile(doc, e);
  const create = () => newUserProfile('u1', t0);
  const batch = [1, 2, 3].map((seq) => sequenced(seq, event({ type: 'product_view' })));

  it('applies each event once: a redelivered batch changes nothing', () => {
    const first = applyNewEvents(undefined, batch, create, fold, t0)!;
    expect(first.products.p1!.views).toBe(3);
    expect(first.watermarks).toEqual({ '0': eventPosition(3, 0) });
    expect(applyNewEvents(first, batch, create, fold, t0)).toBeUndefined();
  });

  it('applies only the new part of an overlapping batch', () => {
    const first = applyNewEvents(undefined, batch.slice(0, 2), create, fold, t0)!;
    const second = applyNewEvents(first, batch, create, fold, t0)!;
    expect(second.products.p1!.views).toBe(3);
    expect(second.watermarks['0']).toBe(eventPosition(3, 0));
    expect(first.products.p1!.views).toBe(2); // the input document is not mutated
  });

  it('keeps a watermark per partition', () => {
    const a = applyNewEvents(
      undefined,
      [sequenced(5, event({ type: 'product_view' }), '0')],
      create,
      fold,
      t0,
    )!;
    const b = applyNewEvents(a, [sequenced(1, event({ type: 'product_view' }), '1')], create, fold, t0)!;
    expect(b.watermarks).toEqual({ '0': eventPosition(5, 0), '1': eventPosition(1, 0) });
    expect(b.products.p1!.views).toBe(2);
  });

  it('applies each event of one message, and none of them again when the message comes back', () => {
    // Three events that travelled in message 8, then the next message.
    const message = [0, 1, 2].map((index) => sequenced(8, event({ type: 'product_view' }), '0', index));
    const first = applyNewEvents(undefined, message, create, fold, t0)!;
    expect(first.products.p1!.views).toBe(3);
    expect(first.watermarks).toEqual({ '0': eventPosition(8, 2) });
    expect(applyNewEvents(first, message, create, fold, t0)).toBeUndefined();
    const next = [...message, sequenced(9, event({ type: 'product_view' }))];
    expect(applyNewEvents(first, next, create, fold, t0)!.products.p1!.views).toBe(4);
  });
});

describe('foldIntoOfferStats', () => {
  it('keeps the click-through rate in step', () => {
    const stats = newOfferStats('o1', t0);
    foldIntoOfferStats(stats, event({ type: 'offer_impression', offerId: 'o1', decisionId: 'd' }));
    foldIntoOfferStats(stats, event({ type: 'offer_impression', offerId: 'o1', decisionId: 'd' }));
    foldIntoOfferStats(stats, event({ type: 'offer_click', offerId: 'o1', decisionId: 'd' }));
    expect(stats).toMatchObject({ impressions: 2, clicks: 1, clickThroughRate: 0.5 });
  });
});
