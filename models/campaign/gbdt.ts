/**
 * Histogram-based gradient-boosted trees for binary outcomes (the LightGBM / scikit-learn
 * HistGradientBoosting recipe): features are bucketed into at most 255 bins plus one bin for missing
 * values, trees grow leaf-wise (best gain first) on second-order gradients of the log loss, the smaller
 * child's histogram is built and the larger's obtained by subtraction, leaves are shrunk by the learning
 * rate and L2-regularised, and boosting stops when the validation log loss has not improved for
 * `patience` rounds. Each split also learns which side missing values take.
 */

export interface GbdtOptions {
  learningRate: number;
  maxIterations: number;
  maxLeaves: number;
  minSamplesLeaf: number;
  minHessianLeaf: number;
  l2: number;
  maxBins: number;
  /** Stop after this many rounds without a better validation loss. */
  patience: number;
  /** Ignored when there is no validation set. */
  minImprovement: number;
  maxDepth: number;
}

export const defaultGbdtOptions: GbdtOptions = {
  learningRate: 0.05,
  maxIterations: 600,
  maxLeaves: 31,
  minSamplesLeaf: 20,
  minHessianLeaf: 1e-3,
  l2: 1,
  maxBins: 255,
  patience: 30,
  minImprovement: 1e-7,
  maxDepth: 16,
};

/** A split's feature, the raw-value threshold (value <= threshold goes left) and where missing values go. */
export interface TreeNode {
  feature: number;
  threshold: number;
  missingGoesLeft: boolean;
  left: number;
  right: number;
  /** Leaf output (raw log-odds contribution); only meaningful when leaf. */
  value: number;
  leaf: boolean;
}

export interface Tree {
  nodes: TreeNode[];
}

export interface GbdtModel {
  /** Log-odds every prediction starts from. */
  baseScore: number;
  trees: Tree[];
  featureCount: number;
}

export interface GbdtTrainingReport {
  iterations: number;
  bestIteration: number;
  trainLoss: number;
  validationLoss: number | undefined;
}

export interface Matrix {
  /** Row-major values, rows × cols; NaN is missing. */
  values: Float32Array;
  rows: number;
  cols: number;
}

/** Bin edges per feature: bin 0 is missing, bin b ≥ 1 holds values ≤ edges[b-1] (and > edges[b-2]). */
export interface Binning {
  edges: Float32Array[];
}

const BIN_SLOTS = 256;
// Module-level copies: inside jest's VM context every global lookup in a hot loop is slow.
const { exp, log1p, max } = Math;
const isNaNValue = Number.isNaN;

export function fitBinning(x: Matrix, maxBins: number, sampleSize = 200_000): Binning {
  const edges: Float32Array[] = [];
  const step = Math.max(1, Math.floor(x.rows / sampleSize));
  for (let f = 0; f < x.cols; f++) {
    const sample: number[] = [];
    for (let r = 0; r < x.rows; r += step) {
      const v = x.values[r * x.cols + f]!;
      if (!Number.isNaN(v)) sample.push(v);
    }
    sample.sort((a, b) => a - b);
    const distinct: number[] = [];
    for (const v of sample)
      if (distinct.length === 0 || distinct[distinct.length - 1] !== v) distinct.push(v);
    const cuts: number[] = [];
    const valueBins = maxBins - 1;
    if (distinct.length <= valueBins) {
      for (let i = 0; i + 1 < distinct.length; i++) cuts.push((distinct[i]! + distinct[i + 1]!) / 2);
    } else {
      for (let q = 1; q < valueBins; q++) {
        const at = Math.floor((q * sample.length) / valueBins);
        const lo = sample[at - 1]!;
        const hi = sample[at]!;
        const cut = lo === hi ? lo : (lo + hi) / 2;
        if (cuts.length === 0 || cut > cuts[cuts.length - 1]!) cuts.push(cut);
      }
    }
    // Thresholds live in float32 in the ONNX model; training must compare against exactly those.
    const rounded: number[] = [];
    for (const cut of cuts) {
      const r = Math.fround(cut);
      if (rounded.length === 0 || r > rounded[rounded.length - 1]!) rounded.push(r);
    }
    edges.push(Float32Array.from(rounded));
  }
  return { edges };
}

