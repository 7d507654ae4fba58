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
  const gaussian = standardNormal(random);

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

/**
 * A second, independent shape of MovieLens-like data, to check that what helps on the first does not
 * hinge on its assumptions. Here preferences are a non-negative genre mixture rather than Gaussian
 * latent factors, and popularity follows item quality rather than being independent of it:
 * - each item has one to three of `genres` genres and a quality; its exposure is Zipf-skewed by a rank
 *   that follows quality plus noise (good films tend to be seen more);
 * - each user has a logistic-normal mixture over genres and picks distinct items with probability
 *   ∝ exposure × (share of the user's mixture on the item's genres)^`genreFocus` (Gumbel top-k);
 * - ratings 1-5 follow quality and genre match. Activity, timestamps and categories as above.
 */
export interface GenreSyntheticOptions {
  users: number;
  items: number;
  interactions: number;
  minPerUser?: number;
  genres?: number;
  genreFocus?: number;
  popularitySkew?: number;
  seed?: number;
}

export function generateGenreInteractions(options: GenreSyntheticOptions): Interaction[] {
  const random = seededRandom(options.seed ?? 11);
  const genres = options.genres ?? 18;
  const focus = options.genreFocus ?? 1.5;
  const skew = options.popularitySkew ?? 0.9;
  const minPerUser = options.minPerUser ?? 20;
  const gaussian = standardNormal(random);

  const itemGenres = Array.from({ length: options.items }, () => {
    const count = 1 + Math.floor(random() * 3);
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(Math.floor(random() * genres));
    return [...chosen];
  });
  const quality = Array.from({ length: options.items }, gaussian);
  const byExposure = Array.from(quality.keys()).sort(
    (a, b) => quality[b]! + gaussian() * 1.5 - (quality[a]! + gaussian() * 1.5),
  );
  const exposure = new Float64Array(options.items);
  byExposure.forEach((item, rank) => (exposure[item] = -skew * Math.log(rank + 1)));

  const activity = Array.from({ length: options.users }, () => Math.exp(1.1 * gaussian()));
  const activityTotal = activity.reduce((a, b) => a + b, 0);
  const spare = Math.max(0, options.interactions - minPerUser * options.users);
  const maxPerUser = Math.floor(options.items * 0.6);
  const start = Date.UTC(2026, 0, 1);
  const span = 180 * 24 * 3600 * 1000;

  const interactions: Interaction[] = [];
  const keys = new Float64Array(options.items);
  const match = new Float64Array(options.items);
  for (let user = 0; user < options.users; user++) {
    const logits = Array.from({ length: genres }, () => 1.5 * gaussian());
    const largest = Math.max(...logits);
    const mixture = logits.map((l) => Math.exp(l - largest));
    const mixtureTotal = mixture.reduce((a, b) => a + b, 0);
    const count = Math.min(
      maxPerUser,
      minPerUser + Math.round((spare * (activity[user] ?? 0)) / activityTotal),
    );
    for (let item = 0; item < options.items; item++) {
      let share = 0;
      for (const genre of itemGenres[item]!) share += mixture[genre]! / mixtureTotal;
      match[item] = share;
      keys[item] =
        exposure[item]! +
        focus * Math.log(share + 1e-3) -
        Math.log(-Math.log(1 - random() * 0.999999 - 5e-7));
    }
    const chosen = Array.from(keys.keys())
      .sort((a, b) => keys[b]! - keys[a]!)
      .slice(0, count);
    for (const item of chosen) {
      const rating = Math.min(
        5,
        Math.max(1, Math.round(2.9 + 0.7 * quality[item]! + 1.5 * match[item]! + gaussian() * 0.8)),
      );
      interactions.push({
        userId: `u${user + 1}`,
        itemId: `i${item + 1}`,
        weight: rating,
        timestamp: start + Math.floor(random() * span),
        category: `g${itemGenres[item]![0]!}`,
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

/** Standard normal draws from a uniform generator (Box-Muller). */
function standardNormal(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * Implicit feedback over a large catalog (100k+ items), generated in O(interactions × log items) rather
 * than the generators above' users × items: items belong to `topics` (each item one topic, shuffled) and
 * have Zipf-skewed popularity; each user follows one to three topics with random shares and picks
 * distinct items, a `topicFocus` share of them by popularity within one of their topics and the rest by
 * popularity over the whole catalog. Ratings 1-5 are higher for on-topic items. Activity is heavy-tailed
 * with a floor as above; timestamps span half a year; the category is the item's topic.
 */
export interface LargeCatalogOptions {
  users: number;
  items: number;
  interactions: number;
  minPerUser?: number;
  topics?: number;
  topicFocus?: number;
  popularitySkew?: number;
  seed?: number;
}

export function generateLargeCatalogInteractions(options: LargeCatalogOptions): Interaction[] {
  const random = seededRandom(options.seed ?? 13);
  const topics = options.topics ?? 500;
  const focus = options.topicFocus ?? 0.8;
  const skew = options.popularitySkew ?? 0.9;
  const minPerUser = options.minPerUser ?? 10;
  const gaussian = standardNormal(random);

  // Popularity by a shuffled rank; topics by a second shuffle, so neither follows the item id.
  const rankOf = shuffledRange(options.items, random);
  const topicOf = Int32Array.from(shuffledRange(options.items, random), (position) => position % topics);
  const popularity = Float64Array.from(rankOf, (rank) => Math.pow(rank + 1, -skew));
  const globalSampler = cumulativeSampler(Array.from(popularity.keys()), popularity, random);
  const members: number[][] = Array.from({ length: topics }, () => []);
  topicOf.forEach((topic, item) => members[topic]!.push(item));
  const topicSamplers = members.map((items) => cumulativeSampler(items, popularity, random));

  const activity = Array.from({ length: options.users }, () => Math.exp(1.1 * gaussian()));
  const activityTotal = activity.reduce((a, b) => a + b, 0);
  const spare = Math.max(0, options.interactions - minPerUser * options.users);
  const maxPerUser = Math.floor(options.items * 0.1);
  const start = Date.UTC(2026, 0, 1);
  const span = 180 * 24 * 3600 * 1000;

  const interactions: Interaction[] = [];
  for (let user = 0; user < options.users; user++) {
    const followed = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
      Math.floor(random() * topics),
    );
    const shares = followed.map(() => Math.exp(gaussian()));
    const shareTotal = shares.reduce((a, b) => a + b, 0);
    const count = Math.min(
      maxPerUser,
      minPerUser + Math.round((spare * (activity[user] ?? 0)) / activityTotal),
    );
    const chosen = new Set<number>();
    // A user may exhaust a small topic; the attempt bound keeps such a user from looping.
    for (let attempt = 0; chosen.size < count && attempt < count * 20; attempt++) {
      let item: number;
      if (random() < focus) {
        let pick = random() * shareTotal;
        let f = 0;
        while (f < followed.length - 1 && pick >= shares[f]!) pick -= shares[f++]!;
        item = topicSamplers[followed[f]!]!();
      } else {
        item = globalSampler();
      }
      if (item < 0 || chosen.has(item)) continue;
      chosen.add(item);
      const onTopic = followed.includes(topicOf[item]!);
      const rating = Math.min(5, Math.max(1, Math.round((onTopic ? 4 : 2.8) + gaussian() * 0.8)));
      interactions.push({
        userId: `u${user + 1}`,
        itemId: `i${item + 1}`,
        weight: rating,
        timestamp: start + Math.floor(random() * span),
        category: `t${topicOf[item]!}`,
      });
    }
  }
  return interactions;
}

function shuffledRange(length: number, random: () => number): Int32Array {
  const order = Int32Array.from({ length }, (_, i) => i);
  for (let i = length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Draws one of `items` with probability ∝ its weight, by binary search over the running sums (-1 if none). */
function cumulativeSampler(
  items: readonly number[],
  weights: Float64Array,
  random: () => number,
): () => number {
  const sums = new Float64Array(items.length);
  let total = 0;
  items.forEach((item, i) => (sums[i] = total += weights[item]!));
  return () => {
    if (items.length === 0) return -1;
    const target = random() * total;
    let low = 0;
    let high = items.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (sums[middle]! > target) high = middle;
      else low = middle + 1;
    }
    return items[low]!;
  };
}
