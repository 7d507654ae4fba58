import { ClickstreamEvent, EventType } from '../events/clickstreamEvent';
import { SequencedEvent } from './triggerBatch';

/**
 * The aggregate documents and how one event folds into each. Every document carries `watermarks`: per hub
 * partition, the position of the last event folded in (shared/events/hubMessage.ts). An event at or below
 * its partition's watermark has been applied already and is skipped, which makes redelivery harmless (see
 * docs/aggregation.md).
 */
export interface AggregateDocument {
  id: string;
  watermarks: Record<string, number>;
  updatedAt: string;
}

/** How strongly each interaction says "I like this product". */
export const interactionWeights: Record<EventType, number> = {
  product_view: 1,
  product_click: 2,
  add_to_cart: 4,
  purchase: 8,
  offer_impression: 0,
  offer_click: 2,
  offer_dismiss: 0,
};

/** Affinity halves every week without new interactions. */
export const AFFINITY_HALF_LIFE_MS = 7 * 24 * 3600 * 1000;
export const MAX_PROFILE_PRODUCTS = 200;
export const MAX_PROFILE_CATEGORIES = 50;
export const MAX_PROFILE_OFFERS = 50;
export const MAX_RECENT_ITEMS = 20;
export const MAX_PURCHASED = 200;

export interface ProductInteraction {
  views: number;
  clicks: number;
  carts: number;
  purchases: number;
  /** Time-decayed interaction weight as of the profile's `decayedTo`. */
  affinity: number;
  lastAt: string;
}

export interface OfferInteraction {
  impressions: number;
  clicks: number;
  dismissals: number;
  lastAt: string;
}