function binOf(edges: Float32Array, value: number): number {
  if (isNaNValue(value)) return 0;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

export function binMatrix(x: Matrix, binning: Binning): Uint8Array {
  const bins = new Uint8Array(x.rows * x.cols);
  for (let r = 0; r < x.rows; r++) {
    const base = r * x.cols;
    for (let f = 0; f < x.cols; f++) bins[base + f] = binOf(binning.edges[f]!, x.values[base + f]!);
  }
  return bins;
}

interface SplitCandidate {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  leftG: number;
  leftH: number;
  leftN: number;
}

interface OpenLeaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  histogram: Float64Array;
  split: SplitCandidate | undefined;
}

const sigmoid = (z: number) => 1 / (1 + exp(-z));

function logLoss(raw: Float64Array, y: Uint8Array): number {
  let total = 0;
  for (let i = 0; i < raw.length; i++) {
    const z = raw[i]!;
    // log(1 + e^z) - y z, computed stably.
    total += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y[i]! * z;
  }
  return raw.length === 0 ? 0 : total / raw.length;
}

/** Walks one tree over binned rows. */
function predictBinned(
  tree: Tree,
  bins: Uint8Array,
  cols: number,
  row: number,
  nodeBins: Int32Array,
): number {
  let n = 0;
  for (;;) {
    const node = tree.nodes[n]!;
    if (node.leaf) return node.value;
    const b = bins[row * cols + node.feature]!;
    const goLeft = b === 0 ? node.missingGoesLeft : b <= nodeBins[n]!;
    n = goLeft ? node.left : node.right;
  }
}

export interface TrainingData {
  x: Matrix;
  y: Uint8Array;
}

export interface TrainProgress {
  (iteration: number, trainLoss: number | undefined, validationLoss: number | undefined): void;
}

// The hot loops are small top-level functions over typed arrays so V8 optimises each one on its own.

function computeGradients(
  raw: Float64Array,
  y: Uint8Array,
  grad: Float64Array,
  hess: Float64Array,
  indices: Int32Array,
): void {
  for (let i = 0; i < raw.length; i++) {
    const p = 1 / (1 + exp(-raw[i]!));
    grad[i] = p - y[i]!;
    hess[i] = max(p * (1 - p), 1e-16);
    indices[i] = i;
  }
}

function buildHistogram(
  histogram: Float64Array,
  indices: Int32Array,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
  bins: Uint8Array,
  F: number,
): void {
  for (let k = start; k < end; k++) {
    const i = indices[k]!;
    const gi = grad[i]!;
    const hi = hess[i]!;
    const base = i * F;
    for (let f = 0; f < F; f++) {
      const o = (f * BIN_SLOTS + bins[base + f]!) * 3;
      histogram[o]! += gi;
      histogram[o + 1]! += hi;
      histogram[o + 2]! += 1;
    }
  }
}

function subtractHistogram(large: Float64Array, small: Float64Array): void {
  for (let k = 0; k < large.length; k++) large[k] = large[k]! - small[k]!;
}

/** Moves the rows going left to the front of [start, end), keeping order; returns the boundary. */
function partition(
  indices: Int32Array,
  scratch: Int32Array,
  start: number,
  end: number,
  bins: Uint8Array,
  F: number,
  feature: number,
  bin: number,
  missingLeft: boolean,
): number {
  let write = start;
  let spill = 0;
  for (let k = start; k < end; k++) {
    const i = indices[k]!;
    const b = bins[i * F + feature]!;
    if (b === 0 ? missingLeft : b <= bin) indices[write++] = i;
    else scratch[spill++] = i;
  }
  for (let k = 0; k < spill; k++) indices[write + k] = scratch[k]!;
  return write;
}

function addToRows(raw: Float64Array, indices: Int32Array, start: number, end: number, value: number): void {
  for (let k = start; k < end; k++) raw[indices[k]!]! += value;
}

function addTree(raw: Float64Array, tree: Tree, nodeBins: Int32Array, bins: Uint8Array, F: number): void {
  for (let r = 0; r < raw.length; r++) raw[r]! += predictBinned(tree, bins, F, r, nodeBins);
}

interface SplitSettings {
  l2: number;
  minSamplesLeaf: number;
  minHessianLeaf: number;
}

