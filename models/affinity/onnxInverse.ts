import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { invertSymmetricPositiveDefinite } from './linearAlgebra';

/**
 * Below this size the JavaScript sweep finishes before onnxruntime has started in a worker (measured:
 * ~0.3 s to start; 800 items take 0.8 s in JavaScript, 1,682 items 7.3 s against 1.4 s here).
 */
export const SMALLEST_FOR_ONNX_RUNTIME = 600;

/** Longest we wait for the worker: far beyond any catalog the dense model accepts (20k items). */
const DEADLINE_MS = 30 * 60 * 1000;

/**
 * The worker: builds a one-node ONNX graph (`com.microsoft.Inverse` on doubles, onnxruntime's LU with
 * partial pivoting from Eigen, vectorised and threaded), runs it on the shared matrix and writes the
 * inverse back. Plain JavaScript, so it runs the same under ts-jest as from dist/.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { shared, n, paths, port } = workerData;
const flag = new Int32Array(shared, 0, 1);
const matrix = new Float64Array(shared, 8, n * n);
const finish = (status, message) => {
  if (message !== undefined) port.postMessage(message);
  Atomics.store(flag, 0, status);
  Atomics.notify(flag, 0);
};
(async () => {
  const ort = require(paths.ort);
  const { onnx } = require(paths.onnxProto);
  const square = (name) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.DOUBLE, shape: { dim: [{ dimValue: n }, { dimValue: n }] } } },
  });
  const model = onnx.ModelProto.encode(onnx.ModelProto.fromObject({
    irVersion: 8,
    producerName: 'nextoffer',
    opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    graph: {
      name: 'inverse',
      input: [square('matrix')],
      output: [square('inverse')],
      node: [{ opType: 'Inverse', domain: 'com.microsoft', input: ['matrix'], output: ['inverse'], name: 'inverse' }],
    },
  })).finish();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: paths.threads });
  const out = await session.run({ matrix: new ort.Tensor('float64', Float64Array.from(matrix), [n, n]) });
  matrix.set(out.inverse.data);
  await session.release();
  finish(1);
})().catch((error) => finish(2, String((error && error.stack) || error)));
`;

/**
 * Inverts a symmetric positive-definite matrix in place, as `invertSymmetricPositiveDefinite` does (only
 * the upper triangle is read), with onnxruntime for large matrices: EASE's inverse is most of training.
 *
 * Synchronous on purpose, like the JavaScript sweep it stands in for: the matrix goes to a worker
 * thread in shared memory and this thread blocks on `Atomics.wait` until the inverse is back, so the
 * training code stays the plain synchronous arithmetic it is.
 */
export function invertSpd(matrix: Float64Array, n: number, onProgress?: (pivotsDone: number) => void): void {
  if (matrix.length !== n * n) throw new Error(`matrix has ${matrix.length} entries, expected ${n}×${n}`);
  if (n < SMALLEST_FOR_ONNX_RUNTIME) {
    invertSymmetricPositiveDefinite(matrix, n, onProgress);
    return;
  }
  onProgress?.(0);
  const shared = new SharedArrayBuffer(8 + n * n * 8);
  const flag = new Int32Array(shared, 0, 1);
  const copy = new Float64Array(shared, 8, n * n);
  // The full symmetric matrix from its upper triangle, as the LU below reads both.
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const value = matrix[i * n + j]!;
      copy[i * n + j] = value;
      copy[j * n + i] = value;
    }
  }
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      shared,
      n,
      port: port2,
      paths: {
        ort: require.resolve('onnxruntime-node'),
        onnxProto: require.resolve('onnx-proto'),
        threads: 2,
      },
    },
    transferList: [port2],
  });
  const deadline = Date.now() + DEADLINE_MS;
  while (Atomics.load(flag, 0) === 0 && Date.now() < deadline) Atomics.wait(flag, 0, 0, 1000);
  const status = Atomics.load(flag, 0);
  void worker.terminate();
  if (status !== 1) {
    const reason = receiveMessageOnPort(port1)?.message as string | undefined;
    port1.close();
    throw new Error(`onnxruntime could not invert the ${n}×${n} matrix: ${reason ?? 'no answer in time'}`);
  }
  port1.close();
  // The inverse of a positive-definite matrix has a positive diagonal; anything else means the input
  // was not one (the sweep reports that as a non-positive pivot).
  for (let i = 0; i < n; i++) {
    const diagonal = copy[i * n + i]!;
    if (!(diagonal > 0) || !Number.isFinite(diagonal)) {
      throw new Error(`matrix is not positive definite (inverse diagonal ${i} is ${diagonal})`);
    }
  }
  matrix.set(copy);
  onProgress?.(n);
}
