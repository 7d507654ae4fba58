import { itemUserCounts, UserRow } from './interactionMatrix';
import { invertSpd } from './onnxInverse';

/**
 * EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): an item × item weight
 * matrix B with a zero diagonal, closed form B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹.
 * A user's scores are their history row times B, which is exactly what the exported ONNX graph computes,
 * so a user never seen in training is scored from the live history alone.
 *
 * Size: B is dense, catalog² × 4 bytes in the model (1k items 4 MB, 5k items 100 MB, 10k items 400 MB)
 * and catalog² × 8 bytes plus catalog³ work while training. Catalogs beyond `maxItems` therefore keep the
 * `maxItems` items most users engaged with; the long tail is served by cold start and popularity.
 */

export type Weighting = 'binary' | 'raw' | 'log1p';

export interface EaseOptions {
  /** L2 regularisation λ added to the Gram matrix's diagonal. */
  lambda: number;
  /** Largest catalog the dense model keeps (the most popular items). */
  maxItems: number;
  weighting: Weighting;
}

export interface ItemMatrixModel {
  /** Indices (into the training matrix's items) of the modelled items, in model order. */
  catalog: Int32Array;
  /** Row-major catalog × catalog weights; row i holds what item i contributes to every item's score. */
  weights: Float32Array;
}

export type TrainingProgress = (stage: string, done: number, total: number) => void;

export function applyWeighting(weight: number, weighting: Weighting): number {
  if (weighting === 'binary') return weight > 0 ? 1 : 0;
  if (weighting === 'log1p') return Math.log1p(weight);
  return weight;
}

/** The most popular items (by number of users), at most maxItems, in a stable order. */
export function selectCatalog(rows: readonly UserRow[], itemCount: number, maxItems: number): Int32Array {
  const counts = itemUserCounts(rows, itemCount);
  const engaged: number[] = [];
  for (let item = 0; item < itemCount; item++) if ((counts[item] ?? 0) > 0) engaged.push(item);
  if (engaged.length <= maxItems) return Int32Array.from(engaged);
  engaged.sort((a, b) => (counts[b] ?? 0) - (counts[a] ?? 0) || a - b);
  return Int32Array.from(engaged.slice(0, maxItems)).sort();
}

/** A user row restricted to the catalog: positions into the catalog (ascending) and weighted values. */
export interface CatalogRow {
  positions: Int32Array;
  values: Float64Array;
}

/** Each row's items that are in the catalog, as catalog positions with their weighted values. */
export function catalogRows(
  rows: readonly UserRow[],
  catalog: Int32Array,
  itemCount: number,
  weighting: Weighting,
): CatalogRow[] {
  const position = new Int32Array(itemCount).fill(-1);
  catalog.forEach((item, index) => (position[item] = index));
  return rows.map((row) => {
    const positions: number[] = [];
    const values: number[] = [];
    for (let e = 0; e < row.items.length; e++) {
      const p = position[row.items[e]!]!;
      if (p < 0) continue;
      positions.push(p);
      values.push(applyWeighting(row.weights[e]!, weighting));
    }
    // Rows are sorted by item index and the catalog keeps that order, so positions ascend.
    return { positions: Int32Array.from(positions), values: Float64Array.from(values) };
  });
}

/** The Gram matrix XᵀX (n × n, upper triangle only): each user adds the products of their item pairs. */
export function gramMatrix(
  rows: readonly CatalogRow[],
  n: number,
  onProgress?: TrainingProgress,
): Float64Array {
  const gram = new Float64Array(n * n);
  rows.forEach(({ positions, values }, userIndex) => {
    for (let a = 0; a < positions.length; a++) {
      const rowStart = positions[a]! * n;
      const va = values[a]!;
      for (let b = a; b < positions.length; b++) gram[rowStart + positions[b]!]! += va * values[b]!;
    }
    if (onProgress && (userIndex + 1) % 5000 === 0) onProgress('gram', userIndex + 1, rows.length);
  });
  return gram;
}

/**
 * EASE's weights from the Gram matrix, which is overwritten (it becomes P = (XᵀX + λI)⁻¹):
 * B[i][j] = −P[i][j] / P[j][j], zero diagonal.
 */
export function easeWeightsFromGram(
  gram: Float64Array,
  n: number,
  lambda: number,
  onProgress?: TrainingProgress,
): Float32Array {
  if (!(lambda > 0)) throw new Error(`lambda must be positive, got ${lambda}`);
  for (let i = 0; i < n; i++) gram[i * n + i]! += lambda;
  invertSpd(gram, n, onProgress ? (done) => onProgress('inverse', done, n) : undefined);
  const weights = new Float32Array(n * n);
  const inverseDiagonal = new Float64Array(n);
  for (let j = 0; j < n; j++) inverseDiagonal[j] = 1 / gram[j * n + j]!;
  for (let i = 0; i < n; i++) {
    const rowStart = i * n;
    for (let j = 0; j < n; j++)
      weights[rowStart + j] = i === j ? 0 : -gram[rowStart + j]! * inverseDiagonal[j]!;
  }
  return weights;
}

export function trainEase(
  rows: readonly UserRow[],
  itemCount: number,
  options: EaseOptions,
  onProgress?: TrainingProgress,
): ItemMatrixModel {
  if (!(options.lambda > 0)) throw new Error(`lambda must be positive, got ${options.lambda}`);
  const catalog = selectCatalog(rows, itemCount, options.maxItems);
  const n = catalog.length;
  if (n === 0) throw new Error('no items to train on');
  const gram = gramMatrix(catalogRows(rows, catalog, itemCount, options.weighting), n, onProgress);
  return { catalog, weights: easeWeightsFromGram(gram, n, options.lambda, onProgress) };
}

/** Scores one user row with a trained model in TypeScript (tests compare this with the ONNX path). */
export function scoreWithItemMatrix(
  model: ItemMatrixModel,
  row: UserRow,
  itemCount: number,
  weighting: Weighting,
): Float32Array {
  const n = model.catalog.length;
  const position = new Int32Array(itemCount).fill(-1);
  model.catalog.forEach((item, index) => (position[item] = index));
  const scores = new Float32Array(n);
  for (let e = 0; e < row.items.length; e++) {
    const p = position[row.items[e]!]!;
    if (p < 0) continue;
    const value = applyWeighting(row.weights[e]!, weighting);
    const rowStart = p * n;
    for (let j = 0; j < n; j++) scores[j]! += value * model.weights[rowStart + j]!;
  }
  return scores;
}
