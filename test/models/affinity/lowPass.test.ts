import { CatalogRow } from '../../../models/affinity/ease';
import { lowPassBasis, lowPassWeights } from '../../../models/affinity/lowPass';

const row = (positions: number[], value = 1): CatalogRow => ({
  positions: Int32Array.from(positions),
  values: new Float64Array(positions.length).fill(value),
});

describe('lowPassBasis and lowPassWeights', () => {
  // A connected interaction graph whose items have different degrees (users who engaged with them).
  const n = 5;
  const rows = [
    row([0, 1, 2]),
    row([0, 1]),
    row([0, 2, 3]),
    row([0, 4]),
    row([1, 2]),
    row([0, 1, 3]),
    row([2, 4]),
    row([0, 3]),
  ];
  const degrees = [0, 0, 0, 0, 0];
  for (const { positions } of rows) for (const p of positions) degrees[p]! += 1;
  const total = degrees.reduce((a, b) => a + b, 0);

  it('at rank 1 is popularity: the top direction of the degree-normalised matrix is √degree', () => {
    // For R̃ = D_U^−½·R·D_I^−½ of a connected graph, R̃ᵀR̃'s top eigenvector is ∝ √dᵢ (eigenvalue 1), so
    // H = D_I^−½·v·vᵀ·D_I^½ has H[i][j] = dⱼ / Σd: the filter's coarsest pass recommends by popularity.
    const weights = lowPassWeights(lowPassBasis(rows, n, 1), n, 1, 1);
    for (let i = 0; i < n; i++) {
      expect(weights[i * n + i]).toBe(0);
      for (let j = 0; j < n; j++) {
        if (i !== j) expect(weights[i * n + j]).toBeCloseTo(degrees[j]! / total, 6);
      }
    }
  });

  it('is D_I^−½·V·Vᵀ·D_I^½: rescaled by the degrees it is symmetric, and at full rank it is zero', () => {
    const basis = lowPassBasis(rows, n, 3);
    const weights = lowPassWeights(basis, n, 3, 3);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const symmetric = (weights[i * n + j]! * Math.sqrt(degrees[i]!)) / Math.sqrt(degrees[j]!);
        const mirrored = (weights[j * n + i]! * Math.sqrt(degrees[j]!)) / Math.sqrt(degrees[i]!);
        expect(symmetric).toBeCloseTo(mirrored, 10);
      }
    }
    // A basis of the whole space makes V·Vᵀ the identity: nothing is left off the diagonal.
    const full = lowPassWeights(lowPassBasis(rows, n, n), n, n, n);
    for (const weight of full) expect(weight).toBeCloseTo(0, 6);
  });

  it('uses who engaged with what, not the weights, and is deterministic', () => {
    const weighted = rows.map(({ positions }, u) => row(Array.from(positions), 1 + u));
    expect(lowPassBasis(weighted, n, 2)).toEqual(lowPassBasis(rows, n, 2));
  });

  it('gives an item nobody engaged with no weight either way', () => {
    const withUnused = lowPassWeights(lowPassBasis(rows, n + 1, 2), n + 1, 2, 2);
    for (let i = 0; i <= n; i++) {
      expect(withUnused[i * (n + 1) + n]).toBeCloseTo(0, 10);
      expect(withUnused[n * (n + 1) + i]).toBeCloseTo(0, 10);
    }
  });
});
