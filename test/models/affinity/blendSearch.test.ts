import {
  BLEND_SHARES,
  LOW_RANK_SHARES,
  LOW_RANKS,
  RP3_BETAS,
  searchBlend,
} from '../../../models/affinity/blendSearch';
import { buildInteractionMatrix } from '../../../models/affinity/interactionMatrix';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';

describe('searchBlend', () => {
  const matrix = buildInteractionMatrix(
    generateSyntheticInteractions({ users: 300, items: 150, interactions: 12000, seed: 17 }),
  );
  const options = { weighting: 'log1p' as const, lambda: 100, k: 10, seed: 1 };
  const full = searchBlend(matrix.rows, matrix.itemIds.length, options);

  it('scores EASE alone and every β with every share, then every rank and share of the low-rank part', () => {
    const positive = BLEND_SHARES.filter((blend) => blend > 0);
    const stageOne = 1 + RP3_BETAS.length * positive.length;
    const stageTwo = LOW_RANKS.length * LOW_RANK_SHARES.filter((c) => c > 0).length;
    expect(full.tried).toHaveLength(stageOne + stageTwo);
    expect(full.tried[0]).toMatchObject({ blend: 0, rp3Beta: 0, lowRankShare: 0, lowRank: 0 });
    // The second stage keeps the first stage's winner and adds the low-rank part to it.
    const firstWinner = full.tried.slice(0, stageOne).reduce((a, b) => (b.ndcgAtK > a.ndcgAtK ? b : a));
    for (const candidate of full.tried.slice(stageOne)) {
      expect(candidate).toMatchObject({ blend: firstWinner.blend, rp3Beta: firstWinner.rp3Beta });
      expect(LOW_RANKS).toContain(candidate.lowRank);
    }
    const best = Math.max(...full.tried.map((t) => t.ndcgAtK));
    expect(full.ndcgAtK).toBe(best);
    expect(full.tried).toContainEqual({
      blend: full.blend,
      rp3Beta: full.rp3Beta,
      lowRankShare: full.lowRankShare,
      lowRank: full.lowRank,
      ndcgAtK: best,
    });
    // The candidates do differ, so the choice is a real one.
    expect(new Set(full.tried.map((t) => t.ndcgAtK)).size).toBeGreaterThan(10);
  });

  it('searches only the values it is given, and honours a required low-rank part', () => {
    const onlyEase = searchBlend(matrix.rows, matrix.itemIds.length, {
      ...options,
      blends: [0],
      lowRankShares: [0],
    });
    expect(onlyEase).toMatchObject({ blend: 0, rp3Beta: 0, lowRankShare: 0, lowRank: 0 });
    expect(onlyEase.tried).toHaveLength(1);
    expect(onlyEase.ndcgAtK).toBe(full.tried[0]!.ndcgAtK);
    const fixed = searchBlend(matrix.rows, matrix.itemIds.length, {
      ...options,
      blends: [0.5],
      betas: [0.7],
      lowRankShares: [0.3],
      lowRanks: [8],
    });
    expect(fixed).toMatchObject({ blend: 0.5, rp3Beta: 0.7, lowRankShare: 0.3, lowRank: 8 });
    expect(fixed.tried).toHaveLength(2);
  });

  it('is deterministic for a seed', () => {
    const small = { ...options, seed: 5, betas: [0.8], lowRanks: [8] };
    expect(searchBlend(matrix.rows, matrix.itemIds.length, small)).toEqual(
      searchBlend(matrix.rows, matrix.itemIds.length, small),
    );
  });
});
