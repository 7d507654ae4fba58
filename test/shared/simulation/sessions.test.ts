import type { ClientEvent } from '../../../shared/events/clickstreamEvent';
import { OfferRequester, sessionUser, simulateSession } from '../../../shared/simulation/sessions';
import { generateWorld, SimulatedProduct } from '../../../shared/simulation/world';

const world = generateWorld(17, { users: 30, products: 40, categories: 6 });
const productsById = new Map<string, SimulatedProduct>(world.products.map((p) => [p.productId, p]));
const never = new AbortController().signal;
const timestampFor = (session: number, offsetMs: number) =>
  new Date(Date.UTC(2026, 0, 1) + session * 1000 + offsetMs).toISOString();

async function collect(sessionIndex: number, requestOffer?: OfferRequester): Promise<ClientEvent[]> {
  const events: ClientEvent[] = [];
  const options = { runId: 'r', timestampFor, signal: never, ...(requestOffer ? { requestOffer } : {}) };
  for await (const event of simulateSession(world, sessionIndex, productsById, options)) events.push(event);
  return events;
}

/** An offer for a favourite category of the session's user, so that clicks are likely. */
function favouriteOffer(sessionIndex: number): OfferRequester {
  const user = sessionUser(world, sessionIndex);
  return (userId) => {
    expect(userId).toBe(user.userId);
    return Promise.resolve({
      decisionId: `d${sessionIndex}`,
      source: 'model',
      offer: { offerId: 'o1', productIds: [], categories: [user.favouriteCategories[0]!] },
    });
  };
}

describe('simulateSession', () => {
  it('browses the same products whatever the offer endpoint answers', async () => {
    let offerClicks = 0;
    for (let session = 0; session < 60; session++) {
      const without = await collect(session);
      const withOffers = await collect(session, favouriteOffer(session));
      const browsing = (events: ClientEvent[]) =>
        events.filter((e) => e.decisionId === undefined).map((e) => `${e.type}:${e.productId}`);
      expect(browsing(withOffers)).toEqual(browsing(without));
      offerClicks += withOffers.filter((e) => e.type === 'offer_click').length;
    }
    // The comparison covers sessions where offers led to more events.
    expect(offerClicks).toBeGreaterThan(5);
  });

  it('asks for one offer per session, with where the user is, and answers it by decisionId', async () => {
    const asked: Array<{ userId: string; context: unknown }> = [];
    const events = await collect(3, (userId, context) => {
      asked.push({ userId, context });
      return Promise.resolve({
        decisionId: 'dec-3',
        source: 'cold-start',
        offer: { offerId: 'o9', productIds: ['p0002'], categories: [] },
      });
    });
    expect(asked).toHaveLength(1);
    const first = events[0]!;
    expect(asked[0]).toEqual({
      userId: first.userId,
      context: { category: first.category, page: `/products/${first.productId}`, device: first.device },
    });
    const impression = events.find((e) => e.type === 'offer_impression');
    expect(impression).toMatchObject({ offerId: 'o9', decisionId: 'dec-3', productId: 'p0002' });
  });

  it('goes on browsing when the offer endpoint has nothing or fails', async () => {
    const without = await collect(5);
    expect(await collect(5, () => Promise.resolve(undefined))).toEqual(without);
    expect(
      await collect(5, () => Promise.resolve({ decisionId: 'd', source: 'fallback', offer: null })),
    ).toEqual(without);
  });
});
