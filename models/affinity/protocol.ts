import { OfflineMetrics } from '../../shared/affinity/bundle';
import { AffinityModel, HistoryEntry, topItems } from '../../shared/affinity/affinityModel';
import { rowFromMap, UserRow } from './interactionMatrix';
import { seededRandom } from '../../shared/random/seededRandom';

/**
 * The offline protocol of the Microsoft Recommenders benchmark: every user's interactions are shuffled
 * and split 75/25 (stratified by user, seeded), models learn from the 75 %, each user gets a top-k list
 * that excludes what they had in training, and the list is judged against their 25 % with MAP,
 * nDCG@k, Precision@k and Recall@k averaged over users who have test items.
 */

export const TRAIN_RATIO = 0.75;

export interface UserSplit {
  train: UserRow[];
  test: UserRow[];
}

/** Only the rows are split, so a search can split its training rows again (`{ rows }`) for validation. */
export function splitPerUser(
  matrix: { readonly rows: readonly UserRow[] },
  seed: number,
  ratio = TRAIN_RATIO,
): UserSplit {
  const random = seededRandom(seed);
  const train: UserRow[] = [];
  const test: UserRow[] = [];
  for (const row of matrix.rows) {
    const order = Array.from(row.items.keys());
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const cut = Math.round(ratio * order.length);
    const part = (positions: number[]): UserRow =>
      rowFromMap(new Map(positions.map((p) => [row.items[p]!, row.weights[p]!])));
    train.push(part(order.slice(0, cut)));
    test.push(part(order.slice(cut)));
  }
  return { train, test };
}

/**
 * Ranking metrics as the Recommenders library computes them (binary relevance):
 * precision = hits/k; recall = hits/|relevant|; nDCG with ideal DCG over min(|relevant|, k) positions;
 * MAP = mean over users of (Σ over hits of precision at the hit's rank) / |relevant|.
 */
export function rankingMetrics(
  recommended: ReadonlyArray<readonly number[]>,
  test: readonly UserRow[],
  k: number,
): OfflineMetrics {
  let users = 0;
  let precision = 0;
  let recall = 0;
  let ndcg = 0;
  let averagePrecision = 0;
  test.forEach((row, user) => {
    if (row.items.length === 0) return;
    users++;
    const relevant = new Set(row.items);
    const list = (recommended[user] ?? []).slice(0, k);
    let hits = 0;
    let dcg = 0;
    let precisionSum = 0;
    list.forEach((item, rank) => {
      if (!relevant.has(item)) return;
      hits++;
      dcg += 1 / Math.log2(rank + 2);
      precisionSum += hits / (rank + 1);
    });
    let idealDcg = 0;
    for (let rank = 0; rank < Math.min(relevant.size, k); rank++) idealDcg += 1 / Math.log2(rank + 2);
    precision += hits / k;
    recall += hits / relevant.size;
    ndcg += dcg / idealDcg;
    averagePrecision += precisionSum / relevant.size;
  });
  const mean = (sum: number) => (users === 0 ? 0 : round(sum / users));
  return {
    k,
    map: mean(averagePrecision),
    ndcgAtK: mean(ndcg),
    precisionAtK: mean(precision),
    recallAtK: mean(recall),
    users,
  };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Top-k item indices per user from a score function over the full item space, training items excluded. */
export function recommendFromScores(
  train: readonly UserRow[],
  test: readonly UserRow[],
  k: number,
  scoresFor: (row: UserRow) => Float32Array | Float64Array,
): number[][] {
  return train.map((row, user) => {
    if ((test[user]?.items.length ?? 0) === 0) return [];
    const scores = scoresFor(row);
    return topItems(Float32Array.from(scores), k, new Set(row.items));
  });
}

/**
 * Top-k lists from a loaded ONNX affinity model (the serving path), mapped back to the matrix's item
 * indices. Users are scored in batches to bound memory.
 */
export async function recommendWithModel(
  model: AffinityModel,
  matrixItemIds: readonly string[],
  train: readonly UserRow[],
  test: readonly UserRow[],
  k: number,
  batchSize = 64,
): Promise<number[][]> {
  const matrixIndex = new Map(matrixItemIds.map((id, index) => [id, index]));
  const matrixIndexOfModelItem = Int32Array.from(model.itemIds, (id) => matrixIndex.get(id) ?? -1);
  const users = train.map((_, user) => user).filter((user) => (test[user]?.items.length ?? 0) > 0);
  const lists: number[][] = train.map(() => []);
  for (let start = 0; start < users.length; start += batchSize) {
    const batch = users.slice(start, start + batchSize);
    const histories = batch.map((user) => toHistory(train[user]!, matrixItemIds));
    const scores = await model.scoreBatch(histories);
    batch.forEach((user, b) => {
      const seen = new Set<number>();
      for (const item of train[user]!.items) {
        const modelIndex = model.indexOf(matrixItemIds[item]!);
        if (modelIndex !== undefined) seen.add(modelIndex);
      }
      lists[user] = topItems(scores[b]!, k, seen).map((modelIndex) => matrixIndexOfModelItem[modelIndex]!);
    });
  }
  return lists;
}

export function toHistory(row: UserRow, itemIds: readonly string[]): HistoryEntry[] {
  return Array.from(row.items, (item, e) => ({ itemId: itemIds[item]!, weight: row.weights[e]! }));
}
