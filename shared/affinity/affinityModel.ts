import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  BundleError,
  BundleFiles,
  bundleFileNames,
  BundleManifest,
  ColdStartScores,
  MODEL_INPUT_INDICES,
  MODEL_INPUT_WEIGHTS,
  MODEL_OUTPUT_SCORES,
  verifyBundle,
} from './bundle';

/** One entry of a user's history: an item and how strongly the user engaged with it (summed per item). */
export interface HistoryEntry {
  itemId: string;
  weight: number;
}

/** A loaded affinity model: history in, a score for every catalog item out, through onnxruntime-node. */
export interface AffinityModel {
  readonly version: string;
  readonly itemIds: readonly string[];
  readonly manifest: BundleManifest;
  readonly coldStart: ColdStartScores;
  /** Index of an item in `itemIds`, or undefined if the model does not know it. */
  indexOf(itemId: string): number | undefined;
  /**
   * Scores every catalog item for one history (aligned with `itemIds`). Unknown items and non-positive
   * weights are ignored; a history with no known item yields all zeros (callers use cold start then).
   */
  score(history: ReadonlyArray<HistoryEntry>): Promise<Float32Array>;
  /** Scores many histories in one ONNX run; each result is aligned with `itemIds`. */
  scoreBatch(histories: ReadonlyArray<ReadonlyArray<HistoryEntry>>): Promise<Float32Array[]>;
  /** Frees the ONNX session; the model must not be used afterwards. */
  close(): Promise<void>;
}

export interface LoadOptions {
  /** onnxruntime intra-op threads; 1 keeps single requests from fighting each other on small machines. */
  intraOpNumThreads?: number;
}

/** Known items of a history, weights summed per item, keeping the heaviest `maxHistory` of them. */
function encodeHistory(
  history: ReadonlyArray<HistoryEntry>,
  indexOf: (itemId: string) => number | undefined,
  maxHistory: number,
): Array<[number, number]> {
  const weights = new Map<number, number>();
  for (const entry of history) {
    const index = indexOf(entry.itemId);
    if (index === undefined || !(entry.weight > 0) || !Number.isFinite(entry.weight)) continue;
    weights.set(index, (weights.get(index) ?? 0) + entry.weight);
  }
  const encoded = [...weights.entries()];
  if (encoded.length > maxHistory) {
    encoded.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    encoded.length = maxHistory;
  }
  return encoded;
}

const MAX_GATHERED_FLOATS = 16_000_000;

class OnnxAffinityModel implements AffinityModel {
  readonly version: string;
  private readonly indexById: Map<string, number>;

  constructor(
    readonly manifest: BundleManifest,
    readonly itemIds: readonly string[],
    readonly coldStart: ColdStartScores,
    private readonly session: InferenceSession,
  ) {
    this.version = manifest.version;
    this.indexById = new Map(itemIds.map((id, index) => [id, index]));
  }

  indexOf(itemId: string): number | undefined {
    return this.indexById.get(itemId);
  }

  async score(history: ReadonlyArray<HistoryEntry>): Promise<Float32Array> {
    const [scores] = await this.scoreBatch([history]);
    return scores ?? new Float32Array(this.itemIds.length);
  }

  async scoreBatch(histories: ReadonlyArray<ReadonlyArray<HistoryEntry>>): Promise<Float32Array[]> {
    const itemCount = this.itemIds.length;
    const encoded = histories.map((h) =>
      encodeHistory(h, (id) => this.indexOf(id), this.manifest.maxHistory),
    );
    // Scored histories get views of their run's output below; only the others need a row of zeros
    // (on a catalog of 100k+ items every needless row is 0.4 MB of garbage).
    const results = encoded.map((history) =>
      history.length > 0 ? new Float32Array(0) : new Float32Array(itemCount),
    );
    const pending = encoded.map((_, i) => i).filter((i) => (encoded[i]?.length ?? 0) > 0);
    // The graph gathers one catalog-wide row per history item, so a run's memory is rows × width × items;
    // batches are cut to keep that near 16M floats.
    let start = 0;
    while (start < pending.length) {
      let end = start;
      let width = 0;
      while (end < pending.length) {
        const nextWidth = Math.max(width, encoded[pending[end]!]?.length ?? 0);
        if (end > start && (end - start + 1) * nextWidth * itemCount > MAX_GATHERED_FLOATS) break;
        width = nextWidth;
        end++;
      }
      await this.runBatch(pending.slice(start, end), encoded, width, results);
      start = end;
    }
    return results;
  }

