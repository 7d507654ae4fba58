import { CatalogRow } from './ease';

/**
 * RP3beta (Paudel et al., "Updatable, Accurate, Diverse, and Scalable Recommendations for Interactive
 * Applications", ACM TiiS 2017): the probability of a three-step random walk item → user → item on the
 * bipartite interaction graph, divided by the target item's popularity to the power β.
 *
 *   W[i][j] = Σ_u (x_ui / Σ_v x_vi) · (x_uj / Σ_k x_uk) / popularity_j^β,   zero diagonal
 *
 * with x the weighted interactions and popularity the number of users who engaged with the item. It is
 * a neighbourhood model of a different kind than EASE (transition probabilities rather than a
 * regression), and its β demotes the popular items a regression over-predicts; EASE and it are blended
 * in `affinityMatrix.ts`. Cost: one pass over each user's item pairs, like the Gram matrix.
 */
export function rp3betaWeights(rows: readonly CatalogRow[], n: number, beta: number): Float64Array {
  const weights = randomWalkWeights(rows, n);
  const demotion = popularityDemotion(rows, n, beta);
  for (let i = 0; i < n; i++) {
    const rowStart = i * n;
    for (let j = 0; j < n; j++) weights[rowStart + j]! *= demotion[j]!;
  }
  return weights;
}

/** The walk's transition probabilities item → user → item before the popularity demotion (β = 0). */
export function randomWalkWeights(rows: readonly CatalogRow[], n: number): Float64Array {
  const itemMass = new Float64Array(n);
  for (const { positions, values } of rows) {
    for (let a = 0; a < positions.length; a++) itemMass[positions[a]!]! += values[a]!;
  }
  const weights = new Float64Array(n * n);
  for (const { positions, values } of rows) {
    let userMass = 0;
    for (const value of values) userMass += value;
    if (!(userMass > 0)) continue;
    for (let a = 0; a < positions.length; a++) {
      const i = positions[a]!;
      const toUser = values[a]! / itemMass[i]!;
      const rowStart = i * n;
      for (let b = 0; b < positions.length; b++) {
        if (b !== a) weights[rowStart + positions[b]!]! += (toUser * values[b]!) / userMass;
      }
    }
  }
  return weights;
}

/**
 * Column j's factor popularity_j^−β (0 for an item nobody engaged with). Demoting is a column scaling,
 * so a history's RP3beta scores are its walk scores times these factors, for every β at once.
 */
export function popularityDemotion(rows: readonly CatalogRow[], n: number, beta: number): Float64Array {
  if (!(beta >= 0)) throw new Error(`beta must be non-negative, got ${beta}`);
  const users = new Float64Array(n);
  for (const { positions } of rows) for (const p of positions) users[p]! += 1;
  return Float64Array.from(users, (count) => (count > 0 ? Math.pow(count, -beta) : 0));
}
