import {
  BLEND_SHARES,
  EASE_ALONE,
  LOW_PASS_RANKS,
  LOW_PASS_SHARES,
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

  it('scores EASE alone and every β with every share, then every rank and share of the low-rank part, then of the low-pass part', () => {
    const positive = BLEND_SHARES.filter((blend) => blend > 0);
    const stageOne = 1 + RP3_BETAS.length * positive.length;
    const stageTwo = LOW_RANKS.length * LOW_RANK_SHARES.filter((c) => c > 0).length;
    const stageThree = LOW_PASS_RANKS.length * LOW_PASS_SHARES.filter((h) => h > 0).length;
    expect(full.tried).toHaveLength(stageOne + stageTwo + stageThree);
    expect(full.tried[0]).toMatchObject(EASE_ALONE);
    // The second stage keeps the first stage's winner and adds the low-rank part to it.
    const firstWinner = full.tried.slice(0, stageOne).reduce((a, b) => (b.ndcgAtK > a.ndcgAtK ? b : a));
    for (const candidate of full.tried.slice(stageOne, stageOne + stageTwo)) {
      expect(candidate).toMatchObject({ blend: firstWinner.blend, rp3Beta: firstWinner.rp3Beta });
      expect(LOW_RANKS).toContain(candidate.lowRank);
      expect(candidate).toMatchObject({ lowPassShare: 0, lowPassRank: 0 });
    }
    // The third keeps the blend chosen so far and adds the low-pass part to it.
    const secondWinner = full.tried
      .slice(0, stageOne + stageTwo)
      .reduce((a, b) => (b.ndcgAtK > a.ndcgAtK ? b : a));
    for (const candidate of full.tried.slice(stageOne + stageTwo)) {
      expect(candidate).toMatchObject({
        blend: secondWinner.blend,
        rp3Beta: secondWinner.rp3Beta,
        lowRankShare: secondWinner.lowRankShare,
        lowRank: secondWinner.lowRank,
      });
      expect(LOW_PASS_RANKS).toContain(candidate.lowPassRank);
      expect(candidate.lowPassShare).toBeGreaterThan(0);
    }
    const best = Math.max(...full.tried.map((t) => t.ndcgAtK));
    expect(full.ndcgAtK).toBe(best);
    expect(full.tried).toContainEqual({
      blend: full.blend,
      rp3Beta: full.rp3Beta,
      lowRankShare: full.lowRankShare,
      lowRank: full.lowRank,
      lowPassShare: full.lowPassShare,
      lowPassRank: full.lowPassRank,
      ndcgAtK: best,
    });
    // The candidates do differ, so the choice is a real one.
    expect(new Set(full.tried.map((t) => t.ndcgAtK)).size).toBeGreaterThan(10);
  });

  it('searches only the values it is given, and honours required low-rank and low-pass parts', () => {
    const onlyEase = searchBlend(matrix.rows, matrix.itemIds.length, {
      ...options,
      blends: [0],
      lowRankShares: [0],
      lowPassShares: [0],
    });
    expect(onlyEase).toMatchObject(EASE_ALONE);
    expect(onlyEase.tried).toHaveLength(1);
    expect(onlyEase.ndcgAtK).toBe(full.tried[0]!.ndcgAtK);
    const fixed = searchBlend(matrix.rows, matrix.itemIds.length, {
      ...options,
      blends: [0.5],
      betas: [0.7],
      lowRankShares: [0.3],
      lowRanks: [8],
      lowPassShares: [0.4],
      lowPassRanks: [16],
    });
    expect(fixed).toMatchObject({
      blend: 0.5,
      rp3Beta: 0.7,
      lowRankShare: 0.3,
      lowRank: 8,
      lowPassShare: 0.4,
      lowPassRank: 16,
    });
    expect(fixed.tried).toHaveLength(3);
  });

  it('is deterministic for a seed', () => {
    const small = { ...options, seed: 5, betas: [0.8], lowRanks: [8], lowPassRanks: [16] };
    expect(searchBlend(matrix.rows, matrix.itemIds.length, small)).toEqual(
      searchBlend(matrix.rows, matrix.itemIds.length, small),
    );
  });
});
