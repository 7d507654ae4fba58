/**
 * A small seeded pseudo-random generator (mulberry32) with the draws the simulator needs.
 * Streams are derived from (seed, label) so each part of the world and each session has its own
 * sequence: adding a draw in one place never shifts the numbers drawn anywhere else.
 */

/** FNV-1a over the text, then a murmur3 finalizer so that close labels give unrelated seeds. */
function hashToSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

export class Random {
  private state: number;

  constructor(seed: number | string) {
    this.state = hashToSeed(String(seed));
  }

  /** An independent stream for a named purpose, e.g. `Random.stream(seed, 'session', 42)`. */
  static stream(seed: number, ...labels: Array<string | number>): Random {
    return new Random([seed, ...labels].join('/'));
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, bound). */
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Index drawn in proportion to weights given as a running total (see `cumulative`). */
  weightedIndex(cumulativeWeights: ArrayLike<number>): number {
    const total = cumulativeWeights[cumulativeWeights.length - 1];
    if (total === undefined || !(total > 0)) throw new RangeError('weights must have a positive total');
    const target = this.next() * total;
    let low = 0;
    let high = cumulativeWeights.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulativeWeights[middle] as number) > target) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** Fisher-Yates on a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  }
}

/** Running totals of the weights, for `Random.weightedIndex`. */
export function cumulative(weights: ArrayLike<number>): Float64Array {
  const totals = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i] as number;
    totals[i] = sum;
  }
  return totals;
}
