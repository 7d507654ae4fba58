import { ClientEvent, SCHEMA_VERSION } from '../events/clickstreamEvent';
import { cumulative, Random } from './random';
import {
  categoryAffinity,
  Device,
  devices,
  productAffinity,
  SimulatedProduct,
  SimulatedUser,
  taste,
  World,
} from './world';

/**
 * One browsing session of one simulated user, as the events a website would post. The funnel is
 * view → click → add to cart → purchase; each step's probability rises with the user's planted affinity
 * for the product, so the stream carries the planted preferences for models to recover.
 */

/** What the offer endpoint answered, reduced to what the simulated user reacts to. */
export interface OfferDecision {
  decisionId: string;
  source: string;
  offer: { offerId: string; productIds: readonly string[]; categories: readonly string[] } | null;
}

/** Where the user is when asking for an offer; sent along as the offer endpoint's context. */
export interface OfferContext {
  category?: string;
  page?: string;
  device?: string;
}

/** Asks the offer endpoint for the user's next offer; undefined when it could not answer. */
export type OfferRequester = (
  userId: string,
  context: OfferContext,
  signal: AbortSignal,
) => Promise<OfferDecision | undefined>;

export interface SessionOptions {
  /** Prefix of event and session ids; keeps ids of different runs apart. */
  runId: string;
  /** The event's timestamp given the session and the simulated time since the session began. */
  timestampFor: (sessionIndex: number, offsetMs: number) => string;
  requestOffer?: OfferRequester;
  signal: AbortSignal;
}

/** How strongly taste (vs popularity) steers what a user looks at. */
const TASTE_WEIGHT = 4;
const POPULARITY_WEIGHT = 0.6;
const MEAN_VIEWS_PER_SESSION = 4;
const MAX_VIEWS_PER_SESSION = 30;
const MEAN_SECONDS_BETWEEN_EVENTS = 20;
const referrers = ['https://www.google.com/', 'https://www.bing.com/', 'https://news.example/', ''];

export const funnel = {
  click: (affinity: number) => 0.05 + 0.55 * affinity,
  addToCart: (affinity: number) => 0.05 + 0.35 * affinity,
  purchase: (affinity: number) => 0.2 + 0.5 * affinity,
  offerClick: (affinity: number) => 0.02 + 0.6 * affinity * affinity,
  /** Users who do not click an offer sometimes close it explicitly. */
  offerDismiss: 0.3,
} as const;

/** The user who starts session `sessionIndex`: drawn by activity, so some users return often. */
export function sessionUser(world: World, sessionIndex: number): SimulatedUser {
  const random = Random.stream(world.seed, 'session-user', sessionIndex);
  return world.users[random.weightedIndex(world.userActivityTotals)] as SimulatedUser;
}

/** Planted affinity for an offer: the best of its products, else the best of its categories. */
export function offerAffinity(
  world: World,
  user: SimulatedUser,
  offer: { productIds: readonly string[]; categories: readonly string[] },
  productsById: ReadonlyMap<string, SimulatedProduct>,
): number {
  let best = 0;
  for (const productId of offer.productIds) {
    const product = productsById.get(productId);
    if (product) best = Math.max(best, productAffinity(user, product));
  }
  for (const category of offer.categories) best = Math.max(best, categoryAffinity(world, user, category));
  return best;
}

function browsingWeights(world: World, user: SimulatedUser): Float64Array {
  return cumulative(
    world.products.map(
      (p) => Math.pow(p.popularity, POPULARITY_WEIGHT) * Math.exp(TASTE_WEIGHT * taste(user, p)),
    ),
  );
}

