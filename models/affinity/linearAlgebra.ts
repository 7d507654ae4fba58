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
