import { cumulative, Random } from './random';

/**
 * The synthetic world the simulator plays in: a product catalog with Zipf-skewed popularity and users
 * with PLANTED preferences from a low-rank latent model. Each category has a latent direction; a product
 * sits near its category's direction, a user points between their favourite categories' directions.
 * A user's taste for a product is the dot product of the two unit vectors, so the preference matrix has
 * rank `latentDimensions` by construction, which is what a factorization model should recover.
 */

export interface WorldSizes {
  users: number;
  products: number;
  /** Default: min(12, products). */
  categories?: number;
  /** Default 8. */
  latentDimensions?: number;
}

export interface SimulatedProduct {
  productId: string;
  category: string;
  price: number;
  /** Zipf weight (1 for the most popular product, 1/rank^skew after). */
  popularity: number;
  vector: Float64Array;
}

export interface SimulatedUser {
  userId: string;
  /** Planted favourite categories, strongest first. */
  favouriteCategories: string[];
  device: Device;
  /** Relative share of sessions this user starts. */
  activity: number;
  vector: Float64Array;
}

export const devices = ['desktop', 'mobile', 'tablet'] as const;
export type Device = (typeof devices)[number];

export interface World {
  seed: number;
  categories: string[];
  categoryVectors: Map<string, Float64Array>;
  products: SimulatedProduct[];
  users: SimulatedUser[];
  /** Running totals of user activity, to draw who starts the next session. */
  userActivityTotals: Float64Array;
}

export const WORLD_LIMITS = {
  users: 1_000_000,
  products: 100_000,
  categories: 100,
  latentDimensions: 64,
} as const;

const POPULARITY_SKEW = 1.0;
const ACTIVITY_SKEW = 0.6;
/** Noise around a product's category direction and around a user's blend of favourites. */
const PRODUCT_NOISE = 0.5;
const USER_NOISE = 0.3;
/** Affinity is a logistic curve of taste: ~0.5 at TASTE_MIDPOINT, steep around it. */
const TASTE_MIDPOINT = 0.3;
const TASTE_STEEPNESS = 6;

const categoryNames = [
  'electronics',
  'books',
  'fashion',
  'home',
  'garden',
  'sports',
  'toys',
  'beauty',
  'grocery',
  'music',
  'games',
  'outdoors',
  'automotive',
  'pets',
  'office',
  'health',
];

export function productIdFor(index: number): string {
  return `p${String(index + 1).padStart(4, '0')}`;
}

export function userIdFor(index: number): string {
  return `u${String(index + 1).padStart(5, '0')}`;
}

function categoryName(index: number): string {
  const base = categoryNames[index % categoryNames.length] as string;
  return index < categoryNames.length ? base : `${base}-${Math.floor(index / categoryNames.length) + 1}`;
}

function unit(vector: Float64Array): Float64Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) return vector;
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) / norm;
  return vector;
}

function gaussianVector(random: Random, dimensions: number, scale: number): Float64Array {
  const vector = new Float64Array(dimensions);
  for (let i = 0; i < dimensions; i++) vector[i] = random.normal() * scale;
  return vector;
}

