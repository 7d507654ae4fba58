import { applyWeighting, TrainingProgress, Weighting } from './ease';
import { UserRow } from './interactionMatrix';
import { rankingMetrics, splitPerUser } from './protocol';
import { seededRandom } from '../../shared/random/seededRandom';

/**
 * The affinity model for catalogs too large for one dense item × item matrix: item kNN on RP3beta's
 * similarity (rp3beta.ts), keeping only each item's K strongest neighbours,
 *
 *   W[i][j] = Σ_u (x_ui / Σ_v x_vi) · (x_uj / Σ_k x_uk) / popularity_j^β,   j ≠ i, top K per row i
 *
 * (the "RP3beta with top-K" of Dacrema et al., "Are We Really Making Much Progress?", RecSys 2019, a
 * strong baseline on implicit feedback). A user's scores are their weighted history times the sparse W,
 * which the ONNX export computes with Gather + ScatterElements (onnxExport.ts).
 *
 * Training never holds items² values: users' rows and their transpose (each item's users) are kept as
 * flat arrays, and each item's row of W is accumulated in one dense scratch array of catalog length that
 * is reused for every item (only the entries the item touched are read back and cleared), then its K
 * best entries are selected with a bounded heap. Work is Σ_u |items of u|², memory O(interactions +
 * items × K). The model is items × K neighbour ids and weights.
 */
export interface NeighbourModel {
  itemCount: number;
  /** K: neighbour slots per item. */
  neighbours: number;
  /** Row-major items × K; row i lists i's neighbours, strongest first; an unused slot holds i itself. */
  ids: Int32Array;
  /** Row-major items × K; what row i's neighbour adds to its score per unit of history value (0 if unused). */
  weights: Float32Array;
}

export interface SparseNeighbourOptions {
  /** K, the neighbours kept per item. */
  neighbours: number;
  /** RP3beta's popularity exponent β. */
  beta: number;
  weighting: Weighting;
}

/** Rows and their transpose as flat arrays, the history values already weighted. */
interface SparseInteractions {
  itemCount: number;
  /** User u's items are userItems[userStart[u] .. userStart[u+1]), with x_uj / Σ_k x_uk. */
  userStart: Int32Array;
  userItems: Int32Array;
  userShares: Float64Array;
  /** Item i's users are itemUsers[itemStart[i] .. itemStart[i+1]), with x_ui / Σ_v x_vi. */
  itemStart: Int32Array;
  itemUsers: Int32Array;
  itemShares: Float64Array;
  /** Number of users who engaged with each item. */
  popularity: Float64Array;
}

function indexInteractions(
  rows: readonly UserRow[],
  itemCount: number,
  weighting: Weighting,
): SparseInteractions {
  let pairs = 0;
  for (const row of rows) pairs += row.items.length;
  const userStart = new Int32Array(rows.length + 1);
  const userItems = new Int32Array(pairs);
  const userValues = new Float64Array(pairs);
  const itemMass = new Float64Array(itemCount);
  const popularity = new Float64Array(itemCount);
  let at = 0;
  rows.forEach((row, user) => {
    userStart[user] = at;
    for (let e = 0; e < row.items.length; e++) {
      const item = row.items[e]!;
      if (item < 0 || item >= itemCount) throw new Error(`item index ${item} outside 0..${itemCount - 1}`);
      const value = applyWeighting(row.weights[e]!, weighting);
      userItems[at] = item;
      userValues[at] = value;
      itemMass[item]! += value;
      popularity[item]! += 1;
      at++;
    }
  });
  userStart[rows.length] = at;

  const itemStart = new Int32Array(itemCount + 1);
  for (let item = 0; item < itemCount; item++) itemStart[item + 1] = itemStart[item]! + popularity[item]!;
  const fill = itemStart.slice(0, itemCount);
  const itemUsers = new Int32Array(pairs);
  const itemShares = new Float64Array(pairs);
  const userShares = new Float64Array(pairs);
  for (let user = 0; user < rows.length; user++) {
    const start = userStart[user]!;
    const end = userStart[user + 1]!;
    let userMass = 0;
    for (let p = start; p < end; p++) userMass += userValues[p]!;
    for (let p = start; p < end; p++) {
      const item = userItems[p]!;
      const value = userValues[p]!;
      // A user or item whose weighted mass is not positive has no walk through it.
      userShares[p] = userMass > 0 ? value / userMass : 0;
      const slot = fill[item]!++;
      itemUsers[slot] = user;
      itemShares[slot] = itemMass[item]! > 0 ? value / itemMass[item]! : 0;
    }
  }
  return { itemCount, userStart, userItems, userShares, itemStart, itemUsers, itemShares, popularity };
}

