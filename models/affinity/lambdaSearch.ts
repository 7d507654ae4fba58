import { CatalogRow, catalogRows, gramMatrix, selectCatalog, Weighting } from './ease';
import { UserRow } from './interactionMatrix';
import { invertSpd } from './onnxInverse';
import { rankingMetrics, splitPerUser } from './protocol';
import { topItems } from '../../shared/affinity/affinityModel';

/**
 * Chooses EASE's λ on the training data alone: each user's training items are split again 80/20, and
 * λ values one factor of 3 apart are tried, climbing toward the better side until nDCG@k on that inner
 * validation stops improving, then one √3 step refines between the best and its better neighbour
 * (typically 4-5 inversions). The optimum moves with data density by an order of magnitude between
 * data sets, so a fixed λ would leave quality behind; the test split is never looked at.
 * To bound the cost the search uses the `tuningItems` (default 800) most popular items: λ acts on the
 * Gram diagonal, which those items dominate; on synthetic MovieLens-like data 600-800 items chose a λ
 * nearer the held-out optimum than 1,000-1,500 did, at a fraction of the cost.
 */
export interface LambdaSearchOptions {
  weighting: Weighting;
  k: number;
  seed: number;
  tuningItems?: number;
  start?: number;
  /** Evaluate only these λ values instead of climbing (used to score a fixed λ under a weighting). */
  candidates?: number[];
  onProgress?: (message: string) => void;
}

export interface LambdaSearchResult {
  lambda: number;
  tried: Array<{ lambda: number; ndcgAtK: number }>;
}

const LOWEST = 1;
const HIGHEST = 1e6;

/**
 * The inner validation split both searches use: each user's training items split again 80/20 (seeded),
 * restricted to the `tuningItems` most popular items. Training rows come weighted, in catalog positions;
 * validation rows hold catalog positions (their weights are not used: relevance is binary).
 */
export interface InnerValidation {
  n: number;
  train: CatalogRow[];
  validation: UserRow[];
}

export function innerValidationSplit(
  rows: readonly UserRow[],
  itemCount: number,
  options: { weighting: Weighting; seed: number; tuningItems?: number },
): InnerValidation {
  const { train, test } = splitPerUser({ rows }, options.seed + 1, 0.8);
  const catalog = selectCatalog(train, itemCount, options.tuningItems ?? 800);
  const validation = catalogRows(test, catalog, itemCount, options.weighting).map((row) => ({
    items: row.positions,
    weights: row.values,
  }));
  return { n: catalog.length, train: catalogRows(train, catalog, itemCount, options.weighting), validation };
}

export function searchLambda(
  rows: readonly UserRow[],
  itemCount: number,
  options: LambdaSearchOptions,
): LambdaSearchResult {
  const { n, train: trainRows, validation: testRows } = innerValidationSplit(rows, itemCount, options);
  const gram = gramMatrix(trainRows, n);

  const cache = new Map<number, number>();
  const tried: LambdaSearchResult['tried'] = [];
  const evaluate = (lambda: number): number => {
    const known = cache.get(lambda);
    if (known !== undefined) return known;
    const inverse = gram.slice();
    for (let i = 0; i < n; i++) inverse[i * n + i]! += lambda;
    invertSpd(inverse, n);
    // Scores of B = I − P·diag(1/diag P) without forming B: score_j = −(x·P)_j / P_jj off the history.
    const scores = new Float32Array(n);
    const lists = trainRows.map(({ positions: items, values }, user) => {
      if ((testRows[user]?.items.length ?? 0) === 0) return [];
      scores.fill(0);
      for (let e = 0; e < items.length; e++) {
        const rowStart = items[e]! * n;
        const value = values[e]!;
        for (let j = 0; j < n; j++) scores[j]! -= value * inverse[rowStart + j]!;
      }
      for (let j = 0; j < n; j++) scores[j]! /= inverse[j * n + j]!;
      return topItems(scores, options.k, new Set(items));
    });
    const ndcg = rankingMetrics(lists, testRows, options.k).ndcgAtK;
    cache.set(lambda, ndcg);
    tried.push({ lambda, ndcgAtK: ndcg });
    options.onProgress?.(
      `search: ${options.weighting} λ=${lambda} gives validation nDCG@${options.k} ${ndcg}`,
    );
    return ndcg;
  };

  if (options.candidates !== undefined) {
    for (const candidate of options.candidates) evaluate(candidate);
    const winner = tried.reduce((a, b) => (b.ndcgAtK > a.ndcgAtK ? b : a));
    return { lambda: winner.lambda, tried };
  }
  const step = 3;
  let best = options.start ?? 150;
  let up = best * step;
  const direction = evaluate(up) > evaluate(best) ? step : 1 / step;
  if (direction === step) best = up;
  for (;;) {
    const next = Math.round(best * direction);
    if (next < LOWEST || next > HIGHEST || evaluate(next) <= evaluate(best)) break;
    best = next;
  }
  const below = Math.round(best / step);
  up = Math.round(best * step);
  const neighbour = cache.has(below) && (!cache.has(up) || cache.get(below)! > cache.get(up)!) ? below : up;
  const middle = Math.round(Math.sqrt(best * neighbour));
  if (middle >= LOWEST && middle <= HIGHEST && evaluate(middle) > evaluate(best)) best = middle;
  return { lambda: best, tried };
}
