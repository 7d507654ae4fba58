import { catalogRows } from '../../../models/affinity/ease';
import { rowFromMap } from '../../../models/affinity/interactionMatrix';
import { popularityDemotion, randomWalkWeights, rp3betaWeights } from '../../../models/affinity/rp3beta';

describe('rp3betaWeights', () => {
  // Three users over three items, weights already applied (raw weighting).
  const rows = catalogRows(
    [
      rowFromMap(
        new Map([
          [0, 1],
          [1, 3],
        ]),
      ),
      rowFromMap(
        new Map([
          [0, 2],
          [1, 1],
          [2, 1],
        ]),
      ),
      rowFromMap(new Map([[1, 2]])),
    ],
    Int32Array.from([0, 1, 2]),
    3,
    'raw',
  );

  it('is the item → user → item walk probability, demoted by the target’s popularity to the power β', () => {
    const weights = rp3betaWeights(rows, 3, 0.5);
    // Item 0 is held by users 0 (mass 1 of 3) and 1 (mass 2 of 3); user 0 holds 4, user 1 holds 4.
    // 0 → 1: 1/3·3/4 + 2/3·1/4 = 5/12, item 1 has 3 users; 0 → 2: 2/3·1/4 = 1/6, item 2 has 1 user.
    expect(weights[0 * 3 + 1]).toBeCloseTo(5 / 12 / Math.sqrt(3), 12);
    expect(weights[0 * 3 + 2]).toBeCloseTo(1 / 6, 12);
    // Item 1's mass is 6: users 0 (3), 1 (1), 2 (2); 1 → 0: 3/6·1/4 + 1/6·2/4 = 5/24, item 0 has 2 users.
    expect(weights[1 * 3 + 0]).toBeCloseTo(5 / 24 / Math.sqrt(2), 12);
    // 2 → 1 only through user 1: 1·1/4.
    expect(weights[2 * 3 + 1]).toBeCloseTo(1 / 4 / Math.sqrt(3), 12);
    for (let i = 0; i < 3; i++) expect(weights[i * 3 + i]).toBe(0);
  });

  it('with β 0 gives rows that are the walk’s probabilities of reaching another item', () => {
    const weights = rp3betaWeights(rows, 3, 0);
    // From item 2 every step stays on user 1, who moves to item 0 or 1 with 2/4 and 1/4 (and back to 2).
    expect(weights[2 * 3 + 0]! + weights[2 * 3 + 1]!).toBeCloseTo(3 / 4, 12);
  });

  it('is the walk with each column scaled by its popularity demotion', () => {
    const walk = randomWalkWeights(rows, 3);
    const demotion = popularityDemotion(rows, 3, 0.8);
    expect(Array.from(demotion)).toEqual([2 ** -0.8, 3 ** -0.8, 1]);
    const weights = rp3betaWeights(rows, 3, 0.8);
    weights.forEach((weight, index) => expect(weight).toBeCloseTo(walk[index]! * demotion[index % 3]!, 12));
  });

  it('refuses a negative β', () => {
    expect(() => rp3betaWeights(rows, 3, -0.1)).toThrow('beta');
  });
});