function findSplit(
  histogram: Float64Array,
  g: number,
  h: number,
  count: number,
  binCounts: Int32Array,
  settings: SplitSettings,
): SplitCandidate | undefined {
  const { l2, minSamplesLeaf, minHessianLeaf } = settings;
  if (count < 2 * minSamplesLeaf) return undefined;
  const parentScore = (g * g) / (h + l2);
  let best: SplitCandidate | undefined;
  let bestGain = 1e-12;
  for (let f = 0; f < binCounts.length; f++) {
    const fb = f * BIN_SLOTS * 3;
    const mg = histogram[fb]!;
    const mh = histogram[fb + 1]!;
    const mn = histogram[fb + 2]!;
    let lg = 0;
    let lh = 0;
    let ln = 0;
    const last = binCounts[f]! - 1;
    // b = last puts every present value left: the "missing or not" split, tried only with missing values here.
    for (let b = 1; b <= last; b++) {
      if (b === last && mn === 0) break;
      const o = fb + b * 3;
      lg += histogram[o]!;
      lh += histogram[o + 1]!;
      ln += histogram[o + 2]!;
      // Missing values to the right, then (if this node has any, and some value goes right) to the left.
      for (let side = 0; side < 2; side++) {
        if (side === 1 && (mn === 0 || b === last)) break;
        const cg = side === 0 ? lg : lg + mg;
        const ch = side === 0 ? lh : lh + mh;
        const cn = side === 0 ? ln : ln + mn;
        const rn = count - cn;
        if (cn < minSamplesLeaf || rn < minSamplesLeaf) continue;
        const rh = h - ch;
        if (ch < minHessianLeaf || rh < minHessianLeaf) continue;
        const rg = g - cg;
        const gain = (cg * cg) / (ch + l2) + (rg * rg) / (rh + l2) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          // With no missing values here, unseen missing values go to the bigger side.
          const missingLeft = side === 1 || (mn === 0 && cn >= rn);
          best = { gain, feature: f, bin: b, missingLeft, leftG: cg, leftH: ch, leftN: cn };
        }
      }
    }
  }
  return best;
}

const newLeaf = (): TreeNode => ({
  feature: 0,
  threshold: 0,
  missingGoesLeft: false,
  left: -1,
  right: -1,
  value: 0,
  leaf: true,
});

