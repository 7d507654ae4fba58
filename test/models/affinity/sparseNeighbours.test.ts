import { InferenceSession, Tensor } from 'onnxruntime-node';
import { catalogRows } from '../../../models/affinity/ease';
import { buildInteractionMatrix, UserRow } from '../../../models/affinity/interactionMatrix';
import { exportNeighboursToOnnx } from '../../../models/affinity/onnxExport';
import { rp3betaWeights } from '../../../models/affinity/rp3beta';
import {
  recommendWithNeighbours,
  scoreWithNeighbours,
  searchSparseNeighbours,
  trainSparseNeighbours,
  trainSparseNeighboursForBetas,
} from '../../../models/affinity/sparseNeighbours';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { topItems } from '../../../shared/affinity/affinityModel';

function row(items: number[], weights: number[] = items.map(() => 1)): UserRow {
  return { items: Int32Array.from(items), weights: Float64Array.from(weights) };
}

/** Rows as ids and weights of one item's neighbour slots, for readable expectations. */
function neighboursOf(model: { ids: Int32Array; weights: Float32Array; neighbours: number }, item: number) {
  const start = item * model.neighbours;
  return {
    ids: Array.from(model.ids.subarray(start, start + model.neighbours)),
    weights: Array.from(model.weights.subarray(start, start + model.neighbours)),
  };
}

// Four users over five items; item 4 nobody engaged with.
//   u0: 0 1 2   u1: 0 1   u2: 1 3
// With binary weights, W[i][j] = Σ_u∋i,j (1/users of i)·(1/items of u) / users of j^β:
//   W[0][1] = ½·⅓ + ½·½ = 5/12, W[0][2] = ½·⅓ = 1/6 (β = 0); with β = 1, 5/36 and 1/6: the order flips.
//   W[3][1] = 1·½ = 1/2, W[2][0] = W[2][1] = 1·⅓ (a tie, broken by the lower id).
const handRows = [row([0, 1, 2]), row([0, 1]), row([1, 3]), row([])];

describe('trainSparseNeighbours', () => {
  it('keeps each item top K RP3beta neighbours, strongest first, padding with the item itself at weight 0', () => {
    const model = trainSparseNeighbours(handRows, 5, { neighbours: 3, beta: 0, weighting: 'binary' });
    expect(model).toMatchObject({ itemCount: 5, neighbours: 3 });
    const item0 = neighboursOf(model, 0);
    expect(item0.ids).toEqual([1, 2, 0]);
    expect(item0.weights[0]).toBeCloseTo(5 / 12, 6);
    expect(item0.weights[1]).toBeCloseTo(1 / 6, 6);
    expect(item0.weights[2]).toBe(0);
    const item2 = neighboursOf(model, 2);
    expect(item2.ids).toEqual([0, 1, 2]);
    expect(item2.weights[0]).toBeCloseTo(1 / 3, 6);
    expect(item2.weights[1]).toBeCloseTo(1 / 3, 6);
    const item3 = neighboursOf(model, 3);
    expect(item3.ids).toEqual([1, 3, 3]);
    expect(item3.weights[0]).toBeCloseTo(1 / 2, 6);
    // An item nobody engaged with has no neighbours at all.
    expect(neighboursOf(model, 4)).toEqual({ ids: [4, 4, 4], weights: [0, 0, 0] });
  });

  it('demotes popular neighbours by popularity^β and cuts each row at K', () => {
    const model = trainSparseNeighbours(handRows, 5, { neighbours: 1, beta: 1, weighting: 'binary' });
    const item0 = neighboursOf(model, 0);
    expect(item0.ids).toEqual([2]);
    expect(item0.weights[0]).toBeCloseTo(1 / 6, 6);
  });

  it('equals the top K of every row of the dense RP3beta matrix on synthetic data, for several β at once', () => {
    const interactions = generateSyntheticInteractions({
      users: 150,
      items: 90,
      interactions: 4000,
      seed: 3,
    });
    const matrix = buildInteractionMatrix(interactions);
    const n = matrix.itemIds.length;
    const catalog = Int32Array.from({ length: n }, (_, i) => i);
    const betas = [0, 0.5, 0.9];
    const k = 7;
    const models = trainSparseNeighboursForBetas(matrix.rows, n, {
      neighbours: k,
      betas,
      weighting: 'log1p',
    });
    betas.forEach((beta, b) => {
      const dense = rp3betaWeights(catalogRows(matrix.rows, catalog, n, 'log1p'), n, beta);
      for (let i = 0; i < n; i++) {
        const denseRow = Float32Array.from(dense.subarray(i * n, (i + 1) * n));
        const expected = topItems(denseRow, k, new Set([i])).filter((j) => denseRow[j]! > 0);
        const { ids, weights } = neighboursOf(models[b]!, i);
        expect(ids.slice(0, expected.length)).toEqual(expected);
        expected.forEach((j, slot) => expect(weights[slot]).toBeCloseTo(dense[i * n + j]!, 6));
        expect(weights.slice(expected.length).every((w) => w === 0)).toBe(true);
      }
    });
  });

  it('refuses a non-positive K or a negative β', () => {
    expect(() => trainSparseNeighbours(handRows, 5, { neighbours: 0, beta: 0, weighting: 'binary' })).toThrow(
      /neighbours/,
    );
    expect(() =>
      trainSparseNeighbours(handRows, 5, { neighbours: 2, beta: -1, weighting: 'binary' }),
    ).toThrow(/beta/);
  });
});

