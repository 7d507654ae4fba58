import {
  AFFINITY_HALF_LIFE_MS,
  applyNewEvents,
  applyToUserProfile,
  foldIntoOfferStats,
  foldIntoProductStats,
  foldIntoUserProfile,
  MAX_PROFILE_PRODUCTS,
  MAX_RECENT_EVENT_IDS,
  newOfferStats,
  newProductStats,
  newUserProfile,
  ProductStats,
  rollupKeys,
  UserProfile,
  utcTimestamp,
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

describe('event times', () => {
  const nine = '2026-11-20T09:00:00.000Z';
  const ten = '2026-11-20T10:00:00.000Z';

  it("are the events' timestamps, not the processing time, in new documents", () => {
    const late = [sequenced(1, event({ type: 'product_view', timestamp: nine }))];
    const stats = applyNewEvents<ProductStats>(
      undefined,
      late,
      (first) => newProductStats('p1', first.timestamp),
      foldIntoProductStats,
      ten,
    )!;
    expect(stats).toMatchObject({ lastEventAt: nine, updatedAt: ten });
    const { profile } = applyToUserProfile(undefined, late, ten);
    expect(profile).toMatchObject({ firstSeenAt: nine, lastSeenAt: nine, decayedTo: nine, updatedAt: ten });
  });

  it('keep the latest and earliest event, whatever the order events arrive in', () => {
    const { profile: first } = applyToUserProfile(
      undefined,
      [sequenced(1, event({ type: 'product_view', timestamp: ten }))],
      ten,
    );
    const { profile } = applyToUserProfile(
      first,
      [sequenced(2, event({ type: 'product_view', timestamp: nine }))],
      '2026-11-20T11:00:00.000Z',
    );
    expect(profile).toMatchObject({ firstSeenAt: nine, lastSeenAt: ten });
  });
});

describe('rollupKeys', () => {
  it('files an event under its UTC hour and day whatever offset its timestamp carries', () => {
    const keys = rollupKeys(event({ type: 'product_view', timestamp: '2026-01-01T23:30:00-05:00' }));
    expect(keys).toEqual([
      { id: 'hour:2026-01-02T04', date: '2026-01-02', grain: 'hour', hour: 4 },
      { id: 'day:2026-01-02', date: '2026-01-02', grain: 'day', hour: null },
    ]);
  });

  it('keeps canonical UTC timestamps as they are', () => {
    expect(utcTimestamp('2026-01-01T23:30:00.000Z')).toBe('2026-01-01T23:30:00.000Z');
    expect(utcTimestamp('2026-01-01T23:30:00+05:30')).toBe('2026-01-01T18:00:00.000Z');
    expect(utcTimestamp('2026-01-01T23:30Z')).toBe('2026-01-01T23:30:00.000Z');
  });
});

describe('applyToUserProfile: copies of an event', () => {
  const view = (eventId: string) => event({ type: 'product_view', eventId });
  const views = (profile: UserProfile | undefined) => profile?.products.p1?.views;

  it('counts an eventId once though it comes at two positions, in one batch or two', () => {
    const batch = [sequenced(1, view('a')), sequenced(2, view('b')), sequenced(3, view('a'))];
    const first = applyToUserProfile(undefined, batch, t0);
    expect(views(first.profile)).toBe(2);
    expect(first.duplicates).toEqual([batch[2]]);
    expect(first.profile!.watermarks['0']).toBe(eventPosition(3, 0)); // past the copy too

    // The client retried after an ambiguous failure: its events are on the hub again, later.
    const retry = [sequenced(4, view('a')), sequenced(5, view('b')), sequenced(6, view('c'))];
    const second = applyToUserProfile(first.profile, retry, t0);
    expect(views(second.profile)).toBe(3);
    expect(second.duplicates).toEqual(retry.slice(0, 2));
    expect(second.profile!.eventCounts.product_view).toBe(3);
  });

  it('leaves distinct eventIds alone, though the events are otherwise the same', () => {
    const batch = [1, 2, 3].map((seq) => sequenced(seq, view(`same-click-${seq}`)));
    const { profile, duplicates } = applyToUserProfile(undefined, batch, t0);
    expect(duplicates).toEqual([]);
    expect(views(profile)).toBe(3);
    expect(profile!.duplicatePositions).toEqual({});
  });

  it('decides the same on every delivery of a batch, though the first one already wrote the profile', () => {
    const before = applyToUserProfile(undefined, [sequenced(1, view('a'))], t0).profile;
    const batch = [
      sequenced(2, view('a')), // a retry of the event at 1
      sequenced(3, view('b')),
      sequenced(3, view('b'), '0', 1), // the same event twice in one request
      sequenced(4, view('c')),
    ];
    const first = applyToUserProfile(before, batch, t0);
    expect(first.duplicates).toEqual([batch[0], batch[2]]);
    // Delivered again, as it was or with other boundaries: the profile has nothing new, and the
    // copies are the same events (not 'b' and 'c', whose ids the profile now also knows).
    const again = applyToUserProfile(first.profile, batch, t0);
    expect(again).toEqual({ profile: undefined, duplicates: [batch[0], batch[2]] });
    const longer = [...batch.slice(1), sequenced(5, view('a')), sequenced(6, view('d'))];
    const third = applyToUserProfile(first.profile, longer, t0);
    expect(third.duplicates).toEqual([longer[1], longer[3]]);
    expect(views(third.profile)).toBe(4); // a, b, c, d
  });

  it('keeps one range per run of copies, so a retried request costs the profile a pair of numbers', () => {
    const originals = [0, 1, 2, 3].map((index) => sequenced(7, view(`r${index}`), '0', index));
    const retried = [0, 1, 2, 3].map((index) => sequenced(9, view(`r${index}`), '0', index));
    const { profile } = applyToUserProfile(undefined, [...originals, ...retried], t0);
    expect(profile!.duplicatePositions).toEqual({ '0': [[eventPosition(9, 0), eventPosition(9, 3)]] });
  });

  it('remembers the last MAX_RECENT_EVENT_IDS ids: an older one counts again (the window)', () => {
    const many = Array.from({ length: MAX_RECENT_EVENT_IDS + 1 }, (_, i) => sequenced(i + 1, view(`w${i}`)));
    const { profile } = applyToUserProfile(undefined, many, t0);
    expect(profile!.recentEventIds).toHaveLength(MAX_RECENT_EVENT_IDS);
    const late = [sequenced(1000, view('w0')), sequenced(1001, view('w1'))];
    expect(applyToUserProfile(profile, late, t0).duplicates).toEqual([late[1]]);
  });

  it('reads profiles written before copies were recognised', () => {
    const old: UserProfile = { ...newUserProfile('u1', t0), watermarks: { '0': eventPosition(1, 0) } };
    delete old.recentEventIds;
    delete old.duplicatePositions;
    const { profile, duplicates } = applyToUserProfile(
      old,
      [sequenced(1, view('x')), sequenced(2, view('y'))],
      t0,
    );
    expect(duplicates).toEqual([]);
    expect(profile!.recentEventIds).toEqual(['y']);
  });
});
