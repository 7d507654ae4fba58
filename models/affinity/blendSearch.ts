import { blendShares, frobeniusNorm } from './affinityMatrix';
import { CatalogRow, easeWeightsFromGram, gramMatrix, Weighting } from './ease';
import { UserRow } from './interactionMatrix';
import { innerValidationSplit } from './lambdaSearch';
import { lowPassBasis, lowPassWeights } from './lowPass';
import { lowRankBasis } from './lowRank';
import { rankingMetrics } from './protocol';
import { popularityDemotion, randomWalkWeights } from './rp3beta';
import { topItems } from '../../shared/affinity/affinityModel';

/**
 * Chooses the blend of the affinity matrix (affinityMatrix.ts) on the same inner validation split as
 * the λ search (training data only), with EASE at the λ already chosen, in three stages:
 *   1. RP3beta's β and its share s next to EASE: every β with every share, next to EASE alone;
 *   2. with that pair fixed, the low-rank part's rank r and share c: every r with every c, next to none;
 *   3. with that blend fixed, the low-pass part's rank q and share h: every q with every h, next to none.
 * The simpler candidate (EASE alone; no low-rank part; no low-pass part) is scored first and wins ties,
 * so each part only enters where validation says it helps.
 *
 * A blend's scores are the same blend of its parts' scores, so each user is scored once by EASE, once
 * per β and once per rank (x·V·Vᵀ costs history × r + catalog × r), and every candidate costs only a
 * weighted sum and a top-k.
 */
export const RP3_BETAS = [0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;
export const BLEND_SHARES = [0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;
export const LOW_RANKS = [8, 16, 32] as const;
export const LOW_RANK_SHARES = [0, 0.1, 0.2, 0.3, 0.4] as const;
export const LOW_PASS_RANKS = [32, 64] as const;
export const LOW_PASS_SHARES = [0, 0.2, 0.4, 0.5, 0.6] as const;

export interface BlendSearchOptions {
  weighting: Weighting;
  lambda: number;
  k: number;
  seed: number;
  tuningItems?: number;
  betas?: readonly number[];
  blends?: readonly number[];
  lowRanks?: readonly number[];
  lowRankShares?: readonly number[];
  lowPassRanks?: readonly number[];
  lowPassShares?: readonly number[];
  onProgress?: (message: string) => void;
}

export interface BlendChoice {
  blend: number;
  /** 0 when the blend is 0 (RP3beta unused). */
  rp3Beta: number;
  lowRankShare: number;
  /** 0 when the low-rank share is 0 (no low-rank part). */
  lowRank: number;
  lowPassShare: number;
  /** 0 when the low-pass share is 0 (no low-pass part). */
  lowPassRank: number;
}

export interface BlendSearchResult extends BlendChoice {
  ndcgAtK: number;
  tried: Array<BlendChoice & { ndcgAtK: number }>;
}

const NO_LOW_RANK = { lowRankShare: 0, lowRank: 0 } as const;
const NO_LOW_PASS = { lowPassShare: 0, lowPassRank: 0 } as const;
/** EASE alone: the first and simplest candidate. */
export const EASE_ALONE: Readonly<BlendChoice> = { blend: 0, rp3Beta: 0, ...NO_LOW_RANK, ...NO_LOW_PASS };

/** A part's validation scores for one user, already divided by the part's matrix norm. */
type PartScorer = (row: CatalogRow, scores: Float64Array) => void;

function matrixScorer(
  weights: Float32Array | Float64Array,
  n: number,
  norm = frobeniusNorm(weights) || 1,
): PartScorer {
  return ({ positions, values }, scores) => {
    scores.fill(0);
    for (let e = 0; e < positions.length; e++) {
      const rowStart = positions[e]! * n;
      const value = values[e]! / norm;
      for (let j = 0; j < n; j++) scores[j]! += value * weights[rowStart + j]!;
    }
  };
}

/**
 * RP3beta's scorers for every β from one walk matrix: demotion by popularity^−β is a column scaling D,
 * so x·(W·D) = (x·W)·D and ‖W·D‖² = Σⱼ dⱼ²·Σᵢ Wᵢⱼ². The walk scores of the current history are
 * computed once and scaled per β (scorers are called in order for each user, the first one scoring).
 */
function walkScorers(train: readonly CatalogRow[], n: number, betas: readonly number[]): PartScorer[] {
  const walk = randomWalkWeights(train, n);
  const columnSquares = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) columnSquares[j]! += walk[i * n + j]! ** 2;
  const walkScores = new Float64Array(n);
  const scoreWalk = matrixScorer(walk, n, 1);
  let scoredRow: CatalogRow | undefined;
  return betas.map((beta) => {
    const demotion = popularityDemotion(train, n, beta);
    let squared = 0;
    for (let j = 0; j < n; j++) squared += demotion[j]! ** 2 * columnSquares[j]!;
    const norm = squared > 0 ? Math.sqrt(squared) : 1;
    return (row, scores) => {
      if (scoredRow !== row) {
        scoreWalk(row, walkScores);
        scoredRow = row;
      }
      for (let j = 0; j < n; j++) scores[j] = (walkScores[j]! * demotion[j]!) / norm;
    };
  });
}

/** Scores of L = V·Vᵀ (zero diagonal) for the first `rank` columns of a basis n × width, without L. */
function lowRankScorer(basis: Float64Array, n: number, width: number, rank: number): PartScorer {
  const diagonal = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let a = 0; a < rank; a++) diagonal[i]! += basis[i * width + a]! ** 2;
  // ‖V·Vᵀ‖² = Σ over column pairs of (Vₐ·V_b)², less the diagonal the model leaves out.
  let squared = 0;
  for (let a = 0; a < rank; a++) {
    for (let b = 0; b < rank; b++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += basis[i * width + a]! * basis[i * width + b]!;
      squared += dot * dot;
    }
  }
  for (const d of diagonal) squared -= d * d;
  const norm = squared > 0 ? Math.sqrt(squared) : 1;
  const projection = new Float64Array(rank);
  return ({ positions, values }, scores) => {
    projection.fill(0);
    for (let e = 0; e < positions.length; e++) {
      const rowStart = positions[e]! * width;
      for (let a = 0; a < rank; a++) projection[a]! += values[e]! * basis[rowStart + a]!;
    }
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let a = 0; a < rank; a++) sum += projection[a]! * basis[j * width + a]!;
      scores[j] = sum / norm;
    }
    for (let e = 0; e < positions.length; e++) {
      const p = positions[e]!;
      scores[p]! -= (values[e]! * diagonal[p]!) / norm;
    }
  };
}

