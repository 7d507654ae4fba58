import { Interaction } from './interactions';
import { seededRandom } from '../../shared/random/seededRandom';

/**
 * Synthetic implicit-feedback data shaped like public rating sets (MovieLens-100k by default): users and
 * items carry low-rank latent preferences, item popularity is skewed (Zipf-like), activity per user is
 * heavy-tailed with a floor, and each user picks distinct items with probability ∝ exp(popularity +
 * preference) — sampled without replacement by the Gumbel top-k trick. Ratings 1-5 follow the
 * preference; timestamps span half a year; each item's category is its strongest latent factor.
 */
export interface SyntheticOptions {
  users: number;
  items: number;
  /** Target total interactions (each user has at least minPerUser). */
  interactions: number;
  minPerUser?: number;
  factors?: number;
  /** Weight of the latent preference against popularity. */
  preferenceStrength?: number;
  /** Zipf exponent of item popularity. */
  popularitySkew?: number;
  seed?: number;
}

export function generateSyntheticInteractions(options: SyntheticOptions): Interaction[] {
  const random = seededRandom(options.seed ?? 7);
  const factors = options.factors ?? 12;
  const strength = options.preferenceStrength ?? 2.5;
  const skew = options.popularitySkew ?? 0.9;
  const minPerUser = options.minPerUser ?? 20;
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

  const itemVectors = Array.from({ length: options.items }, () =>
    Float64Array.from({ length: factors }, gaussian),
  );
  // Popularity ranks are shuffled so item ids carry no information.
  const ranks = Array.from({ length: options.items }, (_, i) => i + 1).sort(() => random() - 0.5);
  const popularity = ranks.map((rank) => -skew * Math.log(rank));
  const categories = itemVectors.map((v) => `c${v.indexOf(Math.max(...v))}`);

  // Heavy-tailed activity: floor plus a log-normal share of the remaining budget.
  const activity = Array.from({ length: options.users }, () => Math.exp(1.1 * gaussian()));
  const activityTotal = activity.reduce((a, b) => a + b, 0);
  const spare = Math.max(0, options.interactions - minPerUser * options.users);
  const maxPerUser = Math.floor(options.items * 0.6);
  const start = Date.UTC(2026, 0, 1);
  const span = 180 * 24 * 3600 * 1000;

  const interactions: Interaction[] = [];
  const keys = new Float64Array(options.items);
  const affinity = new Float64Array(options.items);
  for (let user = 0; user < options.users; user++) {
    const userVector = Float64Array.from({ length: factors }, gaussian);
    const count = Math.min(
      maxPerUser,
      minPerUser + Math.round((spare * (activity[user] ?? 0)) / activityTotal),
    );
    for (let item = 0; item < options.items; item++) {
      const v = itemVectors[item]!;
      let dot = 0;
      for (let f = 0; f < factors; f++) dot += userVector[f]! * v[f]!;
      affinity[item] = (strength * dot) / Math.sqrt(factors);
      keys[item] =
        (popularity[item] ?? 0) + affinity[item]! - Math.log(-Math.log(1 - random() * 0.999999 - 5e-7));
    }
    const chosen = Array.from(keys.keys())
      .sort((a, b) => keys[b]! - keys[a]!)
      .slice(0, count);
    for (const item of chosen) {
      const rating = Math.min(5, Math.max(1, Math.round(3.5 + affinity[item]! / 2 + gaussian() * 0.7)));
      interactions.push({
        userId: `u${user + 1}`,
        itemId: `i${item + 1}`,
        weight: rating,
        timestamp: start + Math.floor(random() * span),
        category: categories[item]!,
      });
    }
  }
  return interactions;
}

/** Writes interactions as CSV with a header (the training input format). */
export function toCsv(interactions: readonly Interaction[]): string {
  const lines = ['userId,itemId,weight,timestamp,category'];
  for (const i of interactions) {
    lines.push(
      `${i.userId},${i.itemId},${i.weight},${i.timestamp === undefined ? '' : Math.floor(i.timestamp / 1000)},${i.category ?? ''}`,
    );
  }
  return lines.join('\n') + '\n';
}
