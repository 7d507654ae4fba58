import { evaluateAffinity } from '../../../models/affinity/evaluation';
import { buildInteractionMatrix, itemUserCounts } from '../../../models/affinity/interactionMatrix';
import { recommendWithModel, splitPerUser, toHistory } from '../../../models/affinity/protocol';
import { scoreWithNeighbours, trainSparseNeighbours } from '../../../models/affinity/sparseNeighbours';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { chooseModelKind, SPARSE_ALGORITHM, trainAffinityModel } from '../../../models/affinity/train';
import { loadAffinityModelFromFiles } from '../../../shared/affinity/affinityModel';

const interactions = generateSyntheticInteractions({ users: 200, items: 120, interactions: 6000, seed: 11 });
const matrix = buildInteractionMatrix(interactions);
const itemCount = matrix.itemIds.length;
const maxItems = 30;
// The items a dense model capped at maxItems would leave to cold start: all but the most popular.
const users = itemUserCounts(matrix.rows, itemCount);
const byPopularity = Array.from(users.keys()).sort((a, b) => users[b]! - users[a]! || a - b);
const tail = new Set(byPopularity.slice(maxItems).map((item) => matrix.itemIds[item]!));

describe('chooseModelKind', () => {
  it('takes the sparse model only for catalogs beyond maxItems unless told', () => {
    expect(chooseModelKind(5000, { model: 'auto', maxItems: 5000 })).toBe('dense');
    expect(chooseModelKind(5001, { model: 'auto', maxItems: 5000 })).toBe('sparse');
    expect(chooseModelKind(10, { model: 'sparse', maxItems: 5000 })).toBe('sparse');
    expect(chooseModelKind(9000, { model: 'dense', maxItems: 5000 })).toBe('dense');
  });
});

describe('trainAffinityModel on a catalog beyond maxItems', () => {
  it('trains the sparse model over every item, records it in the manifest, and serves every item', async () => {
    const bundle = await trainAffinityModel(interactions, {
      maxItems,
      neighbours: 12,
      rp3Beta: 0.6,
      weighting: 'log1p',
      evaluate: false,
      version: 'sparse-1',
    });
    expect(bundle.manifest).toMatchObject({
      algorithm: SPARSE_ALGORITHM,
      weighting: 'log1p',
      itemCount,
      parameters: { neighbours: 12, rp3Beta: 0.6, maxItems },
      data: { items: itemCount, itemsNotModelled: 0 },
    });
    const model = await loadAffinityModelFromFiles(bundle.files);
    try {
      expect([...model.itemIds].sort()).toEqual([...matrix.itemIds].sort());
      const reference = trainSparseNeighbours(matrix.rows, itemCount, {
        neighbours: 12,
        beta: 0.6,
        weighting: 'log1p',
      });
      // Every user's history through the served model equals the TypeScript scorer, item by item.
      const histories = matrix.rows.map((row) => toHistory(row, matrix.itemIds));
      const served = await model.scoreBatch(histories);
      const tailScored = new Set<string>();
      matrix.rows.forEach((row, user) => {
        const expected = scoreWithNeighbours(reference, row, 'log1p');
        const scores = served[user]!;
        expect(scores).toHaveLength(itemCount);
        matrix.itemIds.forEach((itemId, item) => {
          const score = scores[model.indexOf(itemId)!]!;
          expect(Math.abs(score - expected[item]!)).toBeLessThan(1e-5);
          if (score > 0 && tail.has(itemId)) tailScored.add(itemId);
        });
      });
      // Long-tail items get scores (a capped dense model would give them none)...
      expect(tailScored.size).toBeGreaterThan(tail.size / 2);
      // ...and a history of long-tail items alone is scored from their neighbours, not left to cold start.
      const tailHistory = [...tail].slice(0, 3).map((itemId) => ({ itemId, weight: 1 }));
      expect((await model.score(tailHistory)).some((score) => score > 0)).toBe(true);
    } finally {
      await model.close();
    }
  });

  it('recommends unseen items, long-tail ones among them, and measures held-out metrics', async () => {
    const bundle = await trainAffinityModel(interactions, { maxItems, neighbours: 20, version: 'sparse-2' });
    expect(bundle.manifest.algorithm).toBe(SPARSE_ALGORITHM);
    expect(bundle.manifest.metrics).toMatchObject({ k: 10, users: 200 });
    const model = await loadAffinityModelFromFiles(bundle.files);
    try {
      const split = splitPerUser(matrix, 5);
      const lists = await recommendWithModel(model, matrix.itemIds, split.train, split.test, 10);
      let tailRecommended = 0;
      lists.forEach((list, user) => {
        expect(list).toHaveLength(10);
        const seen = new Set(split.train[user]!.items);
        expect(list.filter((item) => seen.has(item))).toEqual([]);
        tailRecommended += list.filter((item) => tail.has(matrix.itemIds[item]!)).length;
      });
      expect(tailRecommended).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  });

  it('still cuts the catalog with the dense model when told to', async () => {
    const bundle = await trainAffinityModel(interactions, {
      maxItems,
      model: 'dense',
      lambda: 50,
      blend: 0,
      lowRankShare: 0,
      weighting: 'binary',
      evaluate: false,
    });
    expect(bundle.manifest.algorithm).toBe('ease');
    expect(bundle.manifest.itemCount).toBe(maxItems);
    expect(bundle.manifest.data.itemsNotModelled).toBe(itemCount - maxItems);
  });

  it('evaluates the sparse model against the baselines on the standard split', async () => {
    const result = await evaluateAffinity(interactions, { maxItems, neighbours: 20, seed: 3 });
    expect(result.model).toMatchObject({ algorithm: SPARSE_ALGORITHM, neighbours: 20 });
    expect(result.model.ndcgAtK).toBeGreaterThan(result.baselines.popularity.ndcgAtK);
  });
});
