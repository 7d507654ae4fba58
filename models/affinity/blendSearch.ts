import { frobeniusNorm } from './affinityMatrix';
import { easeWeightsFromGram, gramMatrix, Weighting } from './ease';
import { UserRow } from './interactionMatrix';
import { innerValidationSplit } from './lambdaSearch';
import { rankingMetrics } from './protocol';
import { rp3betaWeights } from './rp3beta';
import { topItems } from '../../shared/affinity/affinityModel';

/**
 * Chooses RP3beta's β and its share in the blend with EASE (affinityMatrix.ts) on the same inner
 * validation split as the λ search (training data only), with EASE at the λ already chosen. Every pair
 * of the grids below is scored; blend 0 (EASE alone) is a candidate and wins ties, so the blend only
 * enters where validation says it helps.
 *
 * A blend's scores are the same blend of the two models' scores, so each user is scored once by EASE and
 * once per β, and every blend costs only a weighted sum and a top-k.
 */
export const RP3_BETAS = [0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;
export const BLEND_SHARES = [0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

export interface BlendSearchOptions {
  weighting: Weighting;
  lambda: number;
  k: number;
  seed: number;
  tuningItems?: number;
  betas?: readonly number[];
  blends?: readonly number[];
  onProgress?: (message: string) => void;
}

export interface BlendSearchResult {
  blend: number;
  /** 0 when the blend is 0 (RP3beta unused). */
  rp3Beta: number;
  ndcgAtK: number;
  tried: Array<{ blend: number; rp3Beta: number; ndcgAtK: number }>;
}

export function searchBlend(
  rows: readonly UserRow[],
  itemCount: number,
  options: BlendSearchOptions,
): BlendSearchResult {
  const betas = options.betas ?? RP3_BETAS;
  const blends = options.blends ?? BLEND_SHARES;
  const { n, train, validation } = innerValidationSplit(rows, itemCount, options);
  const ease = easeWeightsFromGram(gramMatrix(train, n), n, options.lambda);
  const easeNorm = frobeniusNorm(ease) || 1;
  const walks = betas.map((beta) => {
    const weights = rp3betaWeights(train, n, beta);
    return { weights, norm: frobeniusNorm(weights) || 1 };
  });
  // Candidates in order: blend 0 (EASE alone, β unused) once if allowed, then every β with every
  // positive blend.
  const candidates = [
    ...(blends.includes(0) ? [{ blend: 0, betaIndex: -1 }] : []),
    ...betas.flatMap((_, betaIndex) =>
      blends.filter((blend) => blend > 0).map((blend) => ({ blend, betaIndex })),
    ),
  ];
  const lists: number[][][] = candidates.map(() => train.map(() => []));
  const easeScores = new Float64Array(n);
  const walkScores = walks.map(() => new Float64Array(n));
  const blended = new Float32Array(n);
  train.forEach(({ positions, values }, user) => {
    if ((validation[user]?.items.length ?? 0) === 0) return;
    easeScores.fill(0);
    for (let e = 0; e < positions.length; e++) {
      const rowStart = positions[e]! * n;
      for (let j = 0; j < n; j++) easeScores[j]! += values[e]! * ease[rowStart + j]!;
    }
    walks.forEach(({ weights }, w) => {
      const scores = walkScores[w]!;
      scores.fill(0);
      for (let e = 0; e < positions.length; e++) {
        const rowStart = positions[e]! * n;
        for (let j = 0; j < n; j++) scores[j]! += values[e]! * weights[rowStart + j]!;
      }
    });
    const seen = new Set(positions);
    candidates.forEach(({ blend, betaIndex }, c) => {
      if (betaIndex < 0) {
        blended.set(easeScores);
      } else {
        const walk = walkScores[betaIndex]!;
        const easeScale = (1 - blend) / easeNorm;
        const walkScale = blend / walks[betaIndex]!.norm;
        for (let j = 0; j < n; j++) blended[j] = easeScale * easeScores[j]! + walkScale * walk[j]!;
      }
      lists[c]![user] = topItems(blended, options.k, seen);
    });
  });
  const tried = candidates.map(({ blend, betaIndex }, c) => ({
    blend,
    rp3Beta: betaIndex < 0 ? 0 : betas[betaIndex]!,
    ndcgAtK: rankingMetrics(lists[c]!, validation, options.k).ndcgAtK,
  }));
  const best = tried.reduce((a, b) => (b.ndcgAtK > a.ndcgAtK ? b : a));
  options.onProgress?.(
    `search: blend ${best.blend} with RP3beta β=${best.rp3Beta} gives validation nDCG@${options.k} ${best.ndcgAtK}`,
  );
  return { ...best, tried };
}
