import {
  catalogRows,
  easeWeightsFromGram,
  gramMatrix,
  ItemMatrixModel,
  selectCatalog,
  TrainingProgress,
  Weighting,
} from './ease';
import { UserRow } from './interactionMatrix';
import { lowPassBasis, lowPassWeights } from './lowPass';
import { lowRankBasis, lowRankWeights } from './lowRank';
import { rp3betaWeights } from './rp3beta';

/**
 * The affinity model: one item × item matrix M, a user's scores being their weighted history times M
 * (exactly what the ONNX graph computes). M blends four item × item models of different kinds,
 *
 *   M = (1 − h)·{(1 − c)·[(1 − s)·B/‖B‖ + s·W/‖W‖] + c·L/‖L‖} + h·H/‖H‖        (‖·‖ the Frobenius norm)
 *
 * with B EASE's regression weights (ease.ts), W RP3beta's random-walk transitions (rp3beta.ts), L the
 * rank-r projection onto the dominant taste directions (lowRank.ts), H the degree-normalised low-pass
 * filter of rank q (lowPass.ts), s the blend share, c the low-rank share and h the low-pass share. A
 * user's blended score is the same blend of the four models' scores, each on a common scale, so the one
 * matrix serves them all at the cost of one. s = c = h = 0 is plain EASE; λ, β, s, r, c, q and h are
 * chosen on an inner validation split of the training data (lambdaSearch.ts, blendSearch.ts).
 */
export interface AffinityMatrixOptions {
  /** EASE's L2 regularisation λ. */
  lambda: number;
  /** Largest catalog the dense model keeps (the most popular items). */
  maxItems: number;
  weighting: Weighting;
  /** Share s of RP3beta next to EASE, 0 (EASE alone) to 1 (RP3beta alone). */
  blend: number;
  /** RP3beta's popularity exponent β. */
  rp3Beta: number;
  /** Share c of the low-rank part, 0 (none) to 1 (it alone). */
  lowRankShare: number;
  /** Rank r of the low-rank part. */
  lowRank: number;
  /** Share h of the low-pass part, 0 (none) to 1 (it alone). */
  lowPassShare: number;
  /** Rank q of the low-pass part. */
  lowPassRank: number;
}

export function frobeniusNorm(matrix: Float32Array | Float64Array): number {
  let sum = 0;
  for (const value of matrix) sum += value * value;
  return Math.sqrt(sum);
}

export interface BlendPart {
  weights: Float32Array | Float64Array;
  share: number;
}

/** Σ share · weights / ‖weights‖ over the parts; a matrix of zeros (no co-occurrence) adds nothing. */
export function blendMatrices(parts: readonly BlendPart[]): Float32Array {
  const size = parts[0]?.weights.length ?? 0;
  const result = new Float32Array(size);
  for (const { weights, share } of parts) {
    if (!(share >= 0 && share <= 1)) throw new Error(`a blend share must be within [0, 1], got ${share}`);
    if (weights.length !== size) throw new Error('the blended matrices differ in size');
    const norm = frobeniusNorm(weights);
    if (share === 0 || norm === 0) continue;
    const scale = share / norm;
    for (let i = 0; i < size; i++) result[i]! += scale * weights[i]!;
  }
  return result;
}

/** The four shares (EASE, RP3beta, low rank, low pass) the options describe; they sum to 1. */
export function blendShares(
  options: Pick<AffinityMatrixOptions, 'blend' | 'lowRankShare' | 'lowPassShare'>,
): {
  ease: number;
  rp3beta: number;
  lowRank: number;
  lowPass: number;
} {
  for (const [name, value] of [
    ['blend', options.blend],
    ['lowRankShare', options.lowRankShare],
    ['lowPassShare', options.lowPassShare],
  ] as const) {
    if (!(value >= 0 && value <= 1)) throw new Error(`${name} must be within [0, 1], got ${value}`);
  }
  const outer = 1 - options.lowPassShare;
  const rest = outer * (1 - options.lowRankShare);
  return {
    ease: rest * (1 - options.blend),
    rp3beta: rest * options.blend,
    lowRank: outer * options.lowRankShare,
    lowPass: options.lowPassShare,
  };
}

export function trainAffinityMatrix(
  rows: readonly UserRow[],
  itemCount: number,
  options: AffinityMatrixOptions,
  onProgress?: TrainingProgress,
): ItemMatrixModel {
  const shares = blendShares(options);
  const catalog = selectCatalog(rows, itemCount, options.maxItems);
  const n = catalog.length;
  if (n === 0) throw new Error('no items to train on');
  const restricted = catalogRows(rows, catalog, itemCount, options.weighting);
  const parts: BlendPart[] = [];
  if (shares.lowRank > 0) {
    const basis = lowRankBasis(restricted, n, options.lowRank);
    parts.push({
      weights: lowRankWeights(basis, n, options.lowRank, options.lowRank),
      share: shares.lowRank,
    });
  }
  if (shares.lowPass > 0) {
    const basis = lowPassBasis(restricted, n, options.lowPassRank);
    parts.push({
      weights: lowPassWeights(basis, n, options.lowPassRank, options.lowPassRank),
      share: shares.lowPass,
    });
  }
  if (shares.ease > 0) {
    const ease = easeWeightsFromGram(gramMatrix(restricted, n, onProgress), n, options.lambda, onProgress);
    if (shares.ease === 1) return { catalog, weights: ease };
    parts.push({ weights: ease, share: shares.ease });
  }
  if (shares.rp3beta > 0) {
    parts.push({ weights: rp3betaWeights(restricted, n, options.rp3Beta), share: shares.rp3beta });
  }
  return { catalog, weights: blendMatrices(parts) };
}
