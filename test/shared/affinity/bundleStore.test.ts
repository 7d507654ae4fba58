import { ContainerClient } from '@azure/storage-blob';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { AffinityBundle, trainAffinityModel } from '../../../models/affinity/train';
import { BundleFiles, OfflineMetrics, sha256 } from '../../../shared/affinity/bundle';
import { BlobAffinityBundleStore, LATEST_POINTER, notWorse } from '../../../shared/affinity/bundleStore';
import { startBlobOnly } from './blobStack';

let stack: Awaited<ReturnType<typeof startBlobOnly>>;
let base: AffinityBundle;
let containerIndex = 0;

beforeAll(async () => {
  stack = await startBlobOnly();
  const interactions = generateSyntheticInteractions({ users: 60, items: 40, interactions: 1200, seed: 4 });
  base = await trainAffinityModel(interactions, { lambda: 10, evaluate: false, version: 'base' });
});

afterAll(async () => {
  await stack.stop();
});

function freshContainer(): ContainerClient {
  return stack.blob.getContainerClient(`models-${++containerIndex}`);
}

/** The base bundle re-labelled with another version and metrics (the manifest is rewritten consistently). */
function variant(version: string, metrics: Partial<OfflineMetrics> | null): Partial<BundleFiles> {
  const manifest = {
    ...base.manifest,
    version,
    metrics:
      metrics === null
        ? null
        : { k: 10, map: 0.1, ndcgAtK: 0.3, precisionAtK: 0.25, recallAtK: 0.2, users: 60, ...metrics },
  };
  return { ...base.files, 'manifest.json': Buffer.from(JSON.stringify(manifest)) };
}

describe('notWorse', () => {
  const metrics = { k: 10, map: 0.1, ndcgAtK: 0.4, precisionAtK: 0.3, recallAtK: 0.2, users: 5 };
  it.each([
    [{ ...metrics }, metrics, 0, true],
    [{ ...metrics, ndcgAtK: 0.39 }, metrics, 0, false],
    [{ ...metrics, ndcgAtK: 0.39 }, metrics, 0.02, true],
    [{ ...metrics, precisionAtK: 0.2 }, metrics, 0.02, false],
    [{ ...metrics, k: 5 }, metrics, 0, false],
    [null, metrics, 0, false],
    [null, null, 0, true],
  ])('candidate %j against %j with tolerance %d → %s', (candidate, current, tolerance, ok) => {
    expect(notWorse(candidate, current, tolerance).ok).toBe(ok);
  });
});

describe('BlobAffinityBundleStore', () => {
  it('promotes the first bundle, refuses a worse one, promotes a better one', async () => {
    const store = new BlobAffinityBundleStore(freshContainer());
    expect(await store.readLatest()).toBeUndefined();

    const first = await store.publish(variant('v1', { ndcgAtK: 0.3 }));
    expect(first).toMatchObject({ version: 'v1', promoted: true, previous: null });
    const worse = await store.publish(variant('v2', { ndcgAtK: 0.29 }));
    expect(worse).toMatchObject({ version: 'v2', promoted: false, previous: 'v1' });
    expect(worse.reason).toContain('worse');
    expect((await store.readLatest())?.pointer.version).toBe('v1');
    const better = await store.publish(variant('v3', { ndcgAtK: 0.31 }));
    expect(better).toMatchObject({ version: 'v3', promoted: true, previous: 'v1' });
    expect((await store.readLatest())?.pointer).toMatchObject({ version: 'v3', metrics: { ndcgAtK: 0.31 } });
    // Every published version is kept, promoted or not, and reads back byte for byte.
    expect(await store.listVersions()).toEqual(['v1', 'v2', 'v3']);
    const stored = await store.readBundle('v2');
    expect(sha256(stored['model.onnx']!)).toBe(sha256(base.files['model.onnx']));
  });

  it('moves the pointer regardless when forced, and refuses a candidate without metrics otherwise', async () => {
    const store = new BlobAffinityBundleStore(freshContainer());
    await store.publish(variant('v1', { ndcgAtK: 0.3 }));
    expect((await store.publish(variant('v2', null))).promoted).toBe(false);
    const forced = await store.publish(variant('v3', { ndcgAtK: 0.1 }), { force: true });
    expect(forced).toMatchObject({ promoted: true, previous: 'v1' });
    expect(forced.reason).toContain('forced');
  });

  it('applies the promotion tolerance', async () => {
    const store = new BlobAffinityBundleStore(freshContainer(), 0.02);
    await store.publish(variant('v1', { ndcgAtK: 0.3 }));
    expect((await store.publish(variant('v2', { ndcgAtK: 0.29 }))).promoted).toBe(true);
  });

  it('accepts republishing the same bundle but not other contents under the same version', async () => {
    const store = new BlobAffinityBundleStore(freshContainer());
    await store.publish(variant('v1', { ndcgAtK: 0.3 }));
    expect(await store.publish(variant('v1', { ndcgAtK: 0.3 }))).toMatchObject({
      promoted: true,
      previous: 'v1',
    });
    await expect(store.publish(variant('v1', { ndcgAtK: 0.5 }))).rejects.toThrow(
      'version v1 was already published with different contents',
    );
  });

  it('refuses a corrupt bundle before uploading anything', async () => {
    const container = freshContainer();
    const store = new BlobAffinityBundleStore(container);
    const corrupt = { ...variant('v1', { ndcgAtK: 0.3 }), 'items.json': Buffer.from('["x"]') };
    await expect(store.publish(corrupt)).rejects.toThrow(/items.json does not match its digest/);
    expect(await container.exists()).toBe(false);
  });

  it('reports a malformed pointer clearly', async () => {
    const container = freshContainer();
    await container.create();
    await container.getBlockBlobClient(LATEST_POINTER).upload('{"version":"../x"}', 18);
    await expect(new BlobAffinityBundleStore(container).readLatest()).rejects.toThrow(
      /affinity\/latest.json: version/,
    );
  });
});
