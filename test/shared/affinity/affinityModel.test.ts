import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { AffinityBundle, trainAffinityModel, writeBundle } from '../../../models/affinity/train';
import {
  AffinityModel,
  loadAffinityModelFromDirectory,
  loadAffinityModelFromFiles,
  topItems,
} from '../../../shared/affinity/affinityModel';
import { BundleError, sha256 } from '../../../shared/affinity/bundle';
import { temporaryDirectory } from '../../support/temporaryDirectory';

let bundle: AffinityBundle;
let model: AffinityModel;

beforeAll(async () => {
  const interactions = generateSyntheticInteractions({ users: 120, items: 60, interactions: 3000, seed: 2 });
  bundle = await trainAffinityModel(interactions, {
    lambda: 20,
    evaluate: false,
    version: 'v1',
    maxHistory: 5,
  });
  model = await loadAffinityModelFromFiles(bundle.files);
});

afterAll(async () => {
  await model.close();
});

describe('AffinityModel', () => {
  it('scores every catalog item and ignores unknown items and non-positive weights', async () => {
    const history = [{ itemId: model.itemIds[0]!, weight: 1 }];
    const scores = await model.score(history);
    expect(scores).toHaveLength(model.itemIds.length);
    const noisy = await model.score([
      ...history,
      { itemId: 'unknown', weight: 3 },
      { itemId: model.itemIds[1]!, weight: 0 },
      { itemId: model.itemIds[2]!, weight: -4 },
    ]);
    expect(Array.from(noisy)).toEqual(Array.from(scores));
  });

  it('gives all zeros for a history with no known item', async () => {
    const scores = await model.score([{ itemId: 'unknown', weight: 1 }]);
    expect(scores.every((s) => s === 0)).toBe(true);
    expect(await model.score([])).toHaveLength(model.itemIds.length);
  });

  it('scores a batch exactly as one history at a time', async () => {
    const histories = [
      [{ itemId: model.itemIds[4]!, weight: 1 }],
      [],
      model.itemIds.slice(10, 14).map((itemId, i) => ({ itemId, weight: i + 1 })),
    ];
    const batch = await model.scoreBatch(histories);
    for (let i = 0; i < histories.length; i++) {
      expect(Array.from(batch[i]!)).toEqual(Array.from(await model.score(histories[i]!)));
    }
  });

  it('keeps the heaviest maxHistory items of a long history', async () => {
    const heavy = model.itemIds.slice(0, 5).map((itemId) => ({ itemId, weight: 10 }));
    const light = model.itemIds.slice(5, 25).map((itemId) => ({ itemId, weight: 1 }));
    expect(Array.from(await model.score([...light, ...heavy]))).toEqual(Array.from(await model.score(heavy)));
  });
});

describe('loading a bundle', () => {
  async function bundleDirectory(change?: (files: AffinityBundle['files']) => void): Promise<string> {
    const directory = temporaryDirectory('affinity-load-');
    const files = { ...bundle.files };
    change?.(files);
    await writeBundle(directory, { manifest: bundle.manifest, files });
    return directory;
  }

  it('loads a directory written by writeBundle', async () => {
    const loaded = await loadAffinityModelFromDirectory(await bundleDirectory());
    expect(loaded.version).toBe('v1');
    expect(loaded.coldStart.global.length).toBeGreaterThan(0);
    await loaded.close();
  });

  it('refuses a corrupt model file', async () => {
    const directory = await bundleDirectory();
    const onnx = await readFile(join(directory, 'model.onnx'));
    onnx[onnx.length - 10] = onnx[onnx.length - 10]! ^ 0xff;
    await writeFile(join(directory, 'model.onnx'), onnx);
    await expect(loadAffinityModelFromDirectory(directory)).rejects.toThrow(
      /model.onnx does not match its digest/,
    );
  });

  it('refuses a bundle of another format version', async () => {
    const directory = await bundleDirectory((files) => {
      const manifest = JSON.parse(Buffer.from(files['manifest.json']).toString('utf8')) as Record<
        string,
        unknown
      >;
      files['manifest.json'] = Buffer.from(JSON.stringify({ ...manifest, formatVersion: 2 }));
    });
    await expect(loadAffinityModelFromDirectory(directory)).rejects.toThrow(
      'incompatible bundle: expected nextoffer-affinity v1, found nextoffer-affinity v2',
    );
  });

  it('refuses a missing file and a directory that is not a bundle', async () => {
    const { 'items.json': _items, ...withoutItems } = bundle.files;
    await expect(loadAffinityModelFromFiles(withoutItems)).rejects.toThrow('bundle v1 has no items.json');
    await expect(loadAffinityModelFromDirectory(temporaryDirectory('not-a-bundle-'))).rejects.toBeInstanceOf(
      BundleError,
    );
  });

  /** The bundle with items.json short of its first item, the digest fixed, and the manifest changed so. */
  function withoutFirstItem(manifestChanges: Partial<typeof bundle.manifest> = {}) {
    const items = Buffer.from(JSON.stringify(model.itemIds.slice(1)));
    const manifest = {
      ...bundle.manifest,
      ...manifestChanges,
      files: { ...bundle.manifest.files, 'items.json': { sha256: sha256(items), bytes: items.length } },
    };
    return { ...bundle.files, 'items.json': items, 'manifest.json': Buffer.from(JSON.stringify(manifest)) };
  }

  it('refuses items that disagree with the manifest even when digests are consistent', async () => {
    await expect(loadAffinityModelFromFiles(withoutFirstItem())).rejects.toThrow(
      /items.json has \d+ items, manifest says/,
    );
  });

  it('refuses a model whose output is wider than the catalog, which would shift every row after the first', async () => {
    // Digests and counts consistent, but model.onnx still gives a score per original item.
    await expect(
      loadAffinityModelFromFiles(withoutFirstItem({ itemCount: model.itemIds.length - 1 })),
    ).rejects.toThrow(/model.onnx failed a probe run: .*returned \d+ scores for 2 histories of \d+ items/);
  });
});

describe('topItems', () => {
  it('returns the k best indices, best first, ties by index, skipping excluded ones', () => {
    const scores = Float32Array.from([0.5, 0.9, 0.1, 0.9, 0.7, 0.3]);
    expect(topItems(scores, 3)).toEqual([1, 3, 4]);
    expect(topItems(scores, 3, new Set([1]))).toEqual([3, 4, 0]);
    expect(topItems(scores, 0)).toEqual([]);
    expect(topItems(scores, 10)).toEqual([1, 3, 4, 0, 5, 2]);
  });

  it('agrees with a full sort on a large vector', () => {
    const scores = Float32Array.from(
      { length: 5000 },
      (_, i) => ((Math.sin(i * 12.9898) * 43758.5453) % 1) + 1,
    );
    const expected = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, 1000);
    expect(topItems(scores, 1000)).toEqual(expected);
  });
});
