import { itemUserCounts, UserRow } from './interactionMatrix';
import { selectCatalog } from './ease';

/**
 * Baselines computed in the same evaluation run as the model.
 * - Popularity: every user gets the items most users engaged with.
 * - SAR-like item-to-item co-occurrence (Recommenders' SAR): Jaccard similarity between items,
 *   S[i][j] = C[i][j] / (C[i][i] + C[j][j] − C[i][j]) with C the co-occurrence counts, and a user's
 *   scores are their affinity (summed interaction weights, no time decay) times S.
 */

export function popularityScorer(
  train: readonly UserRow[],
  itemCount: number,
): (row: UserRow) => Float64Array {
  const counts = itemUserCounts(train, itemCount);
  return () => counts;
}

export function sarScorer(
  train: readonly UserRow[],
  itemCount: number,
  maxItems: number,
): (row: UserRow) => Float64Array {
  // The dense similarity matrix is catalog²; like the model, it keeps the maxItems most popular items.
  const catalog = selectCatalog(train, itemCount, maxItems);
  const n = catalog.length;
  const position = new Int32Array(itemCount).fill(-1);
  catalog.forEach((item, index) => (position[item] = index));
  const cooccurrence = new Float64Array(n * n);
  const indices = new Int32Array(n);
  for (const row of train) {
    let length = 0;
    for (const item of row.items) {
      const p = position[item]!;
      if (p >= 0) indices[length++] = p;
    }
    for (let a = 0; a < length; a++) {
      const rowStart = indices[a]! * n;
      for (let b = 0; b < length; b++) cooccurrence[rowStart + indices[b]!]! += 1;
    }
  }
  const similarity = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const cii = cooccurrence[i * n + i]!;
    for (let j = 0; j < n; j++) {
      const cij = cooccurrence[i * n + j]!;
      if (cij > 0) similarity[i * n + j] = cij / (cii + cooccurrence[j * n + j]! - cij);
    }
  }
  return (row) => {
    const scores = new Float64Array(itemCount);
    for (let e = 0; e < row.items.length; e++) {
      const p = position[row.items[e]!]!;
      if (p < 0) continue;
      const affinity = row.weights[e]!;
      const rowStart = p * n;
      for (let j = 0; j < n; j++) scores[catalog[j]!]! += affinity * similarity[rowStart + j]!;
    }
    return scores;
  };
}
