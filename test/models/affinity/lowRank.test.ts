import { CatalogRow } from '../../../models/affinity/ease';
import { lowRankBasis, lowRankWeights } from '../../../models/affinity/lowRank';

describe('lowRankBasis and lowRankWeights', () => {
  // Two blocks of items that always co-occur within the block (5 users hold the first, 2 the second):
  // XᵀX has rank 2, and its dominant directions are the two blocks' indicator vectors.
  const n = 6;
  const block = (i: number) => (i < 3 ? 0 : 1);
  const holder = (positions: number[]): CatalogRow => ({
    positions: Int32Array.from(positions),
    values: new Float64Array(positions.length).fill(1),
  });
  const rows = [
    ...Array.from({ length: 5 }, () => holder([0, 1, 2])),
    ...Array.from({ length: 2 }, () => holder([3, 4, 5])),
  ];

  it('projects onto the dominant directions: items of a block point to each other, not across', () => {
    const basis = lowRankBasis(rows, n, 2);
    const weights = lowRankWeights(basis, n, 2, 2);
    for (let i = 0; i < n; i++) {
      expect(weights[i * n + i]).toBe(0);
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        expect(weights[i * n + j]).toBeCloseTo(block(i) === block(j) ? 1 / 3 : 0, 8);
        expect(weights[i * n + j]).toBe(weights[j * n + i]);
      }
    }
  });

  it('keeps only the strongest direction at rank 1, from a prefix of a wider basis, deterministically', () => {
    const basis = lowRankBasis(rows, n, 2);
    const weights = lowRankWeights(basis, n, 2, 1);
    expect(weights[0 * n + 1]).toBeCloseTo(1 / 3, 6);
    expect(weights[3 * n + 4]).toBeCloseTo(0, 6);
    expect(lowRankBasis(rows, n, 2)).toEqual(basis);
  });

  it('refuses a rank larger than the catalog', () => {
    expect(() => lowRankBasis(rows, n, 7)).toThrow('rank');
  });
});
