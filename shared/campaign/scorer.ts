import { InferenceSession, Tensor } from 'onnxruntime-node';
import { BundleError, CampaignModelBundle, CampaignModelManifest, MANIFEST_FILE, MODEL_FILE } from './bundle';

/** Must match models/campaign/onnxExport.ts (serving code does not import training code). */
const INPUT = 'features';
const OUTPUT = 'probability';
/** Rows per onnxruntime call: big enough to amortise the call, small enough to bound memory. */
export const SCORE_BATCH_ROWS = 262_144;

/** Scores encoded rows with the campaign model in onnxruntime-node. */
export class CampaignScorer {
  private constructor(
    readonly manifest: CampaignModelManifest,
    private readonly session: InferenceSession,
  ) {}

  static async create(bundle: CampaignModelBundle): Promise<CampaignScorer> {
    const session = await InferenceSession.create(bundle.onnx, {
      graphOptimizationLevel: 'all',
      // onnxruntime-node runs each call synchronously on the JS thread, so both cores come from intra-op
      // threads; without spinning they do not fight the JS thread that prepares the next batch.
      intraOpNumThreads: 2,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      interOpNumThreads: 1,
    });
    const scorer = new CampaignScorer(bundle.manifest, session);
    try {
      await scorer.probe();
    } catch (error) {
      await session.release();
      throw error;
    }
    return scorer;
  }

  /**
   * Scores one row, so a model.onnx that does not fit the manifest (other input width, names or output)
   * is refused when loaded instead of failing every scoring call; the serving code retries a failed load
   * but would keep a loaded scorer.
   */
  private async probe(): Promise<void> {
    const { inputNames, outputNames } = this.session;
    if (!inputNames.includes(INPUT) || !outputNames.includes(OUTPUT)) {
      throw new BundleError(
        `${MODEL_FILE} has inputs [${inputNames.join(', ')}] and outputs [${outputNames.join(', ')}]; expected input '${INPUT}' and output '${OUTPUT}'`,
      );
    }
    let scores: Float32Array;
    try {
      scores = await this.score(new Float32Array(this.width), 1);
    } catch (error) {
      throw new BundleError(
        `${MODEL_FILE} does not take the ${this.width} inputs of ${MANIFEST_FILE}: ${(error as Error).message}`,
      );
    }
    if (scores.length !== 1 || !Number.isFinite(scores[0])) {
      throw new BundleError(`${MODEL_FILE} gave no probability for a row of ${this.width} inputs`);
    }
  }

  get width(): number {
    return this.manifest.encoding.inputs.length;
  }

  /** Probabilities for `rows` rows of the row-major matrix. */
  async score(matrix: Float32Array, rows: number): Promise<Float32Array> {
    const width = this.width;
    if (matrix.length < rows * width)
      throw new Error(`score: ${matrix.length} values for ${rows} rows of ${width}`);
    const out = new Float32Array(rows);
    for (let start = 0; start < rows; start += SCORE_BATCH_ROWS) {
      const count = Math.min(SCORE_BATCH_ROWS, rows - start);
      const input = new Tensor('float32', matrix.subarray(start * width, (start + count) * width), [
        count,
        width,
      ]);
      const result = await this.session.run({ [INPUT]: input });
      out.set(result[OUTPUT]!.data as Float32Array, start);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
