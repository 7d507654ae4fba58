import { buildInteractionMatrix, rowFromMap } from '../../../models/affinity/interactionMatrix';
import { rankingMetrics, splitPerUser } from '../../../models/affinity/protocol';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';

describe('splitPerUser', () => {
  const matrix = buildInteractionMatrix(
    generateSyntheticInteractions({ users: 50, items: 80, interactions: 2000, seed: 3 }),
  );

  it("puts a rounded 75 % of each user's items in training, the rest in test, disjoint", () => {
    const { train, test } = splitPerUser(matrix, 1);
    matrix.rows.forEach((row, user) => {
      expect(train[user]!.items.length).toBe(Math.round(0.75 * row.items.length));
      expect(train[user]!.items.length + test[user]!.items.length).toBe(row.items.length);
      const trainItems = new Set(train[user]!.items);
      for (const item of test[user]!.items) expect(trainItems.has(item)).toBe(false);
    });
  });

  it('is reproducible for a seed and differs between seeds', () => {
    const first = splitPerUser(matrix, 1).test.map((r) => Array.from(r.items));
    expect(splitPerUser(matrix, 1).test.map((r) => Array.from(r.items))).toEqual(first);
    expect(splitPerUser(matrix, 2).test.map((r) => Array.from(r.items))).not.toEqual(first);
  });
});

describe('rankingMetrics', () => {
  it('computes precision, recall, nDCG and MAP as the Recommenders library does', () => {
    // User 0: relevant {1, 2, 3}; top-3 list [1, 9, 3] hits at ranks 1 and 3.
    // User 1: relevant {5}; list [7, 8, 6] has no hit. User 2 has no test items and is not counted.
    const test = [
      rowFromMap(
        new Map([
          [1, 1],
          [2, 1],
          [3, 1],
        ]),
      ),
      rowFromMap(new Map([[5, 1]])),
      rowFromMap(new Map()),
    ];
    const metrics = rankingMetrics([[1, 9, 3], [7, 8, 6], [1]], test, 3);
    const dcg = 1 + 1 / Math.log2(4);
    const idcg = 1 + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(metrics.users).toBe(2);
    expect(metrics.precisionAtK).toBeCloseTo(2 / 3 / 2, 6);
    expect(metrics.recallAtK).toBeCloseTo(2 / 3 / 2, 6);
    expect(metrics.ndcgAtK).toBeCloseTo(dcg / idcg / 2, 6);
    expect(metrics.map).toBeCloseTo((1 + 2 / 3) / 3 / 2, 6);
  });
});
