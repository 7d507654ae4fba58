import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  BundleFiles,
  BundleManifest,
  bundleFileNames,
  ColdStartScores,
  OfflineMetrics,
  sha256,
  versionSchema,
} from '../../shared/affinity/bundle';
import { loadAffinityModelFromFiles } from '../../shared/affinity/affinityModel';
import { computeColdStartScores } from './coldStart';
import { blendShares, trainAffinityMatrix } from './affinityMatrix';
import { BlendChoice, searchBlend } from './blendSearch';
import { ItemMatrixModel, Weighting } from './ease';
import { Interaction } from './interactions';
import { buildInteractionMatrix, InteractionMatrix, UserRow } from './interactionMatrix';
import { exportItemMatrixToOnnx, exportNeighboursToOnnx } from './onnxExport';
import { rankingMetrics, recommendWithModel, splitPerUser } from './protocol';
import { searchLambda } from './lambdaSearch';
import {
  NeighbourModel,
  searchSparseNeighbours,
  SPARSE_BETAS,
  trainSparseNeighbours,
} from './sparseNeighbours';

/**
 * The dense model is one item × item matrix over at most `maxItems` items; the sparse one keeps each
 * item's top-K neighbours over the whole catalog (sparseNeighbours.ts). 'auto' takes the dense model
 * when the catalog fits and the sparse one when it does not, so no item is left to cold start.
 */
export type ModelKind = 'dense' | 'sparse';
export const SPARSE_ALGORITHM = 'rp3beta-topk';

export interface AffinityTrainingOptions {
  /** EASE regularisation λ, or 'auto' (default) to choose it on an inner validation split. */
  lambda?: number | 'auto';
  /** Largest catalog the dense model keeps (most popular items first). */
  maxItems?: number;
  /** 'dense', 'sparse' or 'auto' (default): sparse when the catalog has more than maxItems items. */
  model?: ModelKind | 'auto';
  /** Neighbours the sparse model keeps per item (K). */
  neighbours?: number;
  /** How interaction weights enter the model, or 'auto' (default) to choose binary or log1p with λ. */
  weighting?: Weighting | 'auto';
  /** Share of RP3beta in the blend with EASE (0 = EASE alone, 1 = RP3beta alone), or 'auto' (default). */
  blend?: number | 'auto';
  /** RP3beta's popularity exponent β, or 'auto' (default) to choose it with the blend. */
  rp3Beta?: number | 'auto';
  /** Share of the low-rank part (0 = none), or 'auto' (default). */
  lowRankShare?: number | 'auto';
  /** Rank of the low-rank part, or 'auto' (default) to choose it with its share. */
  lowRank?: number | 'auto';
  /** Share of the low-pass part (0 = none), or 'auto' (default). */
  lowPassShare?: number | 'auto';
  /** Rank of the low-pass part, or 'auto' (default) to choose it with its share. */
  lowPassRank?: number | 'auto';
  /** Longest history a scoring call uses. */
  maxHistory?: number;
  /** Items per cold-start list. */
  coldStartSize?: number;
  /** Bundle version; by default the training time and a digest of the model. */
  version?: string;
  /** Held-out evaluation whose metrics go into the manifest (and decide promotion); on by default. */
  evaluate?: boolean;
  k?: number;
  seed?: number;
  /** Progress lines for stderr. */
  onProgress?: (message: string) => void;
  now?: () => Date;
}

export const defaultTrainingOptions = {
  lambda: 'auto' as number | 'auto',
  maxItems: 5000,
  model: 'auto' as ModelKind | 'auto',
  neighbours: 100,
  weighting: 'auto' as Weighting | 'auto',
  blend: 'auto' as number | 'auto',
  rp3Beta: 'auto' as number | 'auto',
  lowRankShare: 'auto' as number | 'auto',
  lowRank: 'auto' as number | 'auto',
  lowPassShare: 'auto' as number | 'auto',
  lowPassRank: 'auto' as number | 'auto',
  maxHistory: 500,
  coldStartSize: 100,
  k: 10,
  seed: 42,
};

export type ResolvedTrainingOptions = typeof defaultTrainingOptions;

