import { randomUUID } from 'node:crypto';
import { OfferStats } from '../aggregation/documents';
import { ColdStartStore } from '../coldstart/coldStartStore';
import { withTimeout } from '../resilience/timeout';
import { decideOffer, DecisionContext, DecisionSource, ProductScores, ScoredOffer } from './decideOffer';
import { Offer } from './offerCatalog';
import { InvalidProfileError, OfferProfile, parseStoredProfile } from './storedProfile';

/** Scores products for a user's history with the current affinity model (ONNX). */
export interface AffinityScorer {
  /**
   * Undefined when no model is loaded. `signal` aborts when the decision stops waiting for the scores
   * (dependencyTimeoutMs): a history whose caller has given up is not scored.
   */
  score(
    history: ReadonlyArray<{ itemId: string; weight: number }>,
    signal?: AbortSignal,
  ): Promise<{ scores: Map<string, number>; version: string } | undefined>;
}

export interface OfferServiceDependencies {
  catalog: () => Promise<readonly Offer[]>;
  offerStats: () => Promise<ReadonlyMap<string, Pick<OfferStats, 'impressions' | 'clicks'>>>;
  /**
   * The stored profile document as read (undefined: none), validated by the service: an invalid one is
   * logged and the decision goes on without it (`degraded: ["profile"]`). `signal` aborts when the decision
   * stops waiting for the profile (dependencyTimeoutMs).
   */
  readProfile: (userId: string, signal: AbortSignal) => Promise<unknown>;
  scorer: AffinityScorer;
  coldStart: ColdStartStore;
  /**
   * Built-in popularity, used when Redis cannot answer (waited for up to dependencyTimeoutMs, as every
   * dependency: the first use of a process must not serve an empty list while it loads).
   */
  fallbackScores: () => Promise<ReadonlyMap<string, number>>;
  dependencyTimeoutMs: number;
  explorationRate: number;
  random?: () => number;
  now?: () => Date;
  log?: (message: string) => void;
}

export interface OfferResponse {
  decisionId: string;
  userId: string;
  source: DecisionSource;
  offer: {
    offerId: string;
    title: string;
    description?: string;
    productIds: string[];
    categories: string[];
    score: number;
  } | null;
  score: number;
  propensity: number;
  runnersUp: Array<{ offerId: string; score: number }>;
  modelVersion?: string;
  /** Dependencies that failed or timed out on this request; empty when all answered. */
  degraded: string[];
}

/** How many of the user's items feed the model: their strongest affinities. */
const MAX_HISTORY_ITEMS = 100;
const COLD_START_ITEMS = 200;

export function historyOf(profile: OfferProfile): Array<{ itemId: string; weight: number }> {
  return Object.entries(profile.products)
    .map(([itemId, p]) => ({ itemId, weight: p.affinity }))
    .filter((h) => h.weight > 0)
    .sort((a, b) => b.weight - a.weight)
    .slice(0, MAX_HISTORY_ITEMS);
}

function toResponseOffer(scored: ScoredOffer): NonNullable<OfferResponse['offer']> {
  const { offer } = scored;
  return {
    offerId: offer.offerId,
    title: offer.title,
    ...(offer.description !== undefined ? { description: offer.description } : {}),
    productIds: offer.productIds,
    categories: offer.categories,
    score: scored.score,
  };
}

/**
 * Chooses the next offer for a user. Each dependency has a time budget; when one fails or is slow the
 * decision degrades to the next best source (model → cold start in Redis → built-in popularity) and says
 * so, so an outage never turns into an error for the website.
 */
export class OfferService {
  private readonly random: () => number;
  private readonly now: () => Date;

  constructor(private readonly deps: OfferServiceDependencies) {
    this.random = deps.random ?? Math.random;
    this.now = deps.now ?? (() => new Date());
  }

  private async attempt<T>(
    what: string,
    operation: (signal: AbortSignal) => Promise<T>,
    degraded: string[],
  ): Promise<T | undefined> {
    try {
      return await withTimeout(operation, this.deps.dependencyTimeoutMs, what);
    } catch (error) {
      degraded.push(what);
      this.deps.log?.(
        `offer: ${what} unavailable: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  }

  private async productScores(
    profile: OfferProfile | undefined,
    context: DecisionContext,
    degraded: string[],
  ): Promise<ProductScores> {
    const history = profile ? historyOf(profile) : [];
    if (history.length > 0) {
      const scored = await this.attempt(
        'model',
        (signal) => this.deps.scorer.score(history, signal),
        degraded,
      );
      // No score at all (every item of the history unknown to the model, or all scores zero) says
      // nothing about this user: cold start does better than ranking offers by their ids.
      if (scored && scored.scores.size > 0) {
        return { source: 'model', products: scored.scores, modelVersion: scored.version };
      }
    }
    const contexts = [
      ...(context.category !== undefined ? [`category:${context.category}`] : []),
      `hour:${this.now().getUTCHours()}`,
    ];
    const coldStart = await this.attempt(
      'redis',
      () => this.deps.coldStart.topProducts(contexts, COLD_START_ITEMS),
      degraded,
    );
    if (coldStart && coldStart.size > 0) return { source: 'cold-start', products: coldStart };
    const popular = await this.attempt('popularity', () => this.deps.fallbackScores(), degraded);
    return { source: 'fallback', products: popular ?? new Map() };
  }

  /**
   * The stored profile if it is a valid one. An invalid profile (edited by hand, or written by a broken
   * writer) is treated as an unavailable dependency: logged with the user and the field, reported in
   * `degraded`, and the decision is taken without the user's history.
   */
  private validProfile(userId: string, stored: unknown, degraded: string[]): OfferProfile | undefined {
    try {
      return parseStoredProfile(userId, stored);
    } catch (error) {
      if (!(error instanceof InvalidProfileError)) throw error;
      degraded.push('profile');
      this.deps.log?.(`offer: ${error.message}; deciding without the user's history`);
      return undefined;
    }
  }

  async decide(userId: string, context: DecisionContext): Promise<OfferResponse> {
    return (await this.decideWithDetails(userId, context)).response;
  }

  /** The decision and, for the decision log, how many offers each rule ruled out. */
  async decideWithDetails(
    userId: string,
    context: DecisionContext,
  ): Promise<{ response: OfferResponse; excluded: Readonly<Record<string, number>> }> {
    const degraded: string[] = [];
    const [offers, offerStats, stored] = await Promise.all([
      this.attempt('catalog', () => this.deps.catalog(), degraded),
      this.attempt('offer-stats', () => this.deps.offerStats(), degraded),
      this.attempt('cosmos', (signal) => this.deps.readProfile(userId, signal), degraded),
    ]);
    const profile = this.validProfile(userId, stored, degraded);
    const scores = await this.productScores(profile, context, degraded);
    const decision = decideOffer({
      offers: offers ?? [],
      profile,
      scores,
      offerStats: offerStats ?? new Map(),
      context,
      explorationRate: this.deps.explorationRate,
      now: this.now(),
      random: this.random,
    });
    const response: OfferResponse = {
      decisionId: randomUUID(),
      userId,
      source: decision.chosen === undefined ? 'fallback' : decision.source,
      offer: decision.chosen ? toResponseOffer(decision.chosen) : null,
      score: decision.chosen?.score ?? 0,
      propensity: decision.propensity,
      runnersUp: decision.runnersUp.map((r) => ({ offerId: r.offer.offerId, score: r.score })),
      ...(scores.modelVersion !== undefined ? { modelVersion: scores.modelVersion } : {}),
      degraded,
    };
    return { response, excluded: decision.excluded };
  }
}
