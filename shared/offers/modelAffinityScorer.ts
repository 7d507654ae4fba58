import { topItems } from '../affinity/affinityModel';
import { AffinityScorer } from './offerService';

/** What the offer path needs of an affinity model (shared/affinity implements it with onnxruntime-node). */
export interface ScoringModel {
  version: string;
  itemIds: readonly string[];
  /** One score per entry of `itemIds`, for the given history. */
  score(history: ReadonlyArray<{ itemId: string; weight: number }>): Promise<Float32Array>;
}

/**
 * Adapts the current affinity model to the offer path: the offer logic needs the strongest products, not
 * a score for each of a catalog that may hold 100k items.
 */
export class ModelAffinityScorer implements AffinityScorer {
  constructor(
    private readonly currentModel: () => Promise<ScoringModel | undefined>,
    private readonly topK = 1000,
  ) {}

  async score(history: ReadonlyArray<{ itemId: string; weight: number }>) {
    const model = await this.currentModel();
    if (!model) return undefined;
    const scores = await model.score(history);
    const result = new Map<string, number>();
    for (const index of topItems(scores, this.topK)) {
      const value = scores[index] as number;
      if (value > 0) result.set(model.itemIds[index] as string, value);
    }
    return { scores: result, version: model.version };
  }
}