/**
 * Selects the K largest (id, score) pairs of one accumulated row, ties to the lower id, strongest first.
 * A row can touch most of the catalog (a popular item's users reach tens of thousands of items), so
 * instead of offering every entry to a heap it finds the K-th largest score with a quickselect on a
 * scratch copy (linear on average) and keeps what reaches it.
 */
class RowSelector {
  private readonly values: Float64Array;
  private readonly candidates: Int32Array;
  private readonly candidateScores: Float64Array;

  constructor(
    itemCount: number,
    private readonly capacity: number,
  ) {
    this.values = new Float64Array(itemCount);
    this.candidates = new Int32Array(itemCount);
    this.candidateScores = new Float64Array(itemCount);
  }

  /**
   * Writes the kept pairs among the first `count` of (`ids[t]`, `scores[t]`) (only positive scores
   * count) strongest first into `targetIds`/`targetWeights` from `offset`; returns how many it wrote.
   */
  select(
    ids: Int32Array,
    scores: Float64Array,
    count: number,
    targetIds: Int32Array,
    targetWeights: Float32Array,
    offset: number,
  ): number {
    const { values, candidates, candidateScores, capacity } = this;
    let positive = 0;
    for (let t = 0; t < count; t++) {
      const score = scores[t]!;
      if (score > 0) {
        candidates[positive] = ids[t]!;
        candidateScores[positive] = score;
        values[positive++] = score;
      }
    }
    const kept: Array<{ id: number; score: number }> = [];
    if (positive <= capacity) {
      for (let t = 0; t < positive; t++) kept.push({ id: candidates[t]!, score: candidateScores[t]! });
    } else {
      const threshold = kthLargest(values, positive, capacity);
      const tied: number[] = [];
      for (let t = 0; t < positive; t++) {
        const score = candidateScores[t]!;
        if (score > threshold) kept.push({ id: candidates[t]!, score });
        else if (score === threshold) tied.push(candidates[t]!);
      }
      tied.sort((a, b) => a - b);
      for (let t = 0; kept.length < capacity; t++) kept.push({ id: tied[t]!, score: threshold });
    }
    kept.sort((a, b) => b.score - a.score || a.id - b.id);
    kept.forEach(({ id, score }, rank) => {
      targetIds[offset + rank] = id;
      targetWeights[offset + rank] = score;
    });
    return kept.length;
  }
}

