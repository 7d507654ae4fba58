import { ModelAffinityScorer } from '../../../shared/offers/modelAffinityScorer';

describe('ModelAffinityScorer', () => {
  it('maps the strongest positive scores to item ids', async () => {
    const scorer = new ModelAffinityScorer(
      async () => ({
        version: 'v1',
        itemIds: ['a', 'b', 'c'],
        scoreBatch: async (histories) => histories.map(() => Float32Array.from([0.2, -1, 3])),
      }),
      2,
    );
    const result = await scorer.score([{ itemId: 'a', weight: 1 }]);
    expect(result?.version).toBe('v1');
    expect([...result!.scores.entries()]).toEqual([
      ['c', 3],
      ['a', expect.closeTo(0.2, 5)],
    ]);
  });

  it('answers undefined when no model is loaded', async () => {
    expect(await new ModelAffinityScorer(async () => undefined).score([])).toBeUndefined();
  });
});
