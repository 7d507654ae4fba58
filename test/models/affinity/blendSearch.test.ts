import { BLEND_SHARES, RP3_BETAS, searchBlend } from '../../../models/affinity/blendSearch';
import { buildInteractionMatrix } from '../../../models/affinity/interactionMatrix';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';

describe('searchBlend', () => {
  const matrix = buildInteractionMatrix(
    generateSyntheticInteractions({ users: 300, items: 150, interactions: 12000, seed: 17 }),
  );
  const options = { weighting: 'log1p' as const, lambda: 100, k: 10, seed: 1 };

  it('scores EASE alone once and every β with every positive share, and returns the best', () => {
    const result = searchBlend(matrix.rows, matrix.itemIds.length, options);
    const positive = BLEND_SHARES.filter((blend) => blend > 0);
    expect(result.tried).toHaveLength(1 + RP3_BETAS.length * positive.length);
    expect(result.tried[0]).toMatchObject({ blend: 0, rp3Beta: 0 });
    const best = Math.max(...result.tried.map((t) => t.ndcgAtK));
    expect(result.ndcgAtK).toBe(best);
    expect(result.tried.find((t) => t.blend === result.blend && t.rp3Beta === result.rp3Beta)?.ndcgAtK).toBe(
      best,
    );
    // The candidates do differ, so the choice is a real one.
    expect(new Set(result.tried.map((t) => t.ndcgAtK)).size).toBeGreaterThan(5);
  });

  it('searches only the shares and β it is given', () => {
    const onlyEase = searchBlend(matrix.rows, matrix.itemIds.length, { ...options, blends: [0] });
    expect(onlyEase).toMatchObject({ blend: 0, rp3Beta: 0 });
    const fixed = searchBlend(matrix.rows, matrix.itemIds.length, {
      ...options,
      blends: [0.5],
      betas: [0.7],
    });
    expect(fixed.tried).toEqual([{ blend: 0.5, rp3Beta: 0.7, ndcgAtK: fixed.ndcgAtK }]);
    const full = searchBlend(matrix.rows, matrix.itemIds.length, options);
    expect(full.tried).toContainEqual(fixed.tried[0]);
    expect(full.tried[0]!.ndcgAtK).toBe(onlyEase.ndcgAtK);
  });

  it('is deterministic for a seed', () => {
    expect(searchBlend(matrix.rows, matrix.itemIds.length, { ...options, seed: 5 })).toEqual(
      searchBlend(matrix.rows, matrix.itemIds.length, { ...options, seed: 5 }),
    );
  });
});