/** The k-th largest of values[0 .. length) (1 ≤ k ≤ length), reordering them (Hoare's quickselect). */
function kthLargest(values: Float64Array, length: number, k: number): number {
  let low = 0;
  let high = length - 1;
  const target = k - 1;
  while (low < high) {
    const pivot = values[(low + high) >> 1]!;
    let i = low;
    let j = high;
    while (i <= j) {
      while (values[i]! > pivot) i++;
      while (values[j]! < pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) high = j;
    else if (target >= i) low = i;
    else return values[target]!;
  }
  return values[target]!;
}

/**
 * Trains one neighbour model per β from a single pass over the co-occurrences: demotion by
 * popularity^−β only rescales columns, so each item's walk row is accumulated once and its top K is
 * selected once per β (what the β search needs).
 */
export function trainSparseNeighboursForBetas(
  rows: readonly UserRow[],
  itemCount: number,
  options: { neighbours: number; betas: readonly number[]; weighting: Weighting },
  onProgress?: TrainingProgress,
): NeighbourModel[] {
  const k = options.neighbours;
  if (!Number.isInteger(k) || k <= 0) throw new Error(`neighbours must be a positive integer, got ${k}`);
  for (const beta of options.betas)
    if (!(beta >= 0)) throw new Error(`beta must be non-negative, got ${beta}`);
  const data = indexInteractions(rows, itemCount, options.weighting);
  const demotions = options.betas.map((beta) =>
    Float64Array.from(data.popularity, (count) => (count > 0 ? Math.pow(count, -beta) : 0)),
  );
  const models = options.betas.map((): NeighbourModel => ({
    itemCount,
    neighbours: k,
    ids: new Int32Array(itemCount * k),
    weights: new Float32Array(itemCount * k),
  }));
  // The reusable scratch row: walk[j] is valid for the current item where touchedBy[j] === item + 1.
  const walk = new Float64Array(itemCount);
  const touchedBy = new Int32Array(itemCount);
  const touched = new Int32Array(itemCount);
  const selector = new RowSelector(itemCount, k);
  const demoted = new Float64Array(itemCount);
  const { userStart, userItems, userShares, itemStart, itemUsers, itemShares } = data;
  for (let item = 0; item < itemCount; item++) {
    const stamp = item + 1;
    let touchedCount = 0;
    for (let p = itemStart[item]!; p < itemStart[item + 1]!; p++) {
      const toUser = itemShares[p]!;
      const user = itemUsers[p]!;
      for (let q = userStart[user]!; q < userStart[user + 1]!; q++) {
        const other = userItems[q]!;
        if (touchedBy[other] !== stamp) {
          touchedBy[other] = stamp;
          walk[other] = 0;
          touched[touchedCount++] = other;
        }
        walk[other]! += toUser * userShares[q]!;
      }
    }
    const rowStart = item * k;
    for (let b = 0; b < models.length; b++) {
      const model = models[b]!;
      const demotion = demotions[b]!;
      for (let t = 0; t < touchedCount; t++) {
        const other = touched[t]!;
        demoted[t] = other === item ? 0 : walk[other]! * demotion[other]!;
      }
      const kept = selector.select(touched, demoted, touchedCount, model.ids, model.weights, rowStart);
      // Unused slots point at the item itself with weight 0: a valid index that adds nothing.
      model.ids.fill(item, rowStart + kept, rowStart + k);
    }
    if (onProgress && ((item + 1) % 10_000 === 0 || item + 1 === itemCount))
      onProgress('neighbours', item + 1, itemCount);
  }
  return models;
}

export function trainSparseNeighbours(
  rows: readonly UserRow[],
  itemCount: number,
  options: SparseNeighbourOptions,
  onProgress?: TrainingProgress,
): NeighbourModel {
  const [model] = trainSparseNeighboursForBetas(
    rows,
    itemCount,
    { neighbours: options.neighbours, betas: [options.beta], weighting: options.weighting },
    onProgress,
  );
  return model!;
}

/**
 * Scores every item for one history in TypeScript, as the ONNX graph does (tests compare the two):
 * scores[j] = Σ over history items i and their neighbour slots s of value_i · weights[i][s] at ids[i][s].
 */
export function scoreWithNeighbours(model: NeighbourModel, row: UserRow, weighting: Weighting): Float64Array {
  const scores = new Float64Array(model.itemCount);
  const k = model.neighbours;
  for (let e = 0; e < row.items.length; e++) {
    const value = applyWeighting(row.weights[e]!, weighting);
    const rowStart = row.items[e]! * k;
    for (let s = 0; s < k; s++) scores[model.ids[rowStart + s]!]! += value * model.weights[rowStart + s]!;
  }
  return scores;
}

/**
 * The k best items for a history, history items excluded, looking only at the items its neighbours
 * reach (every other item scores 0): history × K work instead of a pass over the catalog, which keeps
 * the β search cheap on large catalogs. Ties go to the lower index, as `topItems` does.
 */
export function recommendWithNeighbours(
  model: NeighbourModel,
  row: UserRow,
  weighting: Weighting,
  k: number,
  scratch: Float64Array = new Float64Array(model.itemCount),
): number[] {
  const reached: number[] = [];
  const seen = new Set(row.items);
  // Scores of the listed items, kept aside because the scratch row is cleared as it is read.
  const scores = new Map<number, number>();
  const scoreOf = (item: number): number => scores.get(item) ?? 0;
  const width = model.neighbours;
  for (let e = 0; e < row.items.length; e++) {
    const value = applyWeighting(row.weights[e]!, weighting);
    const rowStart = row.items[e]! * width;
    for (let s = 0; s < width; s++) {
      const weight = model.weights[rowStart + s]!;
      if (weight === 0) continue;
      const target = model.ids[rowStart + s]!;
      if (seen.has(target)) continue;
      if (scratch[target] === 0) reached.push(target);
      scratch[target]! += value * weight;
    }
  }
  // The k best reached items by insertion into a short sorted list: far cheaper than sorting all the
  // reached items (thousands per user) when k is small.
  const best: number[] = [];
  for (const item of reached) {
    const score = scratch[item]!;
    scratch[item] = 0;
    if (!(score > 0)) continue;
    if (best.length === k) {
      const last = best[k - 1]!;
      const lastScore = scoreOf(last);
      if (score < lastScore || (score === lastScore && item > last)) continue;
      best.pop();
    }
    let at = best.length;
    while (at > 0) {
      const before = best[at - 1]!;
      const beforeScore = scoreOf(before);
      if (beforeScore > score || (beforeScore === score && before < item)) break;
      at--;
    }
    best.splice(at, 0, item);
    scores.set(item, score);
  }
  return best;
}

/**
 * Popularity exponents the β search tries. Each costs a top-K selection over every item's co-occurrences,
 * so the grid is short; it reaches lower than the dense search's RP3_BETAS because on sparse long-tail
 * data popularity carries more of the signal (on the large synthetic catalog β = 0.3 beat 0.5 and 0.6
 * by 2.5× and 6.5× in validation nDCG).
 */
export const SPARSE_BETAS = [0, 0.25, 0.5, 0.75] as const;

export interface SparseSearchOptions {
  neighbours: number;
  weightings: readonly Weighting[];
  betas: readonly number[];
  k: number;
  seed: number;
  /** Validation users scored per candidate (a seeded sample; default 5,000): enough for a stable nDCG. */
  validationUsers?: number;
  onProgress?: (message: string) => void;
}

export interface SparseChoice {
  weighting: Weighting;
  beta: number;
  ndcgAtK: number;
  tried: Array<{ weighting: Weighting; beta: number; ndcgAtK: number }>;
}

/**
 * Chooses the weighting and β on the training rows alone, like the dense searches: each user's training
 * items split again 80/20 (seeded), one co-occurrence pass per weighting gives a model per β, and the
 * best nDCG@k on the inner validation part (of a seeded sample of its users) wins (ties to the earlier
 * candidate). Unlike the dense searches it keeps the whole catalog: the point of this model is the
 * long tail.
 */
export function searchSparseNeighbours(
  rows: readonly UserRow[],
  itemCount: number,
  options: SparseSearchOptions,
): SparseChoice {
  if (options.weightings.length === 0 || options.betas.length === 0)
    throw new Error('the sparse search needs at least one weighting and one β');
  const { train, test } = splitPerUser({ rows }, options.seed + 1, 0.8);
  // Every candidate is scored on the same users; rows outside the sample count as having no test items.
  const withTest = test.flatMap((row, user) => (row.items.length > 0 ? [user] : []));
  const limit = options.validationUsers ?? 5000;
  const random = seededRandom(options.seed + 2);
  for (let i = withTest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [withTest[i], withTest[j]] = [withTest[j]!, withTest[i]!];
  }
  const sampled = new Set(withTest.slice(0, limit));
  const validation = test.map((row, user) =>
    sampled.has(user) ? row : { items: new Int32Array(0), weights: new Float64Array(0) },
  );
  const scratch = new Float64Array(itemCount);
  const tried: SparseChoice['tried'] = [];
  for (const weighting of options.weightings) {
    const report = options.onProgress;
    const models = trainSparseNeighboursForBetas(
      train,
      itemCount,
      { neighbours: options.neighbours, betas: options.betas, weighting },
      report && ((stage, done, total) => report(`search: ${weighting} weighting, ${stage} ${done}/${total}`)),
    );
    models.forEach((model, b) => {
      const lists = train.map((row, user) =>
        (validation[user]?.items.length ?? 0) === 0
          ? []
          : recommendWithNeighbours(model, row, weighting, options.k, scratch),
      );
      const ndcgAtK = rankingMetrics(lists, validation, options.k).ndcgAtK;
      const beta = options.betas[b]!;
      tried.push({ weighting, beta, ndcgAtK });
      options.onProgress?.(
        `search: sparse ${weighting} β=${beta} gives validation nDCG@${options.k} ${ndcgAtK}`,
      );
    });
  }
  const best = tried.reduce((a, b) => (b.ndcgAtK > a.ndcgAtK ? b : a));
  return { weighting: best.weighting, beta: best.beta, ndcgAtK: best.ndcgAtK, tried };
}
