import { ClickstreamEvent, EventType } from '../events/clickstreamEvent';
import { SequencedEvent } from './triggerBatch';

/**
 * The aggregate documents and how one event folds into each. Every document carries `watermarks`: per hub
 * partition, the position of the last event folded in (shared/events/hubMessage.ts). An event at or below
 * its partition's watermark has been applied already and is skipped, which makes redelivery harmless (see
 * docs/aggregation.md). The user profile also remembers recent event ids, so that a copy of an event (a
 * client's retry, at another position) is recognised and counted nowhere (`applyToUserProfile`).
 *
 * The folds compare timestamps as strings, so they expect them in the canonical UTC form
 * (`utcTimestamp`); aggregateBatch normalises every event's timestamp before folding.
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
/**
 * How many event ids a profile remembers for recognising copies. A client retries within seconds to
 * minutes, during which one visitor sends a handful of events; 200 leaves a wide margin while keeping the
 * profile, which the offer function reads on every request, small (about 10 KB at 50 characters an id).
 */
export const MAX_RECENT_EVENT_IDS = 200;

/** Positions, as inclusive ranges [first, last], in one partition. */
export type PositionRanges = Array<[number, number]>;

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
  /**
   * The ids of the last MAX_RECENT_EVENT_IDS events folded in, oldest first. A later event with one of
   * these ids is a copy and is not counted. Absent in profiles written before copies were recognised.
   */
  recentEventIds?: string[];
  /**
   * Per partition, the positions of the events of the latest batch that were skipped as copies. A
   * redelivered batch finds its events at or below the watermark, where `recentEventIds` cannot tell an
   * original (whose id it records) from its copy: this repeats the decision taken the first time.
   */
  duplicatePositions?: Record<string, PositionRanges>;
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

/**
 * The timestamp in the canonical UTC form `YYYY-MM-DDTHH:mm:ss.sssZ`, which ingest stamps. Other
 * producers may send an offset or another precision (the consumer's schema accepts both), which neither
 * sorts as a string nor slices into a UTC hour.
 */
export function utcTimestamp(timestamp: string): string {
  return timestamp.length === 24 && timestamp.endsWith('Z') ? timestamp : new Date(timestamp).toISOString();
}

/**
 * `firstEventAt`: the timestamp of the first event to be folded in. The event times start there, not at
 * the processing time, which is later than every event (and `updatedAt` is set again when it is written).
 */
