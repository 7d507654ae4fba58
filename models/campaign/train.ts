import { randomUUID } from 'node:crypto';
import { CampaignModelBundle, CampaignModelManifest, MANIFEST_FORMAT } from '../../shared/campaign/bundle';
import { TouchFrame } from '../../shared/campaign/dataset';
import { EncodingSpec, encodeFrame, fitEncoding } from '../../shared/campaign/encoding';
import { CampaignInputError } from '../../shared/campaign/errors';
import { CampaignScorer } from '../../shared/campaign/scorer';
import { GbdtOptions, Matrix, defaultGbdtOptions, trainGbdt } from './gbdt';
import { BaselineInput, predictLogistic, trainLogistic } from './logistic';
import { Evaluation, evaluate } from './metrics';
import { exportGbdtToOnnx } from './onnxExport';

export interface TrainCampaignOptions {
  gbdt: GbdtOptions;
  /** Share of leads held out to measure the model and the baseline. */
  holdoutFraction: number;
  /** Share of leads used for early stopping. */
  validationFraction: number;
  /**
   * After measuring, train again on training + holdout leads so the shipped model sees all the data.
   * Skipped from REFIT_MAX_TRAIN_ROWS training rows on: there the holdout adds little and the refit
   * would double the training time.
   */
  refit: boolean;
  seed: number;
  progress?: (message: string) => void;
}

/** Above this many training rows the refit is skipped (see TrainCampaignOptions.refit). */
export const REFIT_MAX_TRAIN_ROWS = 200_000;

export const defaultTrainOptions: TrainCampaignOptions = {
  gbdt: defaultGbdtOptions,
  holdoutFraction: 0.1,
  validationFraction: 0.1,
  refit: true,
  seed: 42,
};

/** Deterministic share in [0, 1) per lead, so every touch of a lead lands in the same split. */
function leadShare(leadId: string, seed: number): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < leadId.length; i++) hash = Math.imul(hash ^ leadId.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d);
  hash ^= hash >>> 12;
  return (hash >>> 0) / 4294967296;
}

function take(
  matrix: Float32Array,
  width: number,
  y: Uint8Array,
  rows: number[],
): { x: Matrix; y: Uint8Array } {
  const values = new Float32Array(rows.length * width);
  const outcome = new Uint8Array(rows.length);
  rows.forEach((row, k) => {
    values.set(matrix.subarray(row * width, (row + 1) * width), k * width);
    outcome[k] = y[row]!;
  });
  return { x: { values, rows: rows.length, cols: width }, y: outcome };
}

function baselineInputs(encoding: EncodingSpec): BaselineInput[] {
  return encoding.inputs.map((input) =>
    input.encoding.kind === 'numeric'
      ? { kind: 'numeric' }
      : { kind: 'categorical', codeCount: input.encoding.codeCount },
  );
}

export interface TrainedCampaignModel {
  bundle: CampaignModelBundle;
  /** Holdout evaluation (absent when holdoutFraction is 0). */
  model: Evaluation | undefined;
  baseline: Evaluation | undefined;
}

