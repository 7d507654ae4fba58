import { CatalogRow } from './ease';
import { dominantEigenspace } from './linearAlgebra';
import { seededRandom } from '../../shared/random/seededRandom';

/**
 * The low-rank part of the affinity blend: PureSVD's item × item form (Cremonesi et al., "Performance
 * of Recommender Algorithms on Top-N Recommendation Tasks", RecSys 2010). With V the top `rank`
 * eigenvectors of XᵀX (the right singular vectors of X), a user's scores x·V·Vᵀ project their history
 * onto the dominant taste directions, so L = V·Vᵀ (zero diagonal) generalises across items that never
 * co-occurred but share a direction, where EASE and RP3beta see only co-occurrence.
 */
export const LOW_RANK_ITERATIONS = 25;

/**
 * The eigenspace basis (row-major n × rank) of XᵀX for the weighted catalog rows X, applying XᵀX as
 * Xᵀ(X·V): 2 × interactions × rank per iteration instead of catalog² × rank.
 */
export function lowRankBasis(rows: readonly CatalogRow[], n: number, rank: number, seed = 1): Float64Array {
  const userProjection = new Float64Array(rank);
  const multiply = (block: Float64Array, product: Float64Array): void => {
    for (const { positions, values } of rows) {
      userProjection.fill(0);
      for (let e = 0; e < positions.length; e++) {
        const start = positions[e]! * rank;
        for (let a = 0; a < rank; a++) userProjection[a]! += values[e]! * block[start + a]!;
      }
      for (let e = 0; e < positions.length; e++) {
        const start = positions[e]! * rank;
        for (let a = 0; a < rank; a++) product[start + a]! += values[e]! * userProjection[a]!;
      }
    }
  };
  return dominantEigenspace(multiply, n, rank, LOW_RANK_ITERATIONS, seededRandom(seed));
}

/** L = V·Vᵀ with a zero diagonal, from a basis of `rank` columns (a prefix of a wider basis may be used). */
export function lowRankWeights(
  basis: Float64Array,
  n: number,
  basisWidth: number,
  rank: number,
): Float64Array {
  const weights = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const iStart = i * basisWidth;
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const jStart = j * basisWidth;
      let sum = 0;
      for (let a = 0; a < rank; a++) sum += basis[iStart + a]! * basis[jStart + a]!;
      weights[i * n + j] = sum;
    }
  }
  return weights;
}
