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
import { rp3betaWeights } from './rp3beta';

/**
 * The affinity model: one item × item matrix M, a user's scores being their weighted history times M
 * (exactly what the ONNX graph computes). M blends two neighbourhood models of different kinds,
 *
 *   M = (1 − blend) · B / ‖B‖ + blend · W / ‖W‖       (‖·‖ the Frobenius norm)
 *
 * with B EASE's regression weights (ease.ts) and W RP3beta's random-walk transitions (rp3beta.ts). A
 * user's blended score is the same blend of the two models' scores, each on a common scale, so the one
 * matrix serves both at the cost of one. blend 0 is plain EASE; λ, β and the blend are chosen on an
 * inner validation split of the training data (lambdaSearch.ts, blendSearch.ts).
 */
export interface AffinityMatrixOptions {
  /** EASE's L2 regularisation λ. */
  lambda: number;
  /** Largest catalog the dense model keeps (the most popular items). */
  maxItems: number;
  weighting: Weighting;
  /** Share of RP3beta in the blend, 0 (EASE alone) to 1 (RP3beta alone). */
  blend: number;
  /** RP3beta's popularity exponent β. */
  rp3Beta: number;
}

/** Adds `scale` × source to target, element by element. */
function addScaled(target: Float32Array, source: Float32Array | Float64Array, scale: number): void {
  for (let i = 0; i < target.length; i++) target[i]! += scale * source[i]!;
}

export function frobeniusNorm(matrix: Float32Array | Float64Array): number {
  let sum = 0;
  for (const value of matrix) sum += value * value;
  return Math.sqrt(sum);
}

/** (1 − blend)·ease/‖ease‖ + blend·rp3beta/‖rp3beta‖; a matrix of zeros (no co-occurrence) stays zero. */
export function blendMatrices(
  ease: Float32Array,
  rp3beta: Float32Array | Float64Array,
  blend: number,
): Float32Array {
  if (!(blend >= 0 && blend <= 1)) throw new Error(`blend must be within [0, 1], got ${blend}`);
  const result = new Float32Array(ease.length);
  const easeNorm = frobeniusNorm(ease);
  const rp3Norm = frobeniusNorm(rp3beta);
  if (blend < 1 && easeNorm > 0) addScaled(result, ease, (1 - blend) / easeNorm);
  if (blend > 0 && rp3Norm > 0) addScaled(result, rp3beta, blend / rp3Norm);
  return result;
}

export function trainAffinityMatrix(
  rows: readonly UserRow[],
  itemCount: number,
  options: AffinityMatrixOptions,
  onProgress?: TrainingProgress,
): ItemMatrixModel {
  const catalog = selectCatalog(rows, itemCount, options.maxItems);
  const n = catalog.length;
  if (n === 0) throw new Error('no items to train on');
  const restricted = catalogRows(rows, catalog, itemCount, options.weighting);
  const ease =
    options.blend < 1
      ? easeWeightsFromGram(gramMatrix(restricted, n, onProgress), n, options.lambda, onProgress)
      : new Float32Array(n * n);
  if (options.blend === 0) return { catalog, weights: ease };
  return {
    catalog,
    weights: blendMatrices(ease, rp3betaWeights(restricted, n, options.rp3Beta), options.blend),
  };
}
