import { OfferStats } from '../aggregation/documents';
import { Offer, Segment } from './offerCatalog';
import { OfferProfile } from './storedProfile';

/**
 * The personalized-offer logic: from product-affinity scores and business rules to one offer.
 * Pure: everything it needs is passed in, so every path is testable without services.
 */

export type DecisionSource = 'model' | 'cold-start' | 'explore' | 'fallback';

/** Where the product scores came from. */
export type ScoreSource = 'model' | 'cold-start' | 'fallback';

export interface ProductScores {
  source: ScoreSource;
  /** productId → score; higher is more relevant. Categories are scored from their products. */
  products: ReadonlyMap<string, number>;
  modelVersion?: string;
}

export interface DecisionContext {
  category?: string;
  page?: string;
  device?: string;
}

export interface DecisionInput {
  offers: readonly Offer[];
  /** The user's profile (a UserProfile, of which only what OfferProfile names is read). */
  profile: OfferProfile | undefined;
  scores: ProductScores;
  /** Per-offer aggregates, for click-through rates and budgets. Missing offers have no history. */
  offerStats: ReadonlyMap<string, Pick<OfferStats, 'impressions' | 'clicks'>>;
  context: DecisionContext;
  explorationRate: number;
  now: Date;
  /** Uniform [0, 1); injected so tests can pin exploration. */
  random: () => number;
}

export interface ScoredOffer {
  offer: Offer;
  score: number;
  relevance: number;
  clickThroughRate: number;
}

export interface Decision {
  source: DecisionSource;
  chosen: ScoredOffer | undefined;
  /** Probability that this policy chose this offer: what off-policy evaluation needs. */
  propensity: number;
  runnersUp: ScoredOffer[];
  eligibleCount: number;
  /** Offers ruled out, by reason, for the decision log. */
  excluded: Record<string, number>;
}

/** Beta prior on an offer's click-through rate: 1 click in 20 impressions until data says otherwise. */
const PRIOR_CLICKS = 1;
const PRIOR_IMPRESSIONS = 20;
/** How much a point of business priority (0-10) lifts an offer's score. */
const PRIORITY_WEIGHT = 0.02;

export function segmentsOf(profile: OfferProfile | undefined): Set<Segment> {
  const result = new Set<Segment>();
  const events = profile ? Object.values(profile.eventCounts).reduce<number>((a, b) => a + (b ?? 0), 0) : 0;
  result.add(events === 0 ? 'new' : 'returning');
  result.add(profile && profile.purchasedProducts.length > 0 ? 'buyer' : 'non-buyer');
  return result;
}

function exclusionReason(
  offer: Offer,
  input: DecisionInput,
  userSegments: Set<Segment>,
  purchased: Set<string>,
): string | undefined {
  const now = input.now.getTime();
  if (offer.startsAt !== undefined && Date.parse(offer.startsAt) > now) return 'not_started';
  if (offer.endsAt !== undefined && Date.parse(offer.endsAt) <= now) return 'ended';
  if (offer.segments !== undefined && !offer.segments.some((s) => userSegments.has(s))) return 'segment';
  if (
    offer.productIds.length > 0 &&
    offer.categories.length === 0 &&
    offer.productIds.every((p) => purchased.has(p))
  ) {
    return 'already_bought';
  }
  const seen = input.profile?.offers[offer.offerId];
  if (offer.frequencyCap !== undefined && seen !== undefined && seen.impressions >= offer.frequencyCap)
    return 'frequency_cap';
  const stats = input.offerStats.get(offer.offerId);
  if (offer.budget !== undefined && stats !== undefined && stats.impressions >= offer.budget) return 'budget';
  return undefined;
}