/**
 * Records a stage's candidates in `tried` and returns the best so far: a candidate replaces it only by
 * scoring higher (the simpler choice wins ties), unless the part is required (no share of 0 was
 * offered), when the best of the stage wins outright.
 */
function adoptBetter<T extends BlendChoice>(
  best: T & { ndcgAtK: number },
  candidates: readonly T[],
  scores: readonly number[],
  required: boolean,
  tried: Array<BlendChoice & { ndcgAtK: number }>,
): T & { ndcgAtK: number } {
  let winner = required ? undefined : best;
  candidates.forEach((choice, c) => {
    const candidate = { ...choice, ndcgAtK: scores[c]! };
    tried.push(candidate);
    if (winner === undefined || candidate.ndcgAtK > winner.ndcgAtK) winner = candidate;
  });
  return winner ?? best;
}

/** The weighted sum of parts' scores as one part (a blend already chosen); zero weights are skipped. */
function weightedScorer(parts: ReadonlyArray<readonly [PartScorer, number]>, n: number): PartScorer {
  const partScores = new Float64Array(n);
  return (row, scores) => {
    scores.fill(0);
    for (const [score, weight] of parts) {
      if (weight === 0) continue;
      score(row, partScores);
      for (let j = 0; j < n; j++) scores[j]! += weight * partScores[j]!;
    }
  };
}

/**
 * Validation nDCG@k of each candidate, a candidate being a weighting of parts' scores (weights in the
 * order of `parts`); one scoring pass per part per user.
 */
function scoreCandidates(
  train: readonly CatalogRow[],
  validation: readonly UserRow[],
  n: number,
  k: number,
  parts: readonly PartScorer[],
  candidates: ReadonlyArray<readonly number[]>,
): number[] {
  const lists: number[][][] = candidates.map(() => train.map(() => []));
  const partScores = parts.map(() => new Float64Array(n));
  const blended = new Float32Array(n);
  train.forEach((row, user) => {
    if ((validation[user]?.items.length ?? 0) === 0) return;
    parts.forEach((score, p) => score(row, partScores[p]!));
    const seen = new Set(row.positions);
    candidates.forEach((weights, c) => {
      blended.fill(0);
      weights.forEach((weight, p) => {
        if (weight === 0) return;
        const scores = partScores[p]!;
        for (let j = 0; j < n; j++) blended[j]! += weight * scores[j]!;
      });
      lists[c]![user] = topItems(blended, k, seen);
    });
  });
  return lists.map((perUser) => rankingMetrics(perUser, validation, k).ndcgAtK);
}

