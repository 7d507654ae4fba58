import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  Matrix,
  defaultGbdtOptions,
  fitBinning,
  predictProbability,
  trainGbdt,
} from '../../../models/campaign/gbdt';
import {
  CAMPAIGN_MODEL_INPUT,
  CAMPAIGN_MODEL_OUTPUT,
  exportGbdtToOnnx,
} from '../../../models/campaign/onnxExport';
import { auc } from '../../../models/campaign/metrics';
import { seededRandom } from '../../../shared/random/seededRandom';

/** y depends on an interaction (x0 > 0.5 and x1 < 0.3) and on x2 being missing: no linear model sees it. */
function dataset(rows: number, seed: number): { x: Matrix; y: Uint8Array; truth: Float64Array } {
  const next = seededRandom(seed);
  const cols = 4;
  const values = new Float32Array(rows * cols);
  const y = new Uint8Array(rows);
  const truth = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const x0 = next();
    const x1 = next();
    const x2 = next() < 0.2 ? NaN : next();
    const x3 = Math.floor(next() * 5);
    values.set([x0, x1, x2, x3], r * cols);
    const logit = -1.5 + (x0 > 0.5 && x1 < 0.3 ? 3 : 0) + (Number.isNaN(x2) ? 1.5 : 0) + (x3 === 2 ? 1 : 0);
    truth[r] = 1 / (1 + Math.exp(-logit));
    y[r] = next() < truth[r]! ? 1 : 0;
  }
  return { x: { values, rows, cols }, y, truth };
}

describe('trainGbdt', () => {
  const train = dataset(20000, 1);
  const validation = dataset(4000, 2);
  const test = dataset(4000, 3);
  const { model, report } = trainGbdt(train, validation);

  it('learns interactions and missing-value effects a constant cannot', () => {
    const scores = Array.from({ length: test.x.rows }, (_, r) =>
      predictProbability(model, test.x.values.subarray(r * 4, r * 4 + 4)),
    );
    // Within 0.02 of the planted probabilities' own AUC (the best any model can do); a constant scores 0.5.
    const oracle = auc(test.truth, test.y);
    expect(auc(scores, test.y)).toBeGreaterThan(oracle - 0.02);
    expect(report.bestIteration).toBeGreaterThan(5);
    expect(report.bestIteration).toBeLessThanOrEqual(report.iterations);
  });

  it('stops early when the validation loss stops improving', () => {
    const noisy = dataset(3000, 4);
    const shuffled = { x: noisy.x, y: Uint8Array.from(noisy.y).reverse() };
    const { report: stopped } = trainGbdt(shuffled, dataset(1000, 5), { ...defaultGbdtOptions, patience: 5 });
    expect(stopped.iterations).toBeLessThan(100);
  });

  it('exports an ONNX tree ensemble that onnxruntime scores exactly like the trainer', async () => {
    const session = await InferenceSession.create(exportGbdtToOnnx(model));
    const input = new Tensor('float32', test.x.values, [test.x.rows, 4]);
    const output = (await session.run({ [CAMPAIGN_MODEL_INPUT]: input }))[CAMPAIGN_MODEL_OUTPUT]!;
    const onnxScores = output.data as Float32Array;
    expect(onnxScores.length).toBe(test.x.rows);
    let worst = 0;
    for (let r = 0; r < test.x.rows; r++) {
      const expected = predictProbability(model, test.x.values.subarray(r * 4, r * 4 + 4));
      worst = Math.max(worst, Math.abs(expected - onnxScores[r]!));
    }
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('missing values', () => {
  it('splits a feature that is only present or missing, and ONNX agrees', async () => {
    const rows = 4000;
    const values = new Float32Array(rows);
    const y = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      const present = r % 3 !== 0;
      values[r] = present ? 1 : NaN;
      y[r] = present ? (r % 10 === 1 ? 1 : 0) : r % 10 < 6 ? 1 : 0;
    }
    const x = { values, rows, cols: 1 };
    const { model } = trainGbdt({ x, y }, undefined, { ...defaultGbdtOptions, maxIterations: 20 });
    const missing = predictProbability(model, [NaN]);
    const present = predictProbability(model, [1]);
    expect(missing).toBeGreaterThan(0.4);
    expect(present).toBeLessThan(0.2);
    const session = await InferenceSession.create(exportGbdtToOnnx(model));
    const output = await session.run({
      [CAMPAIGN_MODEL_INPUT]: new Tensor('float32', Float32Array.from([NaN, 1]), [2, 1]),
    });
    const [onnxMissing, onnxPresent] = Array.from(output[CAMPAIGN_MODEL_OUTPUT]!.data as Float32Array);
    expect(onnxMissing).toBeCloseTo(missing, 5);
    expect(onnxPresent).toBeCloseTo(present, 5);
  });
});

describe('fitBinning', () => {
  it('keeps every distinct value apart when there are few, and caps the bins when there are many', () => {
    const few = { values: Float32Array.from([3, 1, 2, 2, NaN]), rows: 5, cols: 1 };
    expect(Array.from(fitBinning(few, 255).edges[0]!)).toEqual([1.5, 2.5]);
    const many = { values: Float32Array.from({ length: 10000 }, (_, i) => i), rows: 10000, cols: 1 };
    const edges = fitBinning(many, 255).edges[0]!;
    expect(edges.length).toBeLessThanOrEqual(254);
    expect(edges.length).toBeGreaterThan(200);
  });
});