describe('scoring with neighbours', () => {
  const interactions = generateSyntheticInteractions({
    users: 200,
    items: 120,
    interactions: 6000,
    seed: 11,
  });
  const matrix = buildInteractionMatrix(interactions);
  const n = matrix.itemIds.length;

  it('recommends the best-scored unseen items, as a sort of the whole catalog scores does', () => {
    const model = trainSparseNeighbours(matrix.rows, n, { neighbours: 20, beta: 0.6, weighting: 'log1p' });
    for (const history of matrix.rows.slice(0, 30)) {
      const scores = scoreWithNeighbours(model, history, 'log1p');
      const seen = new Set(history.items);
      const expected = Array.from(scores.keys())
        .filter((j) => !seen.has(j) && scores[j]! > 0)
        .sort((a, b) => scores[b]! - scores[a]! || a - b)
        .slice(0, 10);
      expect(expected).toHaveLength(10);
      expect(recommendWithNeighbours(model, history, 'log1p', 10)).toEqual(expected);
    }
  });

  it.each(['binary', 'log1p', 'raw'] as const)(
    'gives the same scores through ONNX as in TypeScript (%s weighting), padding included',
    async (weighting) => {
      const model = trainSparseNeighbours(matrix.rows, n, { neighbours: 15, beta: 0.7, weighting });
      const session = await InferenceSession.create(exportNeighboursToOnnx(model, weighting, {}));
      try {
        const histories = [row([3, 40, 77], [2, 1, 5]), row([5]), row([])];
        const width = 3;
        const indices = new BigInt64Array(histories.length * width);
        const weights = new Float32Array(histories.length * width);
        histories.forEach((history, b) =>
          history.items.forEach((item, e) => {
            indices[b * width + e] = BigInt(item);
            weights[b * width + e] = history.weights[e]!;
          }),
        );
        const output = await session.run({
          item_indices: new Tensor('int64', indices, [histories.length, width]),
          item_weights: new Tensor('float32', weights, [histories.length, width]),
        });
        const scores = output.scores!;
        expect(scores.dims).toEqual([histories.length, n]);
        const data = scores.data as Float32Array;
        histories.forEach((history, b) => {
          const expected = scoreWithNeighbours(model, history, weighting);
          for (let j = 0; j < n; j++) expect(Math.abs(data[b * n + j]! - expected[j]!)).toBeLessThan(1e-5);
        });
        expect(data.subarray(2 * n).every((score) => score === 0)).toBe(true);
        expect(data.subarray(0, n).some((score) => score > 0)).toBe(true);
      } finally {
        await session.release();
      }
    },
  );
});

describe('searchSparseNeighbours', () => {
  it('scores every weighting and β on an inner split and picks the best, reproducibly', () => {
    const interactions = generateSyntheticInteractions({
      users: 200,
      items: 120,
      interactions: 6000,
      seed: 4,
    });
    const matrix = buildInteractionMatrix(interactions);
    const options = {
      neighbours: 20,
      weightings: ['binary', 'log1p'] as const,
      betas: [0, 0.5, 1],
      k: 10,
      seed: 1,
    };
    const first = searchSparseNeighbours(matrix.rows, matrix.itemIds.length, options);
    expect(first.tried).toHaveLength(6);
    const best = Math.max(...first.tried.map((t) => t.ndcgAtK));
    expect(first.ndcgAtK).toBe(best);
    expect(first.tried).toContainEqual({ weighting: first.weighting, beta: first.beta, ndcgAtK: best });
    expect(best).toBeGreaterThan(0);
    expect(searchSparseNeighbours(matrix.rows, matrix.itemIds.length, options)).toEqual(first);
  });
});