  private async runBatch(
    batch: readonly number[],
    encoded: ReadonlyArray<Array<[number, number]>>,
    width: number,
    results: Float32Array[],
  ): Promise<void> {
    const itemCount = this.itemIds.length;
    // Padding uses index 0 with weight 0, which adds nothing to the scores.
    const indices = new BigInt64Array(batch.length * width);
    const weights = new Float32Array(batch.length * width);
    batch.forEach((historyIndex, row) => {
      (encoded[historyIndex] ?? []).forEach(([index, weight], column) => {
        indices[row * width + column] = BigInt(index);
        weights[row * width + column] = weight;
      });
    });
    const output = await this.session.run({
      [MODEL_INPUT_INDICES]: new Tensor('int64', indices, [batch.length, width]),
      [MODEL_INPUT_WEIGHTS]: new Tensor('float32', weights, [batch.length, width]),
    });
    const tensor = output[MODEL_OUTPUT_SCORES];
    if (tensor === undefined || !(tensor.data instanceof Float32Array)) {
      throw new BundleError(`model ${this.version} returned no float32 '${MODEL_OUTPUT_SCORES}' output`);
    }
    const data = tensor.data;
    // Exactly one score per catalog item per history: a wider or narrower output would shift every row
    // after the first onto the wrong items, so it is refused rather than cut into rows.
    if (data.length !== batch.length * itemCount) {
      throw new BundleError(
        `model ${this.version} returned ${data.length} scores for ${batch.length} histories of ${itemCount} items`,
      );
    }
    batch.forEach((historyIndex, row) => {
      // Disjoint views of the run's own output buffer: no copy, and no result shares entries with another.
      results[historyIndex] = data.subarray(row * itemCount, (row + 1) * itemCount);
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Loads a bundle from its files: verifies format, digests and shapes (BundleError otherwise), opens the
 * ONNX session and checks that it maps a history to one score per catalog item.
 */
export async function loadAffinityModelFromFiles(
  files: Partial<BundleFiles>,
  options: LoadOptions = {},
): Promise<AffinityModel> {
  const bundle = verifyBundle(files);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bundle.model, {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
    });
  } catch (error) {
    throw new BundleError(
      `bundle ${bundle.manifest.version}: onnxruntime refused model.onnx: ${(error as Error).message}`,
    );
  }
  const missing = [MODEL_INPUT_INDICES, MODEL_INPUT_WEIGHTS].filter(
    (name) => !session.inputNames.includes(name),
  );
  if (missing.length > 0 || !session.outputNames.includes(MODEL_OUTPUT_SCORES)) {
    await session.release();
    throw new BundleError(
      `bundle ${bundle.manifest.version}: model.onnx must take ${MODEL_INPUT_INDICES}, ${MODEL_INPUT_WEIGHTS} and give ${MODEL_OUTPUT_SCORES}`,
    );
  }
  const model = new OnnxAffinityModel(bundle.manifest, bundle.itemIds, bundle.coldStart, session);
  // One probe run of two histories: a model whose output width differs from the catalog would misalign
  // every score after the first row (scoreBatch checks the whole output's size).
  let probe: Float32Array[];
  try {
    const history = [{ itemId: bundle.itemIds[0] ?? '', weight: 1 }];
    probe = await model.scoreBatch([history, history]);
  } catch (error) {
    await session.release();
    throw new BundleError(
      `bundle ${bundle.manifest.version}: model.onnx failed a probe run: ${(error as Error).message}`,
    );
  }
  if (probe[0]?.length !== bundle.itemIds.length) {
    await session.release();
    throw new BundleError(
      `bundle ${bundle.manifest.version}: model.onnx output does not match ${bundle.itemIds.length} items`,
    );
  }
  return model;
}

/** Reads a bundle's files from a directory, as written by `writeBundle`. */
export async function readBundleDirectory(directory: string): Promise<Partial<BundleFiles>> {
  const files: Partial<BundleFiles> = {};
  for (const name of bundleFileNames) {
    try {
      files[name] = await readFile(join(directory, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
  }
  if (files['manifest.json'] === undefined)
    throw new BundleError(`${directory} holds no manifest.json; is it a model bundle?`);
  return files;
}

export async function loadAffinityModelFromDirectory(
  directory: string,
  options: LoadOptions = {},
): Promise<AffinityModel> {
  return loadAffinityModelFromFiles(await readBundleDirectory(directory), options);
}

/**
 * The k best items of a score vector, best first (ties: lower index first), skipping excluded indices.
 * A min-heap of the k best so far keeps it O(n log k): the offer path asks for the top 1,000 of catalogs
 * that may hold many thousands of items.
 */
export function topItems(
  scores: Float32Array,
  k: number,
  exclude: ReadonlySet<number> = new Set(),
): number[] {
  if (k <= 0) return [];
  // a is worse than b: lower score, or the same score at a higher index.
  const worse = (a: number, b: number) => {
    const sa = scores[a] ?? 0;
    const sb = scores[b] ?? 0;
    return sa < sb || (sa === sb && a > b);
  };
  const heap: number[] = []; // heap[0] is the worst of the k kept
  const swap = (i: number, j: number) => {
    const t = heap[i] ?? 0;
    heap[i] = heap[j] ?? 0;
    heap[j] = t;
  };
  // Once k are kept, most items of a large catalog cannot displace the worst of them (the root). The
  // root and its score are cached so that the test for them, `!worse(root, index)`, is one read and a
  // comparison, before any call or set lookup (the result is the same).
  let root = -1;
  let rootScore = 0;
  for (let index = 0; index < scores.length; index++) {
    if (root >= 0) {
      const score = scores[index]!;
      if (!(rootScore < score || (rootScore === score && root > index))) continue;
    }
    if (exclude.has(index)) continue;
    if (heap.length < k) {
      heap.push(index);
      for (let c = heap.length - 1; c > 0;) {
        const p = (c - 1) >> 1;
        if (!worse(heap[c] ?? 0, heap[p] ?? 0)) break;
        swap(c, p);
        c = p;
      }
    } else {
      heap[0] = index;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && worse(heap[l] ?? 0, heap[m] ?? 0)) m = l;
        if (r < heap.length && worse(heap[r] ?? 0, heap[m] ?? 0)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    }
    if (heap.length === k) {
      root = heap[0]!;
      rootScore = scores[root]!;
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
