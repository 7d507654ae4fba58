import { invertSymmetricPositiveDefinite } from '../../../models/affinity/linearAlgebra';
import { invertSpd, SMALLEST_FOR_ONNX_RUNTIME } from '../../../models/affinity/onnxInverse';
import { seededRandom } from '../../../shared/random/seededRandom';

/** XᵀX + λI of a random sparse 0/1 matrix: the shape of EASE's Gram matrix. */
function gram(n: number, users: number, lambda: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const matrix = new Float64Array(n * n);
  for (let u = 0; u < users; u++) {
    const items: number[] = [];
    for (let j = 0; j < n; j++) if (random() < 0.05) items.push(j);
    for (const i of items) for (const j of items) matrix[i * n + j]! += 1;
  }
  for (let i = 0; i < n; i++) matrix[i * n + i]! += lambda;
  return matrix;
}

describe('invertSpd', () => {
  it('gives the JavaScript sweep’s inverse through onnxruntime for large matrices', () => {
    const n = SMALLEST_FOR_ONNX_RUNTIME + 50;
    const original = gram(n, 200, 50, 7);
    const fast = original.slice();
    const reference = original.slice();
    const progress: number[] = [];
    invertSpd(fast, n, (done) => progress.push(done));
    invertSymmetricPositiveDefinite(reference, n);
    let largest = 0;
    for (let i = 0; i < n * n; i++) largest = Math.max(largest, Math.abs(fast[i]! - reference[i]!));
    expect(largest).toBeLessThan(1e-12);
    expect(progress).toEqual([0, n]);
  });

  it('reads only the upper triangle, as the sweep does', () => {
    const n = SMALLEST_FOR_ONNX_RUNTIME;
    const full = gram(n, 100, 30, 3);
    const upperOnly = full.slice();
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) upperOnly[i * n + j] = Number.NaN;
    invertSpd(full, n);
    invertSpd(upperOnly, n);
    expect(upperOnly).toEqual(full);
  });

  it('refuses a matrix that is not positive definite, and a wrong size', () => {
    const n = SMALLEST_FOR_ONNX_RUNTIME;
    const indefinite = gram(n, 50, 10, 5);
    indefinite[0] = -1e6;
    expect(() => invertSpd(indefinite, n)).toThrow(/not positive definite/);
    expect(() => invertSpd(new Float64Array(10), n)).toThrow(/entries/);
  });
});
