import { dominantEigenspace, invertSymmetricPositiveDefinite } from '../../../models/affinity/linearAlgebra';
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

describe('dominantEigenspace', () => {
  // A = Q·diag(9, 4, 1, 0.5, 0.2, 0.1)·Qᵀ for an orthonormal Q (a Householder reflection), so the
  // dominant 2-dimensional eigenspace is spanned by Q's first two columns.
  const n = 6;
  const u = Float64Array.from([1, -2, 0.5, 3, -1, 2]);
  const uu = u.reduce((sum, x) => sum + x * x, 0);
  const q = (i: number, j: number) => (i === j ? 1 : 0) - (2 * u[i]! * u[j]!) / uu;
  const eigenvalues = [9, 4, 1, 0.5, 0.2, 0.1];
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      for (let k = 0; k < n; k++) a[i * n + j]! += q(i, k) * eigenvalues[k]! * q(j, k);
  const multiply = (rank: number) => (block: Float64Array, product: Float64Array) => {
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        for (let c = 0; c < rank; c++) product[i * rank + c]! += a[i * n + j]! * block[j * rank + c]!;
  };

  it('returns an orthonormal basis of the top eigenspace', () => {
    const basis = dominantEigenspace(multiply(2), n, 2, 60, seededRandom(3));
    for (let c = 0; c < 2; c++)
      for (let d = 0; d < 2; d++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += basis[i * 2 + c]! * basis[i * 2 + d]!;
        expect(dot).toBeCloseTo(c === d ? 1 : 0, 10);
      }
    // Its projector equals the one of Q's first two columns.
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const projector = basis[i * 2]! * basis[j * 2]! + basis[i * 2 + 1]! * basis[j * 2 + 1]!;
        expect(projector).toBeCloseTo(q(i, 0) * q(j, 0) + q(i, 1) * q(j, 1), 8);
      }
  });

  it('refuses a rank outside 1…n', () => {
    expect(() => dominantEigenspace(multiply(7), n, 7, 1, seededRandom(1))).toThrow('rank');
    expect(() => dominantEigenspace(multiply(0), n, 0, 1, seededRandom(1))).toThrow('rank');
  });
});