export function resolveTrainingOptions(options: AffinityTrainingOptions): ResolvedTrainingOptions {
  return {
    lambda: options.lambda ?? defaultTrainingOptions.lambda,
    maxItems: options.maxItems ?? defaultTrainingOptions.maxItems,
    model: options.model ?? defaultTrainingOptions.model,
    neighbours: options.neighbours ?? defaultTrainingOptions.neighbours,
    weighting: options.weighting ?? defaultTrainingOptions.weighting,
    blend: options.blend ?? defaultTrainingOptions.blend,
    rp3Beta: options.rp3Beta ?? defaultTrainingOptions.rp3Beta,
    lowRankShare: options.lowRankShare ?? defaultTrainingOptions.lowRankShare,
    lowRank: options.lowRank ?? defaultTrainingOptions.lowRank,
    lowPassShare: options.lowPassShare ?? defaultTrainingOptions.lowPassShare,
    lowPassRank: options.lowPassRank ?? defaultTrainingOptions.lowPassRank,
    maxHistory: options.maxHistory ?? defaultTrainingOptions.maxHistory,
    coldStartSize: options.coldStartSize ?? defaultTrainingOptions.coldStartSize,
    k: options.k ?? defaultTrainingOptions.k,
    seed: options.seed ?? defaultTrainingOptions.seed,
  };
}

export interface AffinityBundle {
  manifest: BundleManifest;
  files: BundleFiles;
}

function progressReporter(onProgress: ((message: string) => void) | undefined, label: string) {
  if (!onProgress) return undefined;
  const started = Date.now();
  let lastReport = 0;
  return (stage: string, done: number, total: number): void => {
    const now = Date.now();
    if (done < total && now - lastReport < 1000) return;
    lastReport = now;
    const elapsed = (now - started) / 1000;
    const left = done > 0 ? (elapsed * (total - done)) / done : 0;
    onProgress(
      `${label}: ${stage} ${done}/${total} (${elapsed.toFixed(1)} s, about ${left.toFixed(0)} s left in this stage)`,
    );
  };
}

function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function toIso(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}

/** Hyperparameters fixed for one fit of the dense model. */
type FitOptions = ResolvedTrainingOptions & {
  kind: 'dense';
  lambda: number;
  weighting: Weighting;
} & BlendChoice;

/** Hyperparameters fixed for one fit of the sparse model. */
export type SparseFit = ResolvedTrainingOptions & {
  kind: 'sparse';
  weighting: Weighting;
  rp3Beta: number;
  neighbours: number;
};

export type ModelFit = FitOptions | SparseFit;

/** Which model a catalog of `itemCount` items gets under these options. */
export function chooseModelKind(
  itemCount: number,
  options: Pick<ResolvedTrainingOptions, 'model' | 'maxItems'>,
): ModelKind {
  if (options.model !== 'auto') return options.model;
  return itemCount > options.maxItems ? 'sparse' : 'dense';
}

/**
 * The sparse model's weighting and β: fixed ones are kept, 'auto' ones are chosen on an inner
 * validation split of the rows (searchSparseNeighbours). λ, the blend and the low-rank part are the
 * dense model's and play no part here.
 */
function resolveSparseHyperparameters(
  rows: readonly UserRow[],
  itemCount: number,
  options: ResolvedTrainingOptions,
  onProgress?: (message: string) => void,
): SparseFit {
  if (!Number.isInteger(options.neighbours) || options.neighbours <= 0)
    throw new Error(`neighbours must be a positive integer, got ${options.neighbours}`);
  const fixed = { ...options, kind: 'sparse' as const, neighbours: options.neighbours };
  if (options.weighting !== 'auto' && options.rp3Beta !== 'auto')
    return { ...fixed, weighting: options.weighting, rp3Beta: options.rp3Beta };
  const search = searchSparseNeighbours(rows, itemCount, {
    neighbours: options.neighbours,
    weightings: options.weighting === 'auto' ? ['binary', 'log1p'] : [options.weighting],
    betas: options.rp3Beta === 'auto' ? SPARSE_BETAS : [options.rp3Beta],
    k: options.k,
    seed: options.seed,
    onProgress,
  });
  onProgress?.(
    `search chose the sparse model with ${search.weighting} weighting, β=${search.beta}, K=${options.neighbours}`,
  );
  return { ...fixed, weighting: search.weighting, rp3Beta: search.beta };
}

/** The sparse model for fixed hyperparameters, over every item of the rows' index space. */
function fitSparse(
  rows: readonly UserRow[],
  itemCount: number,
  fit: SparseFit,
  onProgress?: (message: string) => void,
  label = 'model',
): NeighbourModel {
  return trainSparseNeighbours(
    rows,
    itemCount,
    { neighbours: fit.neighbours, beta: fit.rp3Beta, weighting: fit.weighting },
    progressReporter(onProgress, label),
  );
}

