import { InferenceSession, Tensor } from 'onnxruntime-node';
import { CampaignModelBundle, CampaignModelManifest } from './bundle';

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
    return new CampaignScorer(bundle.manifest, session);
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
