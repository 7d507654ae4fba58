import { readdir } from 'node:fs/promises';
import { trainAffinityMatrix } from '../../../models/affinity/affinityMatrix';
import { scoreWithItemMatrix, trainEase } from '../../../models/affinity/ease';
import {
  BLEND_SHARES,
  EASE_ALONE,
  LOW_PASS_RANKS,
  LOW_PASS_SHARES,
  LOW_RANK_SHARES,
  LOW_RANKS,
  RP3_BETAS,
} from '../../../models/affinity/blendSearch';
import { buildInteractionMatrix } from '../../../models/affinity/interactionMatrix';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { algorithmName, trainAffinityModel, writeBundle } from '../../../models/affinity/train';
import { loadAffinityModelFromDirectory } from '../../../shared/affinity/affinityModel';
import { temporaryDirectory } from '../../support/temporaryDirectory';

const interactions = generateSyntheticInteractions({ users: 200, items: 120, interactions: 6000, seed: 11 });

describe('trainEase', () => {
  const matrix = buildInteractionMatrix(interactions);

  it('learns a zero-diagonal item matrix over the whole catalog', () => {
    const model = trainEase(matrix.rows, matrix.itemIds.length, {
      lambda: 50,
      maxItems: 1000,
      weighting: 'binary',
    });
    const n = model.catalog.length;
    expect(n).toBe(matrix.itemIds.length);
    for (let i = 0; i < n; i++) expect(model.weights[i * n + i]).toBe(0);
    expect(model.weights.some((w) => w !== 0)).toBe(true);
  });

  it('keeps only the most popular items when the catalog exceeds maxItems', () => {
    const model = trainEase(matrix.rows, matrix.itemIds.length, {
      lambda: 50,
      maxItems: 30,
      weighting: 'binary',
    });
    expect(model.catalog).toHaveLength(30);
    const users = new Array<number>(matrix.itemIds.length).fill(0);
    for (const row of matrix.rows) for (const item of row.items) users[item]!++;
    const threshold = Math.min(...Array.from(model.catalog, (item) => users[item]!));
    const left = users.filter((_, item) => !model.catalog.includes(item));
    expect(Math.max(...left)).toBeLessThanOrEqual(threshold);
  });
});