/**
 * Resolves 'auto' hyperparameters on the rows alone (inner validation split, see lambdaSearch.ts and
 * blendSearch.ts): with weighting 'auto', binary and log1p weights each get a λ search and the better
 * validation nDCG wins (ratings and event types carry signal on some data, only noise on other); then,
 * with EASE at that λ, the blend (RP3beta's β and share, the low-rank part's rank and share) is chosen
 * on the same split.
 */
function resolveHyperparameters(
  rows: readonly UserRow[],
  itemCount: number,
  options: ResolvedTrainingOptions,
  onProgress?: (message: string) => void,
): FitOptions {
  const lambda = options.lambda;
  const weightings: Weighting[] = options.weighting === 'auto' ? ['binary', 'log1p'] : [options.weighting];
  let chosen: { lambda: number; weighting: Weighting };
  if (lambda !== 'auto' && weightings.length === 1) {
    chosen = { lambda, weighting: weightings[0]! };
  } else {
    let best: { lambda: number; weighting: Weighting; ndcg: number } | undefined;
    for (const weighting of weightings) {
      const search = searchLambda(rows, itemCount, {
        ...options,
        weighting,
        onProgress,
        ...(lambda === 'auto' ? {} : { candidates: [lambda] }),
      });
      const ndcg = Math.max(...search.tried.map((t) => t.ndcgAtK));
      if (best === undefined || ndcg > best.ndcg) best = { lambda: search.lambda, weighting, ndcg };
    }
    chosen = { lambda: best!.lambda, weighting: best!.weighting };
  }
  const { blend, rp3Beta, lowRankShare, lowRank, lowPassShare, lowPassRank } = options;
  const fixedPair = blend !== 'auto' && (rp3Beta !== 'auto' || blend === 0);
  const fixedLowRank = lowRankShare !== 'auto' && (lowRank !== 'auto' || lowRankShare === 0);
  const fixedLowPass = lowPassShare !== 'auto' && (lowPassRank !== 'auto' || lowPassShare === 0);
  if (fixedPair && fixedLowRank && fixedLowPass) {
    return {
      ...options,
      kind: 'dense',
      ...chosen,
      blend,
      rp3Beta: rp3Beta === 'auto' ? 0 : rp3Beta,
      lowRankShare,
      lowRank: lowRank === 'auto' ? 0 : lowRank,
      lowPassShare,
      lowPassRank: lowPassRank === 'auto' ? 0 : lowPassRank,
    };
  }
  const search = searchBlend(rows, itemCount, {
    ...options,
    ...chosen,
    onProgress,
    ...(blend === 'auto' ? {} : { blends: [blend] }),
    ...(rp3Beta === 'auto' ? {} : { betas: [rp3Beta] }),
    ...(lowRankShare === 'auto' ? {} : { lowRankShares: [lowRankShare] }),
    ...(lowRank === 'auto' ? {} : { lowRanks: [lowRank] }),
    ...(lowPassShare === 'auto' ? {} : { lowPassShares: [lowPassShare] }),
    ...(lowPassRank === 'auto' ? {} : { lowPassRanks: [lowPassRank] }),
  });
  const choice: BlendChoice = {
    blend: search.blend,
    rp3Beta: search.rp3Beta,
    lowRankShare: search.lowRankShare,
    lowRank: search.lowRank,
    lowPassShare: search.lowPassShare,
    lowPassRank: search.lowPassRank,
  };
  onProgress?.(
    `search chose λ=${chosen.lambda}, ${chosen.weighting} weighting, blend ${choice.blend} with RP3beta β=${choice.rp3Beta}, low-rank share ${choice.lowRankShare} at rank ${choice.lowRank}, low-pass share ${choice.lowPassShare} at rank ${choice.lowPassRank}`,
  );
  return { ...options, kind: 'dense', ...chosen, ...choice };
}

/** What the manifest and the evaluation call the fitted model: its parts with a positive share. */
export function algorithmName(fit: { blend: number; lowRankShare: number; lowPassShare: number }): string {
  const shares = blendShares(fit);
  const parts = [
    ...(shares.ease > 0 ? ['ease'] : []),
    ...(shares.rp3beta > 0 ? ['rp3beta'] : []),
    ...(shares.lowRank > 0 ? ['lowrank'] : []),
    ...(shares.lowPass > 0 ? ['lowpass'] : []),
  ];
  return parts.join('+');
}

