import { ModelAffinityScorer, topIndices } from '../../../shared/offers/modelAffinityScorer';

describe('topIndices', () => {
  it('returns the k best indices, best first', () => {
    const scores = Float32Array.from([0.1, 0.9, 0.3, 0.7, 0.5]);
    expect(topIndices(scores, 3)).toEqual([1, 3, 4]);
    expect(topIndices(scores, 10)).toEqual([1, 3, 4, 2, 0]);
  });

  it('agrees with a full sort on random data', () => {
    const scores = Float32Array.from({ length: 5000 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const expected = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]!).slice(0, 50);
    expect(topIndices(scores, 50)).toEqual(expected);
  });
});

describe('ModelAffinityScorer', () => {
  it('maps the strongest positive scores to item ids', async () => {
    const scorer = new ModelAffinityScorer(
      async () => ({
        version: 'v1',
        itemIds: ['a', 'b', 'c'],
        score: async () => Float32Array.from([0.2, -1, 3]),
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
