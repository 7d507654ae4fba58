import { topItems } from '../affinity/affinityModel';
import { TurnBatcher } from '../runtime/turnBatcher';
import { AffinityScorer } from './offerService';

type History = ReadonlyArray<{ itemId: string; weight: number }>;

/** What the offer path needs of an affinity model (shared/affinity implements it with onnxruntime-node). */
export interface ScoringModel {
  version: string;
  itemIds: readonly string[];
  /** One score array per history, each aligned with `itemIds`, from one run of the model. */
  scoreBatch(histories: ReadonlyArray<History>): Promise<Float32Array[]>;
}

type Scored = Awaited<ReturnType<AffinityScorer['score']>>;

/** The most histories in one ONNX run; the model cuts larger runs by memory anyway. */
const MAX_HISTORIES_PER_RUN = 64;

/**
 * Adapts the current affinity model to the offer path: the offer logic needs the strongest products, not
 * a score for each of a catalog that may hold 100k items. The histories of requests that arrive in the
 * same turn of the event loop are scored in one ONNX run (see TurnBatcher): a run's fixed cost on the
 * host's thread is several times that of one more row.
 */
export class ModelAffinityScorer implements AffinityScorer {
  private readonly batcher: TurnBatcher<History, Scored>;

  constructor(
    private readonly currentModel: () => Promise<ScoringModel | undefined>,
    private readonly topK = 1000,
  ) {
    this.batcher = new TurnBatcher((histories) => this.scoreTogether(histories), MAX_HISTORIES_PER_RUN);
  }

  score(history: History): Promise<Scored> {
    return this.batcher.submit(history);
  }

  private async scoreTogether(histories: History[]): Promise<Scored[]> {
    // One model for the whole batch, so a new version is never mixed into a run of the old one.
    const model = await this.currentModel();
    if (!model) return histories.map(() => undefined);
    const batchScores = await model.scoreBatch(histories);
    return batchScores.map((scores) => {
      const result = new Map<string, number>();
      for (const index of topItems(scores, this.topK)) {
        const value = scores[index] as number;
        if (value > 0) result.set(model.itemIds[index] as string, value);
      }
      return { scores: result, version: model.version };
    });
  }
}