describe('trainAffinityModel', () => {
  it('writes a bundle whose ONNX scores equal the trained matrix product, for users never seen', async () => {
    const bundle = await trainAffinityModel(interactions, {
      lambda: 50,
      blend: 0.6,
      rp3Beta: 0.7,
      lowRankShare: 0.2,
      lowRank: 8,
      lowPassShare: 0.3,
      lowPassRank: 6,
      evaluate: false,
      version: 'test-1',
      weighting: 'log1p',
    });
    const directory = temporaryDirectory('affinity-bundle-');
    await writeBundle(directory, bundle);
    expect((await readdir(directory)).sort()).toEqual([
      'coldStart.json',
      'items.json',
      'manifest.json',
      'model.onnx',
    ]);
    const model = await loadAffinityModelFromDirectory(directory);
    try {
      expect(model.version).toBe('test-1');
      expect(model.manifest.metrics).toBeNull();
      expect(model.manifest.algorithm).toBe('ease+rp3beta+lowrank+lowpass');
      expect(model.manifest.parameters).toMatchObject({
        lambda: 50,
        blend: 0.6,
        rp3Beta: 0.7,
        lowRankShare: 0.2,
        lowRank: 8,
        lowPassShare: 0.3,
        lowPassRank: 6,
      });
      expect(model.manifest.data).toMatchObject({
        interactions: interactions.length,
        users: 200,
        itemsNotModelled: 0,
      });
      // A history that no training user had, scored through ONNX and in TypeScript.
      const history = [
        { itemId: model.itemIds[3]!, weight: 2 },
        { itemId: model.itemIds[40]!, weight: 1 },
        { itemId: model.itemIds[3]!, weight: 6 },
        { itemId: 'never-seen-item', weight: 5 },
      ];
      const served = await model.score(history);
      const matrix = buildInteractionMatrix(interactions);
      const reference = trainAffinityMatrix(matrix.rows, matrix.itemIds.length, {
        lambda: 50,
        maxItems: 5000,
        weighting: 'log1p',
        blend: 0.6,
        rp3Beta: 0.7,
        lowRankShare: 0.2,
        lowRank: 8,
        lowPassShare: 0.3,
        lowPassRank: 6,
      });
      const row = {
        items: Int32Array.from([
          matrix.itemIds.indexOf(model.itemIds[3]!),
          matrix.itemIds.indexOf(model.itemIds[40]!),
        ]),
        weights: Float64Array.from([8, 1]),
      };
      const order = Array.from(row.items.keys()).sort((a, b) => row.items[a]! - row.items[b]!);
      const sortedRow = {
        items: Int32Array.from(order, (i) => row.items[i]!),
        weights: Float64Array.from(order, (i) => row.weights[i]!),
      };
      const expected = scoreWithItemMatrix(reference, sortedRow, matrix.itemIds.length, 'log1p');
      expect(served).toHaveLength(expected.length);
      served.forEach((score, index) => expect(score).toBeCloseTo(expected[index]!, 4));
    } finally {
      await model.close();
    }
  });

  it('chooses the blend on the training data when it is auto, and says which model it is', async () => {
    const bundle = await trainAffinityModel(interactions, { lambda: 50, evaluate: false });
    const { blend, rp3Beta, lowRankShare, lowRank, lowPassShare, lowPassRank } = bundle.manifest.parameters;
    expect(BLEND_SHARES).toContain(blend);
    expect(blend === 0 ? [0] : RP3_BETAS).toContain(rp3Beta);
    expect(LOW_RANK_SHARES).toContain(lowRankShare);
    expect(lowRankShare === 0 ? [0] : LOW_RANKS).toContain(lowRank);
    expect(LOW_PASS_SHARES).toContain(lowPassShare);
    expect(lowPassShare === 0 ? [0] : LOW_PASS_RANKS).toContain(lowPassRank);
    expect(bundle.manifest.algorithm).toBe(
      algorithmName({
        blend: Number(blend),
        lowRankShare: Number(lowRankShare),
        lowPassShare: Number(lowPassShare),
      }),
    );
    const easeOnly = await trainAffinityModel(interactions, {
      lambda: 50,
      blend: 0,
      lowRankShare: 0,
      lowPassShare: 0,
      evaluate: false,
    });
    expect(easeOnly.manifest.algorithm).toBe('ease');
    expect(easeOnly.manifest.parameters).toMatchObject(EASE_ALONE);
  });

  it('records held-out metrics and cold-start lists in the bundle', async () => {
    const bundle = await trainAffinityModel(interactions, { lambda: 50 });
    expect(bundle.manifest.metrics).toMatchObject({ k: 10, users: 200 });
    expect(bundle.manifest.metrics!.ndcgAtK).toBeGreaterThan(0.1);
    const coldStart = JSON.parse(Buffer.from(bundle.files['coldStart.json']).toString('utf8')) as {
      global: Array<{ itemId: string; score: number }>;
      byContext: Record<string, Array<{ itemId: string; score: number }>>;
    };
    expect(coldStart.global[0]!.score).toBe(1);
    expect(coldStart.global).toHaveLength(100);
    expect(Object.keys(coldStart.byContext)).toEqual(
      expect.arrayContaining(['hour:0', 'hour:23', 'category:c0']),
    );
    const scores = coldStart.global.map((entry) => entry.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('refuses an unsafe version and an empty input', async () => {
    await expect(trainAffinityModel(interactions, { version: '../x' })).rejects.toThrow();
    await expect(trainAffinityModel([])).rejects.toThrow('no interactions');
  });
});