/** The user's relevance for an offer in [0, 1]: its best product (or category) score over the best overall. */
function relevance(
  offer: Offer,
  scores: ProductScores,
  categoryScores: ReadonlyMap<string, number>,
  maxScore: number,
): number {
  if (maxScore <= 0) return 0;
  let best = 0;
  for (const productId of offer.productIds) best = Math.max(best, scores.products.get(productId) ?? 0);
  for (const category of offer.categories) best = Math.max(best, categoryScores.get(category) ?? 0);
  return Math.max(0, best / maxScore);
}

function categoryScoresFrom(
  profile: OfferProfile | undefined,
  scores: ProductScores,
  contextCategory: string | undefined,
): Map<string, number> {
  const result = new Map<string, number>();
  if (profile) {
    // The user's own category affinities, scaled to the product scores' range.
    const maxProduct = Math.max(0, ...scores.products.values());
    const maxCategory = Math.max(0, ...Object.values(profile.categories).map((c) => c.affinity));
    if (maxCategory > 0) {
      for (const [category, value] of Object.entries(profile.categories)) {
        result.set(category, (value.affinity / maxCategory) * (maxProduct > 0 ? maxProduct : 1));
      }
    }
  }
  if (contextCategory !== undefined) {
    // The page the user is on says what they are after right now.
    const maxProduct = Math.max(1e-9, ...scores.products.values(), ...result.values());
    result.set(contextCategory, Math.max(result.get(contextCategory) ?? 0, maxProduct));
  }
  return result;
}

export function decideOffer(input: DecisionInput): Decision {
  const userSegments = segmentsOf(input.profile);
  const purchased = new Set(input.profile?.purchasedProducts ?? []);
  const excluded: Record<string, number> = {};
  const eligible: Offer[] = [];
  for (const offer of input.offers) {
    const reason = exclusionReason(offer, input, userSegments, purchased);
    if (reason === undefined) eligible.push(offer);
    else excluded[reason] = (excluded[reason] ?? 0) + 1;
  }
  if (eligible.length === 0) {
    return {
      source: 'fallback',
      chosen: undefined,
      propensity: 1,
      runnersUp: [],
      eligibleCount: 0,
      excluded,
    };
  }

  const categoryScores = categoryScoresFrom(input.profile, input.scores, input.context.category);
  const maxScore = Math.max(0, ...input.scores.products.values(), ...categoryScores.values());
  const scored: ScoredOffer[] = eligible.map((offer) => {
    const stats = input.offerStats.get(offer.offerId);
    const clickThroughRate =
      ((stats?.clicks ?? 0) + PRIOR_CLICKS) / ((stats?.impressions ?? 0) + PRIOR_IMPRESSIONS);
    const dismissed = input.profile?.offers[offer.offerId]?.dismissals ?? 0;
    const rel = relevance(offer, input.scores, categoryScores, maxScore);
    // Expected click probability: how relevant the offer is to this user times how well it converts,
    // damped for offers this user has dismissed, nudged by business priority.
    const score =
      (0.1 + 0.9 * rel) *
      clickThroughRate *
      Math.pow(0.5, dismissed) *
      (1 + PRIORITY_WEIGHT * offer.priority);
    return { offer, score, relevance: rel, clickThroughRate };
  });
  scored.sort((a, b) => b.score - a.score || a.offer.offerId.localeCompare(b.offer.offerId));

  const greedy = scored[0] as ScoredOffer;
  const epsilon = scored.length > 1 ? input.explorationRate : 0;
  const explore = input.random() < epsilon;
  const chosen = explore ? (scored[Math.floor(input.random() * scored.length)] ?? greedy) : greedy;
  // Epsilon-greedy: the greedy offer is chosen with 1-ε plus its share of the uniform draw.
  const propensity = (chosen === greedy ? 1 - epsilon : 0) + epsilon / scored.length;
  return {
    source: explore ? 'explore' : input.scores.source,
    chosen,
    propensity,
    runnersUp: scored.filter((s) => s !== chosen).slice(0, 3),
    eligibleCount: scored.length,
    excluded,
  };
}