export async function* simulateSession(
  world: World,
  sessionIndex: number,
  productsById: ReadonlyMap<string, SimulatedProduct>,
  options: SessionOptions,
): AsyncGenerator<ClientEvent> {
  const user = sessionUser(world, sessionIndex);
  // Separate streams, so that offer answers (which come from a server) never change which products the
  // user browses or how far down the funnel they go, and timestamps never change the content.
  const random = Random.stream(world.seed, 'session', sessionIndex);
  const offerRandom = Random.stream(world.seed, 'session-offer', sessionIndex);
  const clockRandom = Random.stream(world.seed, 'session-clock', sessionIndex);
  const weights = browsingWeights(world, user);
  const device: Device = random.chance(0.8) ? user.device : random.pick(devices);
  const referrer = random.pick(referrers);
  const sessionKey = sessionIndex.toString(36);
  const sessionId = `${options.runId}-s${sessionKey}`;
  let sequence = 0;
  let offsetMs = 0;

  const base = (product: SimulatedProduct | undefined, page: string) => {
    offsetMs += Math.round(clockRandom.exponential(MEAN_SECONDS_BETWEEN_EVENTS * 1000));
    const event = {
      schemaVersion: SCHEMA_VERSION as typeof SCHEMA_VERSION,
      eventId: `${options.runId}-${sessionKey}-${sequence}`,
      userId: user.userId,
      sessionId,
      timestamp: options.timestampFor(sessionIndex, offsetMs),
      device,
      page,
      ...(sequence === 0 && referrer !== '' ? { referrer } : {}),
      ...(product ? { category: product.category, price: product.price } : {}),
    };
    sequence++;
    return event;
  };

  /** The funnel for one product, drawn from `draws`; `viaOffer` tags the events with the offer that led here. */
  function* funnelFor(
    product: SimulatedProduct,
    draws: Random,
    viaOffer?: { offerId: string; decisionId: string },
  ): Generator<ClientEvent> {
    const affinity = productAffinity(user, product);
    const tag = viaOffer ?? {};
    const productPage = `/products/${product.productId}`;
    yield { ...base(product, productPage), type: 'product_view', productId: product.productId, ...tag };
    if (!draws.chance(funnel.click(affinity))) return;
    yield { ...base(product, productPage), type: 'product_click', productId: product.productId, ...tag };
    if (!draws.chance(funnel.addToCart(affinity))) return;
    yield { ...base(product, productPage), type: 'add_to_cart', productId: product.productId, ...tag };
    if (!draws.chance(funnel.purchase(affinity))) return;
    yield { ...base(product, '/checkout'), type: 'purchase', productId: product.productId, ...tag };
  }

  const views = Math.min(
    MAX_VIEWS_PER_SESSION,
    1 + Math.floor(random.exponential(MEAN_VIEWS_PER_SESSION - 1)),
  );
  for (let view = 0; view < views; view++) {
    const product = world.products[random.weightedIndex(weights)] as SimulatedProduct;
    yield* funnelFor(product, random);
    if (view === 0 && options.requestOffer && !options.signal.aborted) {
      const context = { category: product.category, page: `/products/${product.productId}`, device };
      const decision = await options.requestOffer(user.userId, context, options.signal);
      if (decision?.offer) yield* reactToOffer(decision.decisionId, decision.offer, product);
    }
  }

  function* reactToOffer(
    decisionId: string,
    offer: NonNullable<OfferDecision['offer']>,
    current: SimulatedProduct,
  ): Generator<ClientEvent> {
    const anchor = offer.productIds.find((id) => productsById.has(id));
    const anchorProduct = anchor === undefined ? undefined : productsById.get(anchor);
    const shown = { offerId: offer.offerId, decisionId };
    const tagged = anchor === undefined ? shown : { ...shown, productId: anchor };
    // The offer shows on the page the user is on.
    const page = `/products/${current.productId}`;
    yield { ...base(anchorProduct, page), type: 'offer_impression', ...tagged };
    if (offerRandom.chance(funnel.offerClick(offerAffinity(world, user, offer, productsById)))) {
      yield { ...base(anchorProduct, page), type: 'offer_click', ...tagged };
      const landing = anchorProduct ?? bestProductIn(offer.categories);
      if (landing) yield* funnelFor(landing, offerRandom, shown);
    } else if (offerRandom.chance(funnel.offerDismiss)) {
      yield { ...base(anchorProduct, page), type: 'offer_dismiss', ...tagged };
    }
  }

  /** Where a category offer lands: the user's favourite product of those categories. */
  function bestProductIn(categories: readonly string[]): SimulatedProduct | undefined {
    let best: SimulatedProduct | undefined;
    for (const product of world.products) {
      if (!categories.includes(product.category)) continue;
      if (!best || taste(user, product) > taste(user, best)) best = product;
    }
    return best;
  }
}