export function trainGbdt(
  train: TrainingData,
  validation: TrainingData | undefined,
  options: GbdtOptions = defaultGbdtOptions,
  progress?: TrainProgress,
): { model: GbdtModel; report: GbdtTrainingReport } {
  const { x, y } = train;
  const n = x.rows;
  const F = x.cols;
  if (n === 0) throw new Error('no training rows');
  const binning = fitBinning(x, Math.min(options.maxBins, BIN_SLOTS - 1));
  const bins = binMatrix(x, binning);
  const validationBins = validation ? binMatrix(validation.x, binning) : undefined;
  const binCounts = Int32Array.from(binning.edges, (e) => e.length + 2);
  const settings: SplitSettings = {
    l2: options.l2,
    minSamplesLeaf: options.minSamplesLeaf,
    minHessianLeaf: options.minHessianLeaf,
  };

  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i]!;
  const rate = Math.min(Math.max(positives / n, 1e-6), 1 - 1e-6);
  const baseScore = Math.log(rate / (1 - rate));
  const raw = new Float64Array(n).fill(baseScore);
  const validationRaw = validation ? new Float64Array(validation.x.rows).fill(baseScore) : undefined;
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const indices = new Int32Array(n);
  const scratch = new Int32Array(n);
  const histogramSize = F * BIN_SLOTS * 3;
  const pool: Float64Array[] = [];
  const takeHistogram = () => {
    const h = pool.pop();
    if (h) {
      h.fill(0);
      return h;
    }
    return new Float64Array(histogramSize);
  };

  const trees: Tree[] = [];
  let bestLoss = Infinity;
  let bestIteration = 0;
  let validationLoss: number | undefined;
  let iteration = 0;
  const reportEvery = 50;
  for (iteration = 0; iteration < options.maxIterations; iteration++) {
    computeGradients(raw, y, grad, hess, indices);
    const nodes: TreeNode[] = [newLeaf()];
    const nodeBins: number[] = [0];
    let g0 = 0;
    let h0 = 0;
    for (let i = 0; i < n; i++) {
      g0 += grad[i]!;
      h0 += hess[i]!;
    }
    const rootHistogram = takeHistogram();
    buildHistogram(rootHistogram, indices, 0, n, grad, hess, bins, F);
    const open: OpenLeaf[] = [
      {
        node: 0,
        start: 0,
        end: n,
        depth: 0,
        g: g0,
        h: h0,
        histogram: rootHistogram,
        split: findSplit(rootHistogram, g0, h0, n, binCounts, settings),
      },
    ];
    let leaves = 1;
    while (leaves < options.maxLeaves) {
      let pick = -1;
      for (let k = 0; k < open.length; k++) {
        const s = open[k]!.split;
        if (s && (pick < 0 || s.gain > open[pick]!.split!.gain)) pick = k;
      }
      if (pick < 0) break;
      const leaf = open[pick]!;
      open.splice(pick, 1);
      const split = leaf.split!;
      const mid = partition(
        indices,
        scratch,
        leaf.start,
        leaf.end,
        bins,
        F,
        split.feature,
        split.bin,
        split.missingLeft,
      );
      const leftIndex = nodes.length;
      const rightIndex = leftIndex + 1;
      const node = nodes[leaf.node]!;
      node.leaf = false;
      node.feature = split.feature;
      // The last bin has no upper edge: the split then only separates missing values (value <= +∞).
      node.threshold = binning.edges[split.feature]![split.bin - 1] ?? Infinity;
      node.missingGoesLeft = split.missingLeft;
      node.left = leftIndex;
      node.right = rightIndex;
      nodeBins[leaf.node] = split.bin;
      nodes.push(newLeaf(), newLeaf());
      nodeBins.push(0, 0);
      const leftN = mid - leaf.start;
      const rightN = leaf.end - mid;
      const small = takeHistogram();
      const large = leaf.histogram;
      if (leftN <= rightN) buildHistogram(small, indices, leaf.start, mid, grad, hess, bins, F);
      else buildHistogram(small, indices, mid, leaf.end, grad, hess, bins, F);
      subtractHistogram(large, small);
      const leftHistogram = leftN <= rightN ? small : large;
      const rightHistogram = leftN <= rightN ? large : small;
      const depth = leaf.depth + 1;
      const canSplit = depth < options.maxDepth;
      const rg = leaf.g - split.leftG;
      const rh = leaf.h - split.leftH;
      open.push({
        node: leftIndex,
        start: leaf.start,
        end: mid,
        depth,
        g: split.leftG,
        h: split.leftH,
        histogram: leftHistogram,
        split: canSplit
          ? findSplit(leftHistogram, split.leftG, split.leftH, leftN, binCounts, settings)
          : undefined,
      });
      open.push({
        node: rightIndex,
        start: mid,
        end: leaf.end,
        depth,
        g: rg,
        h: rh,
        histogram: rightHistogram,
        split: canSplit ? findSplit(rightHistogram, rg, rh, rightN, binCounts, settings) : undefined,
      });
      leaves++;
    }
    for (const leaf of open) {
      const value = (-options.learningRate * leaf.g) / (leaf.h + options.l2);
      nodes[leaf.node]!.value = value;
      addToRows(raw, indices, leaf.start, leaf.end, value);
      pool.push(leaf.histogram);
    }
    const tree: Tree = { nodes };
    trees.push(tree);
    const reporting = (iteration + 1) % reportEvery === 0;
    const trainLoss = reporting ? logLoss(raw, y) : undefined;
    if (validation && validationBins && validationRaw) {
      addTree(validationRaw, tree, Int32Array.from(nodeBins), validationBins, F);
      validationLoss = logLoss(validationRaw, validation.y);
      if (reporting) progress?.(iteration + 1, trainLoss, validationLoss);
      if (validationLoss < bestLoss - options.minImprovement) {
        bestLoss = validationLoss;
        bestIteration = iteration + 1;
      } else if (iteration + 1 - bestIteration >= options.patience) {
        iteration++;
        break;
      }
    } else {
      if (reporting) progress?.(iteration + 1, trainLoss, undefined);
      bestIteration = iteration + 1;
    }
    if (leaves === 1) {
      // Nothing left to split: further rounds would add constants only.
      iteration++;
      break;
    }
  }
  const kept = trees.slice(0, Math.max(1, bestIteration));
  return {
    model: { baseScore, trees: kept, featureCount: F },
    report: {
      iterations: iteration,
      bestIteration: kept.length,
      trainLoss: logLoss(raw, y),
      validationLoss: validation ? bestLoss : undefined,
    },
  };
}

/** Raw log-odds for one row of unbinned values; the reference the ONNX export must agree with. */
export function predictRaw(model: GbdtModel, row: ArrayLike<number>): number {
  let total = model.baseScore;
  for (const tree of model.trees) {
    let n = 0;
    for (;;) {
      const node = tree.nodes[n]!;
      if (node.leaf) {
        total += node.value;
        break;
      }
      const v = row[node.feature]!;
      const goLeft = isNaNValue(v) ? node.missingGoesLeft : v <= node.threshold;
      n = goLeft ? node.left : node.right;
    }
  }
  return total;
}

export function predictProbability(model: GbdtModel, row: ArrayLike<number>): number {
  return sigmoid(predictRaw(model, row));
}
