/**
 * Inverts a symmetric positive-definite matrix in place (row-major, n × n) with the symmetric
 * Gauss-Jordan sweep: each pivot updates only the upper triangle, half the work of plain Gauss-Jordan,
 * with the inner loop running along contiguous memory. No pivoting is needed for a positive-definite
 * matrix; a non-positive pivot means the input was not one, which is reported rather than ignored.
 * Only the upper triangle of the input is read; on return the whole matrix holds the inverse.
 *
 * It runs on one thread: splitting each pivot's update across worker threads needs a barrier per
 * pivot, which measured slower than one thread whenever the machine had other work to do; a blocked
 * (rank-32 update) variant measured no faster, the loop being compute-bound rather than memory-bound.
 */
export function invertSymmetricPositiveDefinite(
  matrix: Float64Array,
  n: number,
  onProgress?: (pivotsDone: number) => void,
): void {
  if (matrix.length !== n * n) throw new Error(`matrix has ${matrix.length} entries, expected ${n}×${n}`);
  const pivotRow = new Float64Array(n);
  const progressEvery = Math.max(1, Math.floor(n / 20));
  for (let k = 0; k < n; k++) {
    // Row k of the symmetric matrix, gathered from the upper triangle.
    for (let j = 0; j < k; j++) pivotRow[j] = matrix[j * n + k]!;
    for (let j = k; j < n; j++) pivotRow[j] = matrix[k * n + j]!;
    const pivot = pivotRow[k]!;
    if (!(pivot > 0) || !Number.isFinite(pivot)) {
      throw new Error(`matrix is not positive definite (pivot ${k} is ${pivot})`);
    }
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const factor = pivotRow[i]! / pivot;
      if (factor === 0) continue;
      const rowStart = i * n;
      // Unrolled by four: V8 does not vectorise, and this halves the loop overhead (≈1.5× faster).
      let j = i;
      for (const end = n - 3; j < end; j += 4) {
        const at = rowStart + j;
        matrix[at]! -= factor * pivotRow[j]!;
        matrix[at + 1]! -= factor * pivotRow[j + 1]!;
        matrix[at + 2]! -= factor * pivotRow[j + 2]!;
        matrix[at + 3]! -= factor * pivotRow[j + 3]!;
      }
      for (; j < n; j++) matrix[rowStart + j]! -= factor * pivotRow[j]!;
    }
    for (let j = 0; j < k; j++) matrix[j * n + k] = pivotRow[j]! / pivot;
    for (let j = k + 1; j < n; j++) matrix[k * n + j] = pivotRow[j]! / pivot;
    matrix[k * n + k] = -1 / pivot;
    if (onProgress && (k + 1) % progressEvery === 0) onProgress(k + 1);
  }
  // The sweep of every pivot leaves −A⁻¹ in the upper triangle; negate and mirror.
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const value = -matrix[i * n + j]!;
      matrix[i * n + j] = value;
      matrix[j * n + i] = value;
    }
  }
}

/**
 * An orthonormal basis of the dominant `rank`-dimensional eigenspace of a symmetric positive
 * semi-definite n × n matrix A, by subspace iteration: multiply a block of vectors by A, re-orthonormalise
 * (modified Gram-Schmidt), repeat. A is given only as its product with a block (row-major n × rank), so
 * a Gram matrix XᵀX can be applied as Xᵀ(X·V) from the sparse X without forming it. Returned row-major
 * n × rank; column a approximates the a-th eigenvector, so the first k columns span the top-k space.
 * The start block is drawn from `random`, so a seeded generator makes the result deterministic.
 */
export function dominantEigenspace(
  multiply: (block: Float64Array, product: Float64Array) => void,
  n: number,
  rank: number,
  iterations: number,
  random: () => number,
): Float64Array {
  if (!(rank >= 1 && rank <= n)) throw new Error(`rank must be from 1 to ${n}, got ${rank}`);
  let basis = Float64Array.from({ length: n * rank }, () => random() - 0.5);
  orthonormaliseColumns(basis, n, rank);
  for (let iteration = 0; iteration < iterations; iteration++) {
    const product = new Float64Array(n * rank);
    multiply(basis, product);
    orthonormaliseColumns(product, n, rank);
    basis = product;
  }
  return basis;
}

/** Modified Gram-Schmidt on the columns of a row-major n × rank block; a vanishing column is left zero. */
function orthonormaliseColumns(block: Float64Array, n: number, rank: number): void {
  for (let a = 0; a < rank; a++) {
    for (let b = 0; b < a; b++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += block[i * rank + a]! * block[i * rank + b]!;
      for (let i = 0; i < n; i++) block[i * rank + a]! -= dot * block[i * rank + b]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += block[i * rank + a]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) block[i * rank + a] = norm > 1e-12 ? block[i * rank + a]! / norm : 0;
  }
}