export function searchBlend(
  rows: readonly UserRow[],
  itemCount: number,
  options: BlendSearchOptions,
): BlendSearchResult {
  const betas = options.betas ?? RP3_BETAS;
  const blends = options.blends ?? BLEND_SHARES;
  const ranks = options.lowRanks ?? LOW_RANKS;
  const lowRankShares = options.lowRankShares ?? LOW_RANK_SHARES;
  const { n, train, validation } = innerValidationSplit(rows, itemCount, options);
  const widest = Math.min(n, Math.max(0, ...ranks));
  const basis = widest > 0 && lowRankShares.some((c) => c > 0) ? lowRankBasis(train, n, widest) : undefined;
  const ease = matrixScorer(easeWeightsFromGram(gramMatrix(train, n), n, options.lambda), n);
  const walks = walkScorers(train, n, betas);

  // Stage 1: EASE and RP3beta. Parts: [EASE, walk(β₀), walk(β₁), …].
  const first: BlendChoice[] = [
    ...(blends.includes(0) ? [{ ...EASE_ALONE }] : []),
    ...betas.flatMap((rp3Beta) =>
      blends
        .filter((blend) => blend > 0)
        .map((blend) => ({ blend, rp3Beta, ...NO_LOW_RANK, ...NO_LOW_PASS })),
    ),
  ];
  const firstScores = scoreCandidates(
    train,
    validation,
    n,
    options.k,
    [ease, ...walks],
    first.map((choice) => [1 - choice.blend, ...betas.map((b) => (b === choice.rp3Beta ? choice.blend : 0))]),
  );
  const tried = first.map((choice, c) => ({ ...choice, ndcgAtK: firstScores[c]! }));
  let best = tried.reduce((a, b) => (b.ndcgAtK > a.ndcgAtK ? b : a));

  // Stage 2: the low-rank part next to the chosen pair. Parts: [EASE, walk(chosen β), rank r₀, r₁, …].
  const usable = ranks.filter((rank) => rank <= widest);
  const positiveShares = lowRankShares.filter((c) => c > 0);
  if (basis !== undefined && usable.length > 0 && positiveShares.length > 0) {
    const walk = best.blend > 0 ? walks[betas.indexOf(best.rp3Beta)]! : ease;
    const lowRanks = usable.map((rank) => lowRankScorer(basis, n, widest, rank));
    const second = usable.flatMap((lowRank) =>
      positiveShares.map((lowRankShare) => ({ ...best, lowRankShare, lowRank })),
    );
    const secondScores = scoreCandidates(
      train,
      validation,
      n,
      options.k,
      [ease, walk, ...lowRanks],
      second.map((choice) => {
        const shares = blendShares(choice);
        return [
          shares.ease,
          shares.rp3beta,
          ...usable.map((r) => (r === choice.lowRank ? shares.lowRank : 0)),
        ];
      }),
    );
    // Without 0 among the shares a low-rank part is required, so the best with one wins outright.
    best = adoptBetter(best, second, secondScores, !lowRankShares.includes(0), tried);
  }
  // Stage 3: the low-pass part next to the chosen blend. Parts: [that blend, low pass q₀, q₁, …].
  const passRanks = (options.lowPassRanks ?? LOW_PASS_RANKS).filter((rank) => rank >= 1 && rank <= n);
  const passShares = options.lowPassShares ?? LOW_PASS_SHARES;
  const positivePassShares = passShares.filter((h) => h > 0);
  if (passRanks.length > 0 && positivePassShares.length > 0) {
    const shares = blendShares(best);
    const chosenParts: Array<[PartScorer, number]> = [[ease, shares.ease]];
    if (best.blend > 0) chosenParts.push([walks[betas.indexOf(best.rp3Beta)]!, shares.rp3beta]);
    if (best.lowRankShare > 0 && basis !== undefined) {
      chosenParts.push([lowRankScorer(basis, n, widest, best.lowRank), shares.lowRank]);
    }
    const chosen = weightedScorer(chosenParts, n);
    const passWidest = Math.max(...passRanks);
    const passBasis = lowPassBasis(train, n, passWidest);
    const lowPasses = passRanks.map((rank) =>
      matrixScorer(lowPassWeights(passBasis, n, passWidest, rank), n),
    );
    const third = passRanks.flatMap((lowPassRank) =>
      positivePassShares.map((lowPassShare) => ({ ...best, lowPassShare, lowPassRank })),
    );
    const thirdScores = scoreCandidates(
      train,
      validation,
      n,
      options.k,
      [chosen, ...lowPasses],
      third.map((choice) => [
        1 - choice.lowPassShare,
        ...passRanks.map((q) => (q === choice.lowPassRank ? choice.lowPassShare : 0)),
      ]),
    );
    best = adoptBetter(best, third, thirdScores, !passShares.includes(0), tried);
  }
  options.onProgress?.(
    `search: blend ${best.blend} with RP3beta β=${best.rp3Beta}, low-rank share ${best.lowRankShare} at rank ${best.lowRank}, low-pass share ${best.lowPassShare} at rank ${best.lowPassRank} gives validation nDCG@${options.k} ${best.ndcgAtK}`,
  );
  return { ...best, tried };
}