/** Trains the boosted trees and the logistic baseline on a frame with outcomes and packs the bundle. */
export async function trainCampaignModel(
  frame: TouchFrame,
  options: TrainCampaignOptions = defaultTrainOptions,
): Promise<TrainedCampaignModel> {
  const started = Date.now();
  const y = frame.converted;
  if (!y) throw new Error('training needs outcomes (the converted column)');
  // Too little data is the file's fault, not a crash: say which file, as other input errors do.
  if (frame.rowCount === 0)
    throw new CampaignInputError(
      frame.source,
      undefined,
      undefined,
      'has no data rows, only a header; training needs touches with outcomes',
    );
  const progress = options.progress ?? (() => undefined);
  const encoding = fitEncoding(frame);
  const width = encoding.inputs.length;
  const matrix = encodeFrame(encoding, frame);

  const trainRows: number[] = [];
  const validationRows: number[] = [];
  const holdoutRows: number[] = [];
  const shares = new Map<string, number>();
  for (let t = 0; t < frame.rowCount; t++) {
    const lead = frame.leadIds[t]!;
    let share = shares.get(lead);
    if (share === undefined) {
      share = leadShare(lead, options.seed);
      shares.set(lead, share);
    }
    if (share < options.holdoutFraction) holdoutRows.push(t);
    else if (share < options.holdoutFraction + options.validationFraction) validationRows.push(t);
    else trainRows.push(t);
  }
  if (trainRows.length === 0)
    throw new CampaignInputError(
      frame.source,
      undefined,
      undefined,
      `no touches left for training after the holdout (${options.holdoutFraction}) and validation ` +
        `(${options.validationFraction}) splits by lead: ${frame.rowCount} touches of ${shares.size} leads`,
    );
  const train = take(matrix, width, y, trainRows);
  const validation = validationRows.length > 0 ? take(matrix, width, y, validationRows) : undefined;
  const holdout = holdoutRows.length > 0 ? take(matrix, width, y, holdoutRows) : undefined;
  progress(
    `training on ${trainRows.length} touches (${validationRows.length} for early stopping, ${holdoutRows.length} held out), ${width} inputs`,
  );

  const report =
    (label: string) =>
    (iteration: number, trainLoss: number | undefined, validationLoss: number | undefined) => {
      progress(
        `${label} round ${iteration}: train loss ${trainLoss?.toFixed(5)}${validationLoss === undefined ? '' : `, validation loss ${validationLoss.toFixed(5)}`}`,
      );
    };
  let trained = trainGbdt(train, validation, options.gbdt, report('trees'));
  progress(`trees: ${trained.model.trees.length} kept of ${trained.report.iterations} rounds`);

  let modelEvaluation: Evaluation | undefined;
  let baselineEvaluation: Evaluation | undefined;
  if (holdout) {
    const scorer = await CampaignScorer.create({
      manifest: { encoding } as CampaignModelManifest,
      onnx: exportGbdtToOnnx(trained.model),
    });
    try {
      modelEvaluation = evaluate(await scorer.score(holdout.x.values, holdout.x.rows), holdout.y);
    } finally {
      await scorer.close();
    }
    const baseline = trainLogistic(train.x, train.y, baselineInputs(encoding));
    baselineEvaluation = evaluate(predictLogistic(baseline, holdout.x), holdout.y);
    progress(
      `holdout AUC: trees ${modelEvaluation.auc.toFixed(4)}, logistic baseline ${baselineEvaluation.auc.toFixed(4)}`,
    );
    if (options.refit && trainRows.length < REFIT_MAX_TRAIN_ROWS) {
      const all = take(matrix, width, y, [...trainRows, ...holdoutRows]);
      trained = trainGbdt(all, validation, options.gbdt, report('refit'));
      progress(`refit on training + holdout touches: ${trained.model.trees.length} trees`);
    }
  }

  const version = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomUUID().slice(0, 8)}`;
  let positives = 0;
  for (let t = 0; t < frame.rowCount; t++) positives += y[t]!;
  const manifest: CampaignModelManifest = {
    format: MANIFEST_FORMAT,
    version,
    createdAt: new Date().toISOString(),
    mapping: frame.roleColumns,
    encoding,
    learner: {
      kind: 'gradient-boosted-trees',
      trees: trained.model.trees.length,
      options: { ...options.gbdt },
    },
    training: {
      touches: frame.rowCount,
      positives,
      trainRows: trainRows.length,
      validationRows: validationRows.length,
      holdoutRows: holdoutRows.length,
      seconds: (Date.now() - started) / 1000,
    },
    metrics:
      modelEvaluation && baselineEvaluation
        ? { model: modelEvaluation, baseline: baselineEvaluation }
        : undefined,
  };
  const onnx = exportGbdtToOnnx(trained.model, { version, kind: 'campaign-response' });
  return { bundle: { manifest, onnx }, model: modelEvaluation, baseline: baselineEvaluation };
}
