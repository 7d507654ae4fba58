import { AffinityScorer } from './offerService';

/** What the offer path needs of an affinity model (shared/affinity implements it with onnxruntime-node). */
export interface ScoringModel {
  version: string;
  itemIds: readonly string[];
  /** One score per entry of `itemIds`, for the given history. */
  score(history: ReadonlyArray<{ itemId: string; weight: number }>): Promise<Float32Array>;
}

/** The top `k` indices of `scores`, best first, in O(n log k). */
export function topIndices(scores: Float32Array, k: number): number[] {
  const heap: number[] = []; // min-heap of indices by score
  const less = (a: number, b: number) => (scores[a] as number) < (scores[b] as number);
  const swap = (i: number, j: number) => {
    const t = heap[i] as number;
    heap[i] = heap[j] as number;
    heap[j] = t;
  };
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l] as number, heap[m] as number)) m = l;
      if (r < heap.length && less(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let i = 0; i < scores.length; i++) {
    if (heap.length < k) {
      heap.push(i);
      for (let c = heap.length - 1; c > 0;) {
        const p = (c - 1) >> 1;
        if (!less(heap[c] as number, heap[p] as number)) break;
        swap(c, p);
        c = p;
      }
    } else if (less(heap[0] as number, i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (scores[b] as number) - (scores[a] as number));
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
    for (const index of topIndices(scores, this.topK)) {
      const value = scores[index] as number;
      if (value > 0) result.set(model.itemIds[index] as string, value);
    }
    return { scores: result, version: model.version };
  }
}