export function newUserProfile(userId: string, firstEventAt: string): UserProfile {
  return {
    id: userId,
    userId,
    watermarks: {},
    updatedAt: firstEventAt,
    eventCounts: {},
    products: {},
    categories: {},
    offers: {},
    recentProducts: [],
    purchasedProducts: [],
    decayedTo: firstEventAt,
    firstSeenAt: firstEventAt,
    lastSeenAt: firstEventAt,
    recentEventIds: [],
    duplicatePositions: {},
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

/** `firstEventAt`: as for newUserProfile. */
export function newProductStats(productId: string, firstEventAt: string): ProductStats {
  return {
    id: productId,
    productId,
    watermarks: {},
    updatedAt: firstEventAt,
    views: 0,
    clicks: 0,
    carts: 0,
    purchases: 0,
    revenue: 0,
    offerClicks: 0,
    lastEventAt: firstEventAt,
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

/** `firstEventAt`: as for newUserProfile. */
export function newOfferStats(offerId: string, firstEventAt: string): OfferStats {
  return {
    id: offerId,
    offerId,
    watermarks: {},
    updatedAt: firstEventAt,
    impressions: 0,
    clicks: 0,
    dismissals: 0,
    clickThroughRate: 0,
    lastEventAt: firstEventAt,
  };
}

export function foldIntoOfferStats(stats: OfferStats, event: ClickstreamEvent): void {
  if (event.type === 'offer_impression') stats.impressions += 1;
  if (event.type === 'offer_click') stats.clicks += 1;
  if (event.type === 'offer_dismiss') stats.dismissals += 1;
  stats.clickThroughRate = stats.impressions > 0 ? stats.clicks / stats.impressions : 0;
  if (event.timestamp > stats.lastEventAt) stats.lastEventAt = event.timestamp;
}

/** The UTC hour and day of the event's timestamp, whatever offset it was written with. */
export function rollupKeys(
  event: ClickstreamEvent,
): Array<{ id: string; date: string; grain: RollupGrain; hour: number | null }> {
  const utc = utcTimestamp(event.timestamp);
  const date = utc.slice(0, 10);
  const hour = Number(utc.slice(11, 13));
  return [
    { id: `hour:${date}T${String(hour).padStart(2, '0')}`, date, grain: 'hour', hour },
    { id: `day:${date}`, date, grain: 'day', hour: null },
  ];
}

export function newRollup(
  key: { id: string; date: string; grain: RollupGrain; hour: number | null },
  firstEventAt: string,
): Rollup {
  return {
    ...key,
    watermarks: {},
    updatedAt: firstEventAt,
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
 * watermark. A new document is created from the first event it folds in. Returns undefined when every
 * event was applied before: nothing to write.
 */
export function applyNewEvents<T extends AggregateDocument>(
  current: T | undefined,
  events: readonly SequencedEvent[],
  create: (first: ClickstreamEvent) => T,
  fold: (doc: T, event: ClickstreamEvent) => void,
  now: string,
): T | undefined {
  let doc: T | undefined;
  for (const sequenced of events) {
    const watermark = (doc ?? current)?.watermarks[sequenced.partitionId] ?? -1;
    if (sequenced.position <= watermark) continue;
    doc ??= current ? structuredClone<T>(current) : create(sequenced.event);
    fold(doc, sequenced.event);
    doc.watermarks[sequenced.partitionId] = sequenced.position;
  }
  if (doc === undefined) return undefined;
  doc.updatedAt = now;
  return doc;
}

export interface UserProfileUpdate {
  /** The profile to write, or undefined when the batch holds nothing new for it. */
  profile: UserProfile | undefined;
  /** The user's events of the batch that copy an earlier event (same eventId, another position). */
  duplicates: SequencedEvent[];
}

const inRanges = (ranges: PositionRanges | undefined, position: number) =>
  ranges?.some(([first, last]) => position >= first && position <= last) ?? false;

/**
 * Like applyNewEvents for one user's events of a batch (in position order), and decides which of them are
 * copies, for the other documents to leave out too. An event new to the profile is a copy when the
 * profile (as read) or an earlier event of the batch has its eventId. An event at or below the watermark
 * was decided by an earlier delivery, which the profile remembers in `duplicatePositions`: the decision is
 * the same on every delivery, even when the profile was written and a later document's write failed.
 *
 * Why that is enough: another delivery of an event's batch is needed only while some document has not
 * counted it, and until then no later batch of its partition is applied without it (docs/aggregation.md).
 * So the profile's latest write from that partition came from a delivery holding the event.
 */
export function applyToUserProfile(
  current: UserProfile | undefined,
  events: readonly SequencedEvent[],
  now: string,
): UserProfileUpdate {
  const knownIds = new Set(current?.recentEventIds);
  const decided = current?.duplicatePositions ?? {};
  const idsInBatch = new Set<string>();
  const duplicates: SequencedEvent[] = [];
  const newIds: string[] = [];
  // Per partition, the batch's copies as ranges: a retried request's events are consecutive, so one range.
  const copies = new Map<string, { ranges: PositionRanges; previousWasCopy: boolean }>();
  const partitionsWithNewEvents = new Set<string>();
  let profile: UserProfile | undefined;
  for (const sequenced of events) {
    const { partitionId, position, event } = sequenced;
    const isNew = position > (current?.watermarks[partitionId] ?? -1);
    const isCopy = isNew
      ? knownIds.has(event.eventId) || idsInBatch.has(event.eventId)
      : inRanges(decided[partitionId], position);
    idsInBatch.add(event.eventId);
    let partitionCopies = copies.get(partitionId);
    if (!partitionCopies) copies.set(partitionId, (partitionCopies = { ranges: [], previousWasCopy: false }));
    if (isCopy) {
      duplicates.push(sequenced);
      const last = partitionCopies.ranges.at(-1);
      if (partitionCopies.previousWasCopy && last) last[1] = position;
      else partitionCopies.ranges.push([position, position]);
    }
    partitionCopies.previousWasCopy = isCopy;
    if (!isNew) continue;
    profile ??= current ? structuredClone(current) : newUserProfile(event.userId, event.timestamp);
    // The watermark passes copies too, so that a redelivery finds them decided.
    profile.watermarks[partitionId] = position;
    partitionsWithNewEvents.add(partitionId);
    if (isCopy) continue;
    foldIntoUserProfile(profile, event);
    newIds.push(event.eventId);
  }
  if (profile === undefined) return { profile: undefined, duplicates };
  profile.recentEventIds = [...(profile.recentEventIds ?? []), ...newIds].slice(-MAX_RECENT_EVENT_IDS);
  const duplicatePositions = { ...profile.duplicatePositions };
  // A partition without new events keeps what its latest write decided; the others record this batch.
  for (const partitionId of partitionsWithNewEvents) {
    const ranges = copies.get(partitionId)?.ranges ?? [];
    if (ranges.length > 0) duplicatePositions[partitionId] = ranges;
    else delete duplicatePositions[partitionId];
  }
  profile.duplicatePositions = duplicatePositions;
  profile.updatedAt = now;
  return { profile, duplicates };
}