/**
 * Trains the affinity model on the training rows (choosing its hyperparameters on them when 'auto')
 * and evaluates its ONNX export on the test rows, through the serving code path.
 */
export async function evaluateModelOnSplit(
  matrix: InteractionMatrix,
  train: readonly UserRow[],
  test: readonly UserRow[],
  options: ResolvedTrainingOptions,
  onProgress?: (message: string) => void,
): Promise<{ metrics: OfflineMetrics; fit: ModelFit }> {
  const itemCount = matrix.itemIds.length;
  let fit: ModelFit;
  let exported: ExportedModel;
  if (chooseModelKind(itemCount, options) === 'sparse') {
    const sparse = resolveSparseHyperparameters(train, itemCount, options, onProgress);
    fit = sparse;
    exported = exportSparse(
      fitSparse(train, itemCount, sparse, onProgress, 'evaluation model'),
      matrix,
      sparse,
    );
  } else {
    const fixed = resolveHyperparameters(train, itemCount, options, onProgress);
    fit = fixed;
    const model = trainAffinityMatrix(
      train,
      itemCount,
      fixed,
      progressReporter(onProgress, 'evaluation model'),
    );
    exported = exportDense(model, matrix, fixed);
  }
  const files = assembleBundle(
    exported,
    { global: [], byContext: {} },
    matrix,
    null,
    options.maxHistory,
    'holdout',
    new Date(),
  );
  const served = await loadAffinityModelFromFiles(files.files);
  try {
    onProgress?.(`scoring ${test.filter((row) => row.items.length > 0).length} held-out users through ONNX`);
    const lists = await recommendWithModel(served, matrix.itemIds, train, test, options.k);
    return { metrics: rankingMetrics(lists, test, options.k), fit };
  } finally {
    await served.close();
  }
}

/** A trained model in its served form, with what the manifest says about it. */
interface ExportedModel {
  onnx: Uint8Array;
  /** Item ids in model index order. */
  itemIds: string[];
  algorithm: string;
  weighting: Weighting;
  parameters: BundleManifest['parameters'];
}

function exportDense(model: ItemMatrixModel, matrix: InteractionMatrix, options: FitOptions): ExportedModel {
  const itemIds = Array.from(model.catalog, (item) => matrix.itemIds[item]!);
  const algorithm = algorithmName(options);
  const onnx = exportItemMatrixToOnnx(model.weights, itemIds.length, options.weighting, {
    algorithm,
    lambda: String(options.lambda),
    weighting: options.weighting,
    blend: String(options.blend),
    rp3Beta: String(options.rp3Beta),
    lowRankShare: String(options.lowRankShare),
    lowRank: String(options.lowRank),
    lowPassShare: String(options.lowPassShare),
    lowPassRank: String(options.lowPassRank),
  });
  return {
    onnx,
    itemIds,
    algorithm,
    weighting: options.weighting,
    parameters: {
      lambda: options.lambda,
      maxItems: options.maxItems,
      blend: options.blend,
      rp3Beta: options.rp3Beta,
      lowRankShare: options.lowRankShare,
      lowRank: options.lowRank,
      lowPassShare: options.lowPassShare,
      lowPassRank: options.lowPassRank,
    },
  };
}

/** The sparse model covers the matrix's whole item index space, in the matrix's order. */
function exportSparse(model: NeighbourModel, matrix: InteractionMatrix, fit: SparseFit): ExportedModel {
  const onnx = exportNeighboursToOnnx(model, fit.weighting, {
    algorithm: SPARSE_ALGORITHM,
    weighting: fit.weighting,
    rp3Beta: String(fit.rp3Beta),
    neighbours: String(fit.neighbours),
  });
  return {
    onnx,
    itemIds: [...matrix.itemIds],
    algorithm: SPARSE_ALGORITHM,
    weighting: fit.weighting,
    parameters: { neighbours: fit.neighbours, rp3Beta: fit.rp3Beta, maxItems: fit.maxItems },
  };
}