function checkSize(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** Builds the world; the same seed and sizes always give the same world. */
export function generateWorld(seed: number, sizes: WorldSizes): World {
  checkSize('seed', seed, 0, 2 ** 32 - 1);
  checkSize('users', sizes.users, 1, WORLD_LIMITS.users);
  checkSize('products', sizes.products, 1, WORLD_LIMITS.products);
  const categoryCount = sizes.categories ?? Math.min(12, sizes.products);
  checkSize('categories', categoryCount, 1, Math.min(WORLD_LIMITS.categories, sizes.products));
  const dimensions = sizes.latentDimensions ?? 8;
  checkSize('latentDimensions', dimensions, 1, WORLD_LIMITS.latentDimensions);

  const categoryRandom = Random.stream(seed, 'categories');
  const categories = Array.from({ length: categoryCount }, (_, i) => categoryName(i));
  const categoryVectors = new Map(
    categories.map((c) => [c, unit(gaussianVector(categoryRandom, dimensions, 1))]),
  );
  // Each category has a typical price; products vary around it (log-normal).
  const basePrice = new Map(categories.map((c) => [c, 5 * Math.exp(categoryRandom.next() * 4)]));

  const productRandom = Random.stream(seed, 'products');
  // Popularity rank is independent of id order, so p0001 is not always the best seller.
  const ranks = productRandom.shuffle(Array.from({ length: sizes.products }, (_, i) => i));
  const products: SimulatedProduct[] = ranks.map((rank, index) => {
    // Every category gets products: the first `categoryCount` products cover them all once.
    const category = index < categoryCount ? (categories[index] as string) : productRandom.pick(categories);
    const direction = categoryVectors.get(category) as Float64Array;
    const noise = gaussianVector(productRandom, dimensions, PRODUCT_NOISE / Math.sqrt(dimensions));
    const vector = unit(direction.map((x, i) => x + (noise[i] as number)));
    const price =
      Math.round((basePrice.get(category) as number) * Math.exp(productRandom.normal() * 0.4) * 100) / 100;
    return {
      productId: productIdFor(index),
      category,
      price,
      popularity: 1 / Math.pow(rank + 1, POPULARITY_SKEW),
      vector,
    };
  });

  const userRandom = Random.stream(seed, 'users');
  const userActivityRanks = userRandom.shuffle(Array.from({ length: sizes.users }, (_, i) => i));
  const users: SimulatedUser[] = userActivityRanks.map((activityRank, index) => {
    const favouriteCount = Math.min(categoryCount, 1 + userRandom.int(3));
    const favouriteCategories = userRandom.shuffle(categories).slice(0, favouriteCount);
    const blend = new Float64Array(dimensions);
    favouriteCategories.forEach((category, position) => {
      const weight = Math.pow(0.7, position);
      const direction = categoryVectors.get(category) as Float64Array;
      for (let i = 0; i < dimensions; i++)
        blend[i] = (blend[i] as number) + weight * (direction[i] as number);
    });
    unit(blend);
    const noise = gaussianVector(userRandom, dimensions, USER_NOISE / Math.sqrt(dimensions));
    const vector = unit(blend.map((x, i) => x + (noise[i] as number)));
    const device = userRandom.chance(0.55) ? 'mobile' : userRandom.chance(0.85) ? 'desktop' : 'tablet';
    return {
      userId: userIdFor(index),
      favouriteCategories,
      device,
      activity: 1 / Math.pow(activityRank + 1, ACTIVITY_SKEW),
      vector,
    };
  });

  return {
    seed,
    categories,
    categoryVectors,
    products,
    users,
    userActivityTotals: cumulative(users.map((u) => u.activity)),
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** Raw taste in [-1, 1]: cosine between the user's and the product's latent vectors. */
export function taste(user: SimulatedUser, product: SimulatedProduct): number {
  return dot(user.vector, product.vector);
}

function logistic(tasteValue: number): number {
  return 1 / (1 + Math.exp(-TASTE_STEEPNESS * (tasteValue - TASTE_MIDPOINT)));
}

/** Planted affinity in (0, 1): how likely the user is to act on the product. */
export function productAffinity(user: SimulatedUser, product: SimulatedProduct): number {
  return logistic(taste(user, product));
}

/** Planted affinity for a category as a whole (its latent direction). */
export function categoryAffinity(world: World, user: SimulatedUser, category: string): number {
  const direction = world.categoryVectors.get(category);
  return direction === undefined ? 0 : logistic(dot(user.vector, direction));
}

export interface PlantedPreferences {
  userId: string;
  favouriteCategories: string[];
  /** Products ordered by planted affinity, best first. */
  topProducts: string[];
}

/** What a perfect model would learn for each user: the ground truth written by `--truth`. */
export function plantedPreferences(world: World, topN = 10): PlantedPreferences[] {
  const count = Math.min(topN, world.products.length);
  return world.users.map((user) => {
    const ranked = world.products
      .map((product) => ({ productId: product.productId, taste: taste(user, product) }))
      .sort((a, b) => b.taste - a.taste || a.productId.localeCompare(b.productId));
    return {
      userId: user.userId,
      favouriteCategories: [...user.favouriteCategories],
      topProducts: ranked.slice(0, count).map((r) => r.productId),
    };
  });
}