export interface UserProfile extends AggregateDocument {
  userId: string;
  eventCounts: Partial<Record<EventType, number>>;
  products: Record<string, ProductInteraction>;
  categories: Record<string, { affinity: number; events: number }>;
  offers: Record<string, OfferInteraction>;
  /** Most recent first, unique. */
  recentProducts: string[];
  purchasedProducts: string[];
  /** The instant all `affinity` values are decayed to. */
  decayedTo: string;
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface ProductStats extends AggregateDocument {
  productId: string;
  category?: string;
  views: number;
  clicks: number;
  carts: number;
  purchases: number;
  revenue: number;
  offerClicks: number;
  lastEventAt: string;
}

export interface OfferStats extends AggregateDocument {
  offerId: string;
  impressions: number;
  clicks: number;
  dismissals: number;
  /** clicks / impressions, kept for Power BI and exploration. */
  clickThroughRate: number;
  lastEventAt: string;
}

export type RollupGrain = 'hour' | 'day';

/** One flat row per hour and per day, easy for Power BI. */
export interface Rollup extends AggregateDocument {
  date: string;
  grain: RollupGrain;
  /** 0-23 for hourly rows; null for daily rows. */
  hour: number | null;
  events: number;
  views: number;
  clicks: number;
  carts: number;
  purchases: number;
  revenue: number;
  impressions: number;
  offerClicks: number;
  dismissals: number;
  /** Distinct users are not additive across rows, so we count active users per row approximately. */
}

function decayFactor(fromMs: number, toMs: number): number {
  return Math.pow(0.5, (toMs - fromMs) / AFFINITY_HALF_LIFE_MS);
}

/**
 * Keeps an affinity map bounded: when it grows past `max`, the weakest entries go. Weights are
 * comparable because they are all decayed to the same instant.
 */
function pruneByAffinity<T extends { affinity: number }>(map: Record<string, T>, max: number): void {
  const keys = Object.keys(map);
  if (keys.length <= max) return;
  keys
    .sort((a, b) => (map[a]?.affinity ?? 0) - (map[b]?.affinity ?? 0))
    .slice(0, keys.length - max)
    .forEach((key) => delete map[key]);
}

export function newUserProfile(userId: string, at: string): UserProfile {
  return {
    id: userId,
    userId,
    watermarks: {},
    updatedAt: at,
    eventCounts: {},
    products: {},
    categories: {},
    offers: {},
    recentProducts: [],
    purchasedProducts: [],
    decayedTo: at,
    firstSeenAt: at,
    lastSeenAt: at,
  };
}

/** Brings every affinity forward to `toMs` (never backwards: late events are discounted instead). */
function decayProfileTo(profile: UserProfile, toMs: number): void {
  const fromMs = Date.parse(profile.decayedTo);
  if (toMs <= fromMs) return;
  const factor = decayFactor(fromMs, toMs);
  for (const product of Object.values(profile.products)) product.affinity *= factor;
  for (const category of Object.values(profile.categories)) category.affinity *= factor;
  profile.decayedTo = new Date(toMs).toISOString();
}

export function foldIntoUserProfile(profile: UserProfile, event: ClickstreamEvent): void {
  const atMs = Date.parse(event.timestamp);
  decayProfileTo(profile, atMs);
  // A late event counts for what its weight would be worth now.
  const weight =
    interactionWeights[event.type] * decayFactor(atMs, Math.max(atMs, Date.parse(profile.decayedTo)));
  profile.eventCounts[event.type] = (profile.eventCounts[event.type] ?? 0) + 1;
  if (event.timestamp > profile.lastSeenAt) profile.lastSeenAt = event.timestamp;
  if (event.timestamp < profile.firstSeenAt) profile.firstSeenAt = event.timestamp;

  if (event.offerId !== undefined && event.type.startsWith('offer_')) {
    const offer = (profile.offers[event.offerId] ??= {
      impressions: 0,
      clicks: 0,
      dismissals: 0,
      lastAt: event.timestamp,
    });
    if (event.type === 'offer_impression') offer.impressions += 1;
    if (event.type === 'offer_click') offer.clicks += 1;
    if (event.type === 'offer_dismiss') offer.dismissals += 1;
    if (event.timestamp > offer.lastAt) offer.lastAt = event.timestamp;
    const offerKeys = Object.keys(profile.offers);
    if (offerKeys.length > MAX_PROFILE_OFFERS) {
      offerKeys
        .sort((a, b) => (profile.offers[a]?.lastAt ?? '').localeCompare(profile.offers[b]?.lastAt ?? ''))
        .slice(0, offerKeys.length - MAX_PROFILE_OFFERS)
        .forEach((key) => delete profile.offers[key]);
    }
  }

  if (event.productId !== undefined && weight > 0) {
    const product = (profile.products[event.productId] ??= {
      views: 0,
      clicks: 0,
      carts: 0,
      purchases: 0,
      affinity: 0,
      lastAt: event.timestamp,
    });
    if (event.type === 'product_view') product.views += 1;
    if (event.type === 'product_click' || event.type === 'offer_click') product.clicks += 1;
    if (event.type === 'add_to_cart') product.carts += 1;
    if (event.type === 'purchase') product.purchases += 1;
    product.affinity += weight;
    if (event.timestamp > product.lastAt) product.lastAt = event.timestamp;
    pruneByAffinity(profile.products, MAX_PROFILE_PRODUCTS);

    profile.recentProducts = [
      event.productId,
      ...profile.recentProducts.filter((p) => p !== event.productId),
    ].slice(0, MAX_RECENT_ITEMS);
    if (event.type === 'purchase' && !profile.purchasedProducts.includes(event.productId)) {
      profile.purchasedProducts = [event.productId, ...profile.purchasedProducts].slice(0, MAX_PURCHASED);
    }
  }
  if (event.category !== undefined && weight > 0) {
    const category = (profile.categories[event.category] ??= { affinity: 0, events: 0 });
    category.affinity += weight;
    category.events += 1;
    pruneByAffinity(profile.categories, MAX_PROFILE_CATEGORIES);
  }
}

export function newProductStats(productId: string, at: string): ProductStats {
  return {
    id: productId,
    productId,
    watermarks: {},
    updatedAt: at,
    views: 0,
    clicks: 0,
    carts: 0,
    purchases: 0,
    revenue: 0,
    offerClicks: 0,
    lastEventAt: at,
  };
}

export function foldIntoProductStats(stats: ProductStats, event: ClickstreamEvent): void {
  if (event.category !== undefined) stats.category = event.category;
  if (event.type === 'product_view') stats.views += 1;
  if (event.type === 'product_click') stats.clicks += 1;
  if (event.type === 'add_to_cart') stats.carts += 1;
  if (event.type === 'purchase') {
    stats.purchases += 1;
    stats.revenue += event.price ?? 0;
  }
  if (event.type === 'offer_click') stats.offerClicks += 1;
  if (event.timestamp > stats.lastEventAt) stats.lastEventAt = event.timestamp;
}

export function newOfferStats(offerId: string, at: string): OfferStats {
  return {
    id: offerId,
    offerId,
    watermarks: {},
    updatedAt: at,
    impressions: 0,
    clicks: 0,
    dismissals: 0,
    clickThroughRate: 0,
    lastEventAt: at,
  };
}

export function foldIntoOfferStats(stats: OfferStats, event: ClickstreamEvent): void {
  if (event.type === 'offer_impression') stats.impressions += 1;
  if (event.type === 'offer_click') stats.clicks += 1;
  if (event.type === 'offer_dismiss') stats.dismissals += 1;
  stats.clickThroughRate = stats.impressions > 0 ? stats.clicks / stats.impressions : 0;
  if (event.timestamp > stats.lastEventAt) stats.lastEventAt = event.timestamp;
}

export function rollupKeys(
  event: ClickstreamEvent,
): Array<{ id: string; date: string; grain: RollupGrain; hour: number | null }> {
  const date = event.timestamp.slice(0, 10);
  const hour = Number(event.timestamp.slice(11, 13));
  return [
    { id: `hour:${date}T${String(hour).padStart(2, '0')}`, date, grain: 'hour', hour },
    { id: `day:${date}`, date, grain: 'day', hour: null },
  ];
}

export function newRollup(
  key: { id: string; date: string; grain: RollupGrain; hour: number | null },
  at: string,
): Rollup {
  return {
    ...key,
    watermarks: {},
    updatedAt: at,
    events: 0,
    views: 0,
    clicks: 0,
    carts: 0,
    purchases: 0,
    revenue: 0,
    impressions: 0,
    offerClicks: 0,
    dismissals: 0,
  };
}

export function foldIntoRollup(rollup: Rollup, event: ClickstreamEvent): void {
  rollup.events += 1;
  if (event.type === 'product_view') rollup.views += 1;
  if (event.type === 'product_click') rollup.clicks += 1;
  if (event.type === 'add_to_cart') rollup.carts += 1;
  if (event.type === 'purchase') {
    rollup.purchases += 1;
    rollup.revenue += event.price ?? 0;
  }
  if (event.type === 'offer_impression') rollup.impressions += 1;
  if (event.type === 'offer_click') rollup.offerClicks += 1;
  if (event.type === 'offer_dismiss') rollup.dismissals += 1;
}

/**
 * Folds the events that are new to this document (above its partition watermark) and advances the
 * watermark. Returns undefined when every event was applied before: nothing to write.
 */
export function applyNewEvents<T extends AggregateDocument>(
  current: T | undefined,
  events: readonly SequencedEvent[],
  create: () => T,
  fold: (doc: T, event: ClickstreamEvent) => void,
  now: string,
): T | undefined {
  const doc: T = current ? structuredClone<T>(current) : create();
  let applied = 0;
  for (const sequenced of events) {
    const watermark = doc.watermarks[sequenced.partitionId] ?? -1;
    if (sequenced.position <= watermark) continue;
    fold(doc, sequenced.event);
    doc.watermarks[sequenced.partitionId] = sequenced.position;
    applied += 1;
  }
  if (applied === 0) return undefined;
  doc.updatedAt = now;
  return doc;
}
