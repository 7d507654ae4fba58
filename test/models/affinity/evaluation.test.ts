import { evaluateAffinity } from '../../../models/affinity/evaluation';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { algorithmName } from '../../../models/affinity/train';

describe('evaluateAffinity', () => {
  it('beats the popularity and SAR baselines by a wide margin on low-rank data, reproducibly', async () => {
    const interactions = generateSyntheticInteractions({
      users: 400,
      items: 300,
      interactions: 24000,
      seed: 5,
    });
    const first = await evaluateAffinity(interactions, { lambda: 100, seed: 9 });
    expect(first.protocol).toMatchObject({ k: 10, seed: 9, users: 400, interactions: interactions.length });
    expect(first.protocol.trainPairs + first.protocol.testPairs).toBeGreaterThan(0);
    const { model, baselines } = first;
    expect(model).toMatchObject({ lambda: 100, weighting: expect.any(String) as string });
    if (!('lambda' in model)) throw new Error(`expected the dense model, got ${model.algorithm}`);
    expect(model.algorithm).toBe(algorithmName(model));
    expect(model.ndcgAtK).toBeGreaterThan(baselines.sar.ndcgAtK * 1.1);
    expect(model.ndcgAtK).toBeGreaterThan(baselines.popularity.ndcgAtK * 1.5);
    expect(model.precisionAtK).toBeGreaterThan(baselines.sar.precisionAtK * 1.1);
    expect(baselines.sar.ndcgAtK).toBeGreaterThan(baselines.popularity.ndcgAtK);
    const again = await evaluateAffinity(interactions, { lambda: 100, seed: 9 });
    expect(again.model.ndcgAtK).toBe(model.ndcgAtK);
  });
});