function assembleBundle(
  exported: ExportedModel,
  coldStart: ColdStartScores,
  matrix: InteractionMatrix,
  metrics: OfflineMetrics | null,
  maxHistory: number,
  version: string | undefined,
  createdAt: Date,
): AffinityBundle {
  const { onnx, itemIds } = exported;
  const n = itemIds.length;
  const items = encodeJson(itemIds);
  const coldStartBytes = encodeJson(coldStart);
  const stamp = createdAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const resolvedVersion = version ?? `${stamp}-${sha256(onnx).slice(0, 8)}`;
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    version: versionSchema.parse(resolvedVersion),
    createdAt: createdAt.toISOString(),
    algorithm: exported.algorithm,
    weighting: exported.weighting,
    itemCount: n,
    maxHistory,
    parameters: exported.parameters,
    data: {
      interactions: matrix.interactions,
      users: matrix.userIds.length,
      items: matrix.itemIds.length,
      itemsNotModelled: matrix.itemIds.length - n,
      from: toIso(matrix.from),
      to: toIso(matrix.to),
    },
    metrics,
    files: {
      'model.onnx': { sha256: sha256(onnx), bytes: onnx.byteLength },
      'items.json': { sha256: sha256(items), bytes: items.byteLength },
      'coldStart.json': { sha256: sha256(coldStartBytes), bytes: coldStartBytes.byteLength },
    },
  };
  return {
    manifest,
    files: {
      'manifest.json': encodeJson(manifest),
      'model.onnx': onnx,
      'items.json': items,
      'coldStart.json': coldStartBytes,
    },
  };
}

/**
 * Trains the affinity model on interactions and returns its bundle: first (unless `evaluate: false`)
 * the held-out protocol on a 75/25 split gives the offline metrics, then the model is trained on all
 * interactions, exported to ONNX, and packed with the item index, cold-start scores and manifest.
 */
export async function trainAffinityModel(
  interactions: readonly Interaction[],
  options: AffinityTrainingOptions = {},
): Promise<AffinityBundle> {
  const resolved = resolveTrainingOptions(options);
  if (options.version !== undefined) versionSchema.parse(options.version);
  if (interactions.length === 0) throw new Error('no interactions to train on');
  const report = options.onProgress;
  const matrix = buildInteractionMatrix(interactions);
  report?.(
    `${matrix.interactions} interactions, ${matrix.userIds.length} users, ${matrix.itemIds.length} items`,
  );
  let metrics: OfflineMetrics | null = null;
  let fit: ModelFit;
  const itemCount = matrix.itemIds.length;
  const kind = chooseModelKind(itemCount, resolved);
  if (kind === 'sparse')
    report?.(
      `${itemCount} items${itemCount > resolved.maxItems ? ` exceed the dense cap of ${resolved.maxItems}` : ''}: training the sparse top-${resolved.neighbours} neighbour model over the whole catalog`,
    );
  if (options.evaluate ?? true) {
    const split = splitPerUser(matrix, resolved.seed);
    const held = await evaluateModelOnSplit(matrix, split.train, split.test, resolved, report);
    metrics = held.metrics;
    // The final model keeps the hyperparameters its held-out metrics were measured with, so they describe it.
    fit = held.fit;
    report?.(
      `held-out metrics: nDCG@${metrics.k} ${metrics.ndcgAtK}, P@${metrics.k} ${metrics.precisionAtK}`,
    );
  } else if (kind === 'sparse') {
    fit = resolveSparseHyperparameters(matrix.rows, itemCount, resolved, report);
  } else {
    fit = resolveHyperparameters(matrix.rows, itemCount, resolved, report);
  }
  const exported =
    fit.kind === 'sparse'
      ? exportSparse(fitSparse(matrix.rows, itemCount, fit, report), matrix, fit)
      : exportDense(
          trainAffinityMatrix(matrix.rows, itemCount, fit, progressReporter(report, 'model')),
          matrix,
          fit,
        );
  const coldStart = computeColdStartScores(interactions, resolved.coldStartSize);
  const bundle = assembleBundle(
    exported,
    coldStart,
    matrix,
    metrics,
    resolved.maxHistory,
    options.version,
    (options.now ?? (() => new Date()))(),
  );
  report?.(
    `bundle ${bundle.manifest.version}: ${exported.itemIds.length} items, model ${(bundle.files['model.onnx'].byteLength / 1e6).toFixed(1)} MB`,
  );
  return bundle;
}

/**
 * Writes a bundle into a directory. Each file goes to a temporary name first and the manifest is
 * renamed into place last, so a reader never takes a half-written bundle for a whole one.
 */
export async function writeBundle(directory: string, bundle: AffinityBundle): Promise<void> {
  await mkdir(directory, { recursive: true });
  const order = [...bundleFileNames.filter((name) => name !== 'manifest.json'), 'manifest.json' as const];
  for (const name of order) {
    const temporary = join(directory, `.${name}.${process.pid}.tmp`);
    await writeFile(temporary, bundle.files[name]);
    await rename(temporary, join(directory, name));
  }
}
