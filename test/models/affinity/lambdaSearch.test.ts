import { buildInteractionMatrix } from '../../../models/affinity/interactionMatrix';
import { searchLambda } from '../../../models/affinity/lambdaSearch';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';

describe('searchLambda', () => {
  const matrix = buildInteractionMatrix(
    generateSyntheticInteractions({ users: 300, items: 150, interactions: 12000, seed: 17 }),
  );

  it('returns the tried λ with the best validation nDCG, after climbing past it on both sides', () => {
    const result = searchLambda(matrix.rows, matrix.itemIds.length, { weighting: 'binary', k: 10, seed: 1 });
    const best = Math.max(...result.tried.map((t) => t.ndcgAtK));
    expect(result.tried.find((t) => t.lambda === result.lambda)?.ndcgAtK).toBe(best);
    const lambdas = result.tried.map((t) => t.lambda);
    expect(lambdas.some((l) => l < result.lambda)).toBe(true);
    expect(lambdas.some((l) => l > result.lambda)).toBe(true);
    expect(new Set(lambdas).size).toBe(lambdas.length);
  });

  it('is deterministic for a seed', () => {
    const options = { weighting: 'binary' as const, k: 10, seed: 5, start: 40 };
    expect(searchLambda(matrix.rows, matrix.itemIds.length, options)).toEqual(
      searchLambda(matrix.rows, matrix.itemIds.length, options),
    );
  });
});
