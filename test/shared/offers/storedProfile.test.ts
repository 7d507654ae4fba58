import { foldIntoUserProfile, newUserProfile, UserProfile } from '../../../shared/aggregation/documents';
import { ClickstreamEvent } from '../../../shared/events/clickstreamEvent';
import { InvalidProfileError, parseStoredProfile } from '../../../shared/offers/storedProfile';

const at = '2026-11-24T12:00:00.000Z';

/** A profile as the aggregation writes it, as Cosmos DB returns it (JSON, with its system fields). */
function stored(): Record<string, unknown> {
  const profile: UserProfile = newUserProfile('u1', at);
  const events: ClickstreamEvent[] = [
    { type: 'product_view', productId: 'p1', category: 'shoes' },
    { type: 'purchase', productId: 'p2', category: 'hats' },
    { type: 'offer_impression', offerId: 'o1' },
    { type: 'offer_dismiss', offerId: 'o1' },
  ].map((event, i) => ({
    ...event,
    eventId: `e${i}`,
    userId: 'u1',
    receivedAt: at,
    timestamp: at,
  })) as ClickstreamEvent[];
  for (const event of events) foldIntoUserProfile(profile, event);
  profile.recentEventIds = events.map((event) => event.eventId);
  return { ...(JSON.parse(JSON.stringify(profile)) as object), _rid: 'r', _etag: '"e"', _ts: 1 };
}

function problemOf(document: unknown): { field: string; message: string } {
  try {
    parseStoredProfile('u1', document);
  } catch (error) {
    if (error instanceof InvalidProfileError) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('the profile was accepted');
}

describe('parseStoredProfile', () => {
  it('accepts a profile the aggregation wrote, and returns that document itself, not a copy', () => {
    const document = stored();
    const profile = parseStoredProfile('u1', document);
    expect(profile).toBe(document);
    expect(profile?.products.p1?.affinity).toBeGreaterThan(0);
    expect(profile?.offers.o1).toMatchObject({ impressions: 1, dismissals: 1 });
    expect(parseStoredProfile('u1', undefined)).toBeUndefined();
    expect(parseStoredProfile('u1', null)).toBeUndefined();
  });

  it('accepts event types this build does not know (a profile written by a newer one)', () => {
    const document = stored();
    document.eventCounts = { product_view: 1, purchase: 1, wishlist_add: 3 };
    expect(parseStoredProfile('u1', document)).toBe(document);
  });

  it('ignores the fields the offer path does not read', () => {
    const document = stored();
    delete document.watermarks;
    document.recentEventIds = 'not a list';
    document.duplicatePositions = [[1]];
    document.recentProducts = null;
    (document.products as Record<string, Record<string, unknown>>).p1!.lastAt = 5;
    expect(parseStoredProfile('u1', document)).toBe(document);
  });

  it.each<[string, (document: Record<string, unknown>) => void, string, string]>([
    [
      'an affinity that is not a number',
      (d) => ((d.products as Record<string, Record<string, unknown>>).p1!.affinity = '0.5'),
      'products.p1.affinity',
      'expected number, received string',
    ],
    ['no eventCounts', (d) => delete d.eventCounts, 'eventCounts', 'expected object, received undefined'],
    [
      'an event count that is not a number',
      (d) => (d.eventCounts = { product_view: null }),
      'eventCounts.product_view',
      'expected number, received null',
    ],
    [
      'a category that is not an object',
      (d) => ((d.categories as Record<string, unknown>).shoes = 3),
      'categories.shoes',
      'expected object, received number',
    ],
    [
      'an offer without dismissals',
      (d) => delete (d.offers as Record<string, Record<string, unknown>>).o1!.dismissals,
      'offers.o1.dismissals',
      'expected number, received undefined',
    ],
    [
      'a purchased product that is not a string',
      (d) => (d.purchasedProducts = ['p2', 7]),
      'purchasedProducts[1]',
      'expected string, received number',
    ],
    ['products as a list', (d) => (d.products = []), 'products', 'expected object, received array'],
  ])('names the first invalid field: %s', (_, edit, field, problem) => {
    const document = stored();
    edit(document);
    expect(problemOf(document)).toEqual({
      field,
      message: `the stored profile of user u1 is invalid: ${field} ${problem}`,
    });
  });

  it('names the document when it is not an object at all', () => {
    expect(problemOf('a string')).toEqual({
      field: '(document)',
      message: 'the stored profile of user u1 is invalid: (document) expected object, received string',
    });
  });
});
