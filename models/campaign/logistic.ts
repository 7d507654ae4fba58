import { Matrix } from './gbdt';

/**
 * The plain baseline every training run reports next to the trees: logistic regression on standardised
 * numeric inputs (with a missing-value indicator each) and one-hot categorical codes, no interactions,
 * fitted by mini-batch Adam on the log loss with a little L2.
 */

// Module-level copies: inside jest's VM context every global lookup in a hot loop is slow.
const { exp, round, min, max, sqrt, pow, log } = Math;
const isNaNValue = Number.isNaN;

export type BaselineInput = { kind: 'numeric' } | { kind: 'categorical'; codeCount: number };

export interface LogisticOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  seed: number;
}

export const defaultLogisticOptions: LogisticOptions = {
  epochs: 6,
  batchSize: 256,
  learningRate: 0.02,
  l2: 1e-5,
  seed: 7,
};

export interface LogisticModel {
  inputs: BaselineInput[];
  means: Float64Array;
  scales: Float64Array;
  /** Weight offset of each input: numeric → [value, missing], categorical → one per code. */
  offsets: Int32Array;
  weights: Float64Array;
  bias: number;
}

function layout(inputs: BaselineInput[]): { offsets: Int32Array; size: number } {
  const offsets = new Int32Array(inputs.length);
  let size = 0;
  inputs.forEach((input, k) => {
    offsets[k] = size;
    size += input.kind === 'numeric' ? 2 : input.codeCount;
  });
  return { offsets, size };
}

function linear(model: LogisticModel, values: Float32Array, base: number): number {
  let z = model.bias;
  const { inputs, offsets, weights, means, scales } = model;
  for (let k = 0; k < inputs.length; k++) {
    const v = values[base + k]!;
    const input = inputs[k]!;
    if (input.kind === 'numeric') {
      z += isNaNValue(v) ? weights[offsets[k]! + 1]! : weights[offsets[k]!]! * ((v - means[k]!) / scales[k]!);
    } else {
      const code = min(max(round(v), 0), input.codeCount - 1);
      z += weights[offsets[k]! + code]!;
    }
  }
  return z;
}

export function predictLogistic(model: LogisticModel, x: Matrix): Float64Array {
  const out = new Float64Array(x.rows);
  for (let r = 0; r < x.rows; r++) out[r] = 1 / (1 + exp(-linear(model, x.values, r * x.cols)));
  return out;
}

export function trainLogistic(
  x: Matrix,
  y: Uint8Array,
  inputs: BaselineInput[],
  options: LogisticOptions = defaultLogisticOptions,
): LogisticModel {
  const { offsets, size } = layout(inputs);
  const means = new Float64Array(inputs.length);
  const scales = new Float64Array(inputs.length).fill(1);
  inputs.forEach((input, k) => {
    if (input.kind !== 'numeric') return;
    let n = 0;
    let sum = 0;
    let squares = 0;
    for (let r = 0; r < x.rows; r++) {
      const v = x.values[r * x.cols + k]!;
      if (isNaNValue(v)) continue;
      n++;
      sum += v;
      squares += v * v;
    }
    const mean = n === 0 ? 0 : sum / n;
    means[k] = mean;
    scales[k] = n === 0 ? 1 : sqrt(max(squares / n - mean * mean, 0)) || 1;
  });
  let positives = 0;
  for (let r = 0; r < x.rows; r++) positives += y[r]!;
  const rate = min(max(positives / max(x.rows, 1), 1e-6), 1 - 1e-6);
  const model: LogisticModel = {
    inputs,
    means,
    scales,
    offsets,
    weights: new Float64Array(size),
    bias: log(rate / (1 - rate)),
  };

  // Adam state, bias last.
  const m = new Float64Array(size + 1);
  const v = new Float64Array(size + 1);
  const gradient = new Float64Array(size + 1);
  const order = Int32Array.from({ length: x.rows }, (_, i) => i);
  let state = options.seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    const rate = options.learningRate / sqrt(epoch + 1);
    for (let start = 0; start < order.length; start += options.batchSize) {
      const end = min(order.length, start + options.batchSize);
      gradient.fill(0);
      for (let b = start; b < end; b++) {
        const r = order[b]!;
        const base = r * x.cols;
        const error = 1 / (1 + exp(-linear(model, x.values, base))) - y[r]!;
        gradient[size]! += error;
        for (let k = 0; k < inputs.length; k++) {
          const value = x.values[base + k]!;
          const input = inputs[k]!;
          if (input.kind === 'numeric') {
            if (isNaNValue(value)) gradient[offsets[k]! + 1]! += error;
            else gradient[offsets[k]!]! += error * ((value - means[k]!) / scales[k]!);
          } else {
            gradient[offsets[k]! + min(max(round(value), 0), input.codeCount - 1)]! += error;
          }
        }
      }
      const count = end - start;
      step++;
      const correction1 = 1 - pow(beta1, step);
      const correction2 = 1 - pow(beta2, step);
      for (let w = 0; w <= size; w++) {
        const weight = w === size ? model.bias : model.weights[w]!;
        const g = gradient[w]! / count + (w === size ? 0 : options.l2 * weight);
        m[w] = beta1 * m[w]! + (1 - beta1) * g;
        v[w] = beta2 * v[w]! + (1 - beta2) * g * g;
        const update = (rate * (m[w]! / correction1)) / (sqrt(v[w]! / correction2) + 1e-8);
        if (w === size) model.bias -= update;
        else model.weights[w] = weight - update;
      }
    }
  }
  return model;
}
