import { OfflineMetrics } from '../../shared/affinity/bundle';
import { Weighting } from './ease';
import { popularityScorer, sarScorer } from './baselines';
import { Interaction } from './interactions';
import { buildInteractionMatrix } from './interactionMatrix';
import { rankingMetrics, recommendFromScores, splitPerUser, TRAIN_RATIO } from './protocol';
import {
  AffinityTrainingOptions,
  algorithmName,
  evaluateModelOnSplit,
  ModelFit,
  resolveTrainingOptions,
  SPARSE_ALGORITHM,
} from './train';

export interface AffinityEvaluation {
  protocol: {
    split: string;
    k: number;
    seed: number;
    users: number;
    items: number;
    interactions: number;
    trainPairs: number;
    testPairs: number;
  };
  model: OfflineMetrics & {
    algorithm: string;
    weighting: Weighting;
    seconds: number;
  } & (DenseParameters | SparseParameters);
  baselines: {
    popularity: OfflineMetrics & { seconds: number };
    sar: OfflineMetrics & { similarity: string; seconds: number };
  };
}

/** The dense model's hyperparameters (the blend of EASE, RP3beta, the low-rank and low-pass parts). */
export interface DenseParameters {
  lambda: number;
  blend: number;
  rp3Beta: number;
  lowRankShare: number;
  lowRank: number;
  lowPassShare: number;
  lowPassRank: number;
}

/** The sparse top-K neighbour model's hyperparameters. */
export interface SparseParameters {
  rp3Beta: number;
  neighbours: number;
}

function fitParameters(
  fit: ModelFit,
): { algorithm: string; weighting: Weighting } & (DenseParameters | SparseParameters) {
  if (fit.kind === 'sparse')
    return {
      algorithm: SPARSE_ALGORITHM,
      weighting: fit.weighting,
      rp3Beta: fit.rp3Beta,
      neighbours: fit.neighbours,
    };
  return {
    algorithm: algorithmName(fit),
    lambda: fit.lambda,
    weighting: fit.weighting,
    blend: fit.blend,
    rp3Beta: fit.rp3Beta,
    lowRankShare: fit.lowRankShare,
    lowRank: fit.lowRank,
    lowPassShare: fit.lowPassShare,
    lowPassRank: fit.lowPassRank,
  };
}

/**
 * Runs the Recommenders protocol once: one seeded per-user 75/25 split, then the model (trained on the
 * 75 %, scored through its ONNX export) and the baselines judged on the same 25 %.
 */
export async function evaluateAffinity(
  interactions: readonly Interaction[],
  options: AffinityTrainingOptions = {},
): Promise<AffinityEvaluation> {
  const resolved = resolveTrainingOptions(options);
  const report = options.onProgress;
  const matrix = buildInteractionMatrix(interactions);
  const split = splitPerUser(matrix, resolved.seed);
  const itemCount = matrix.itemIds.length;
  const pairs = (rows: typeof split.train) => rows.reduce((sum, row) => sum + row.items.length, 0);
  report?.(
    `split ${pairs(split.train)} train / ${pairs(split.test)} test pairs over ${matrix.userIds.length} users`,
  );

  const timed = async <T>(work: () => T | Promise<T>): Promise<[T, number]> => {
    const started = process.hrtime.bigint();
    const result = await work();
    return [result, Math.round(Number(process.hrtime.bigint() - started) / 1e6) / 1e3];
  };
  const [popularity, popularitySeconds] = await timed(() =>
    rankingMetrics(
      recommendFromScores(split.train, split.test, resolved.k, popularityScorer(split.train, itemCount)),
      split.test,
      resolved.k,
    ),
  );
  report?.(`popularity: nDCG@${resolved.k} ${popularity.ndcgAtK}`);
  const [sar, sarSeconds] = await timed(() =>
    rankingMetrics(
      recommendFromScores(
        split.train,
        split.test,
        resolved.k,
        sarScorer(split.train, itemCount, resolved.maxItems),
      ),
      split.test,
      resolved.k,
    ),
  );
  report?.(`sar: nDCG@${resolved.k} ${sar.ndcgAtK}`);
  const [{ metrics: model, fit }, modelSeconds] = await timed(() =>
    evaluateModelOnSplit(matrix, split.train, split.test, resolved, report),
  );
  const parameters = fitParameters(fit);
  report?.(`${parameters.algorithm}: nDCG@${resolved.k} ${model.ndcgAtK}`);
  return {
    protocol: {
      split: `per-user random ${TRAIN_RATIO * 100}/${100 - TRAIN_RATIO * 100}, training items excluded`,
      k: resolved.k,
      seed: resolved.seed,
      users: matrix.userIds.length,
      items: itemCount,
      interactions: matrix.interactions,
      trainPairs: pairs(split.train),
      testPairs: pairs(split.test),
    },
    model: {
      ...parameters,
      ...model,
      seconds: modelSeconds,
    },
    baselines: {
      popularity: { ...popularity, seconds: popularitySeconds },
      sar: { similarity: 'jaccard', ...sar, seconds: sarSeconds },
    },
  };
}
