import { invertSymmetricPositiveDefinite } from '../../../models/affinity/linearAlgebra';
import { seededRandom } from '../../../shared/random/seededRandom';

function randomSpd(n: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = random() - 0.5;
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
    a[i * n + i]! += n / 2;
  }
  return a;
}

describe('invertSymmetricPositiveDefinite', () => {
  it.each([1, 2, 7, 60])('returns the inverse of a %i×%i positive-definite matrix', (n) => {
    const original = randomSpd(n, n);
    const inverse = original.slice();
    invertSymmetricPositiveDefinite(inverse, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += original[i * n + k]! * inverse[k * n + j]!;
        expect(sum).toBeCloseTo(i === j ? 1 : 0, 10);
      }
      // The inverse of a symmetric matrix is symmetric, lower triangle included.
      for (let j = 0; j < i; j++) expect(inverse[i * n + j]).toBe(inverse[j * n + i]);
    }
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => invertSymmetricPositiveDefinite(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(
      /not positive definite/,
    );
  });

  it('refuses a buffer of the wrong size', () => {
    expect(() => invertSymmetricPositiveDefinite(new Float64Array(5), 2)).toThrow(/expected 2×2/);
  });
});
