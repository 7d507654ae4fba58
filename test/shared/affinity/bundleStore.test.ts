import { ContainerClient } from '@azure/storage-blob';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { AffinityBundle, trainAffinityModel } from '../../../models/affinity/train';
import { BundleFiles, OfflineMetrics, sha256, verifyBundle } from '../../../shared/affinity/bundle';
import { BlobAffinityBundleStore, LATEST_POINTER, notWorse } from '../../../shared/affinity/bundleStore';
import { FaultProxy, startFaultProxy } from '../../support/faultProxy';
import { blobBehindFaultProxy, startBlobOnly } from './blobStack';

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

describe('BlobAffinityBundleStore.pruneVersions', () => {
  const hour = 3_600_000;
  const fastRetry = { baseDelayMs: 1, maxDelayMs: 5 };
  const proxies: FaultProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
  });

  /** The store as the next night's run sees it: its clock two hours on, past the grace period. */
  function nextNight(container: ContainerClient): BlobAffinityBundleStore {
    return new BlobAffinityBundleStore(container, 0, () => new Date(Date.now() + 2 * hour));
  }

  /**
   * Azurite behind a proxy that may answer a request itself (a fault) or do something at the service
   * first; the SDK's own retries are off, so each fault reaches the code under test.
   */
  async function proxied(
    container: ContainerClient,
    decide: Parameters<typeof startFaultProxy>[1],
  ): Promise<{ store: BlobAffinityBundleStore; proxy: FaultProxy }> {
    const { blob, proxy } = await blobBehindFaultProxy(stack, decide);
    proxies.push(proxy);
    const via = blob.getContainerClient(container.containerName);
    return { store: new BlobAffinityBundleStore(via, 0, () => new Date(Date.now() + 2 * hour)), proxy };
  }

  /** v1 serving (the best metrics), then v2…v`count` published and not promoted. */
  async function servingOldest(count: number): Promise<ContainerClient> {
    const container = freshContainer();
    const store = new BlobAffinityBundleStore(container);
    await store.publish(variant('v1', { ndcgAtK: 0.5 }));
    for (let i = 2; i <= count; i++) {
      expect((await store.publish(variant(`v${i}`, { ndcgAtK: 0.3 }))).promoted).toBe(false);
    }
    return container;
  }

  const isDelete = (request: { method?: string }) => request.method === 'DELETE';

  it('keeps the version latest names even when it is the oldest, and the newest N; a rerun removes nothing', async () => {
    const container = await servingOldest(6);
    const store = nextNight(container);
    const report = await store.pruneVersions({ keep: 2 });
    expect(report).toEqual({
      removed: ['v2', 'v3', 'v4'],
      kept: ['v6', 'v5', 'v1'],
      failed: [],
      stopped: undefined,
    });
    expect(await store.listVersions()).toEqual(['v1', 'v5', 'v6']);
    // What stays is whole: the serving bundle still verifies, and nothing is left of the others.
    expect(verifyBundle(await store.readBundle('v1')).manifest.version).toBe('v1');
    expect(await store.readBundle('v3')).toEqual({});

    const rerun = await store.pruneVersions({ keep: 2 });
    expect(rerun).toEqual({ removed: [], kept: ['v6', 'v5', 'v1'], failed: [], stopped: undefined });
    expect(await store.listVersions()).toEqual(['v1', 'v5', 'v6']);
  });

  it('keeps the version latest replaced, which a process that read the old pointer may be loading', async () => {
    const container = freshContainer();
    const store = new BlobAffinityBundleStore(container);
    await store.publish(variant('v1', { ndcgAtK: 0.3 }));
    for (const version of ['v2', 'v3', 'v4']) await store.publish(variant(version, { ndcgAtK: 0.2 }));
    expect(await store.publish(variant('v5', { ndcgAtK: 0.4 }))).toMatchObject({
      promoted: true,
      previous: 'v1',
    });
    expect((await store.readLatest())?.pointer).toMatchObject({ version: 'v5', previous: 'v1' });

    const report = await nextNight(container).pruneVersions({ keep: 1 });
    expect(report.removed).toEqual(['v2', 'v3', 'v4']);
    expect(await store.listVersions()).toEqual(['v1', 'v5']);
  });

  it('never deletes what was written within the grace period: an upload in flight, a version about to be promoted', async () => {
    const container = await servingOldest(4);
    // An upload under way: data files in, no manifest yet.
    await container.getBlockBlobClient('affinity/v5/model.onnx').uploadData(base.files['model.onnx']);
    const store = new BlobAffinityBundleStore(container); // the real clock: everything is minutes old
    expect(await store.pruneVersions({ keep: 1 })).toMatchObject({ removed: [], failed: [] });
    expect(await store.listVersions()).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
    // Hours later the abandoned upload is the newest version, and counts as one.
    expect((await nextNight(container).pruneVersions({ keep: 1 })).removed).toEqual(['v2', 'v3', 'v4']);
    expect(await store.listVersions()).toEqual(['v1', 'v5']);
  });

  it('finishes off a version a run cut short left half-deleted', async () => {
    const container = await servingOldest(4);
    await container.deleteBlob('affinity/v2/manifest.json');
    await container.deleteBlob('affinity/v2/model.onnx');
    const report = await nextNight(container).pruneVersions({ keep: 1 });
    expect(report.removed).toEqual(['v2', 'v3']);
    expect(await new BlobAffinityBundleStore(container).listVersions()).toEqual(['v1', 'v4']);
  });

  it('leaves alone a version published, and one the pointer moved to, while it was deleting', async () => {
    const container = await servingOldest(6);
    const direct = new BlobAffinityBundleStore(container);
    let concurrent: Promise<void> | undefined;
    const { store } = await proxied(container, async (request) => {
      if (isDelete(request) && concurrent === undefined) {
        // Another run, as the first delete (v2's manifest) is on its way: it publishes v7, and a rollback
        // moves the pointer to v3, which this prune listed as one to delete.
        concurrent = (async () => {
          await direct.publish(variant('v7', { ndcgAtK: 0.3 }));
          await direct.publish(variant('v3', { ndcgAtK: 0.3 }), { force: true });
        })();
        await concurrent;
      }
      return undefined;
    });
    const report = await store.pruneVersions({ keep: 2 });
    expect(concurrent).toBeDefined();
    expect(report.removed).toEqual(['v2', 'v4']);
    expect((await direct.readLatest())?.pointer).toMatchObject({ version: 'v3', previous: 'v1' });
    // v3 serves (and is whole), v1 is the one it replaced, v5 and v6 the newest listed, v7 newer still.
    expect(await direct.listVersions()).toEqual(['v1', 'v3', 'v5', 'v6', 'v7']);
    expect(verifyBundle(await direct.readBundle('v3')).manifest.version).toBe('v3');
  });

  it('retries a delete that meets a transient 503', async () => {
    const container = await servingOldest(3);
    let faultsLeft = 1;
    const { store, proxy } = await proxied(container, (request) => {
      if (isDelete(request) && faultsLeft > 0) {
        faultsLeft -= 1;
        return { status: 503, headers: { 'x-ms-error-code': 'ServerBusy' } };
      }
      return undefined;
    });
    const retries: string[] = [];
    const report = await store.pruneVersions({ keep: 1, retry: fastRetry, onRetry: (m) => retries.push(m) });
    expect(proxy.faults).toBe(1);
    expect(retries).toEqual([
      expect.stringMatching(/^affinity retention: Blob call failed .*; attempt 2 in/),
    ]);
    expect(report).toMatchObject({ removed: ['v2'], failed: [], stopped: undefined });
    expect(await new BlobAffinityBundleStore(container).listVersions()).toEqual(['v1', 'v3']);
  });

  it('reports deletes that keep failing instead of throwing, and the next run does them', async () => {
    const container = await servingOldest(4);
    const { store, proxy } = await proxied(container, (request) =>
      isDelete(request) ? { status: 503, headers: { 'x-ms-error-code': 'ServerBusy' } } : undefined,
    );
    const report = await store.pruneVersions({ keep: 1, retry: fastRetry });
    // The first version's manifest, 6 attempts; then it stops rather than hammer a failing service.
    expect(proxy.faults).toBe(6);
    expect(report).toEqual({
      removed: [],
      kept: ['v4', 'v3', 'v2', 'v1'],
      failed: [{ version: 'v2', error: expect.any(String) as unknown }],
      stopped: 'Blob kept failing (on v2)',
    });
    expect(await new BlobAffinityBundleStore(container).listVersions()).toEqual(['v1', 'v2', 'v3', 'v4']);

    expect((await nextNight(container).pruneVersions({ keep: 1 })).removed).toEqual(['v2', 'v3']);
  });

  it('deletes nothing when the pointer cannot be read, and reports it', async () => {
    const container = await servingOldest(3);
    const { store } = await proxied(container, (request) =>
      request.method === 'GET' && (request.url ?? '').includes('latest.json') ? { status: 503 } : undefined,
    );
    const report = await store.pruneVersions({ keep: 1, retry: fastRetry });
    expect(report.removed).toEqual([]);
    expect(report.stopped).toMatch(/^cannot read affinity\/latest.json: /);
    expect(await new BlobAffinityBundleStore(container).listVersions()).toEqual(['v1', 'v2', 'v3']);
  });

  it('has nothing to do in a container that does not exist', async () => {
    expect(await nextNight(freshContainer()).pruneVersions({ keep: 1 })).toEqual({
      removed: [],
      kept: [],
      failed: [],
      stopped: undefined,
    });
  });

  it('keeps a version a rollback publishes while the delete of its manifest backs off after a 503', async () => {
    const container = await servingOldest(4);
    const direct = new BlobAffinityBundleStore(container);
    let rolledBack = false;
    const { store, proxy } = await proxied(container, async (request) => {
      if (!isDelete(request) || rolledBack) return undefined;
      // The first delete is v2's manifest (the pointer, just read, names v1). It fails, and while it backs
      // off `affinity publish --force v2` moves the pointer to v2 and finds v2 still there.
      rolledBack = true;
      expect(request.url).toContain('affinity/v2/manifest.json');
      await direct.publish(variant('v2', { ndcgAtK: 0.3 }), { force: true });
      return { status: 503, headers: { 'x-ms-error-code': 'ServerBusy' } };
    });
    const report = await store.pruneVersions({ keep: 1, retry: fastRetry });
    expect(proxy.faults).toBe(1);
    // The retried delete met a manifest written since it was listed (412): v2 stays, whole.
    expect(report).toEqual({
      removed: ['v3'],
      kept: expect.arrayContaining(['v4', 'v2', 'v1']) as unknown,
      failed: [],
      stopped: undefined,
    });
    expect(report.kept).toHaveLength(3);
    expect((await direct.readLatest())?.pointer).toMatchObject({ version: 'v2', previous: 'v1' });
    expect(verifyBundle(await direct.readBundle('v2')).manifest.version).toBe('v2');
    expect(await direct.listVersions()).toEqual(['v1', 'v2', 'v4']);
  });

  it('keeps the files of a version a rollback uploads again while the delete of one of them backs off', async () => {
    const container = await servingOldest(4);
    const direct = new BlobAffinityBundleStore(container);
    let deletes = 0;
    const { store, proxy } = await proxied(container, async (request) => {
      if (!isDelete(request)) return undefined;
      deletes += 1;
      if (deletes !== 2) return undefined;
      // v2's manifest is gone; the delete of its first data file fails, and while it backs off a rollback
      // to v2 finds no manifest, uploads v2 whole again and moves the pointer to it.
      expect(request.url).toMatch(/affinity\/v2\/(model\.onnx|items\.json|coldStart\.json)/);
      await direct.publish(variant('v2', { ndcgAtK: 0.3 }), { force: true });
      return { status: 503, headers: { 'x-ms-error-code': 'ServerBusy' } };
    });
    const report = await store.pruneVersions({ keep: 1, retry: fastRetry });
    expect(proxy.faults).toBe(1);
    expect(report).toMatchObject({ removed: ['v3'], failed: [], stopped: undefined });
    expect(report.kept).toContain('v2');
    expect((await direct.readLatest())?.pointer.version).toBe('v2');
    // The retried delete (and any other of v2's still on its way) met a file written since: 412, kept.
    expect(verifyBundle(await direct.readBundle('v2')).manifest.version).toBe('v2');
  });

  it('uploads a rolled-back version again when a prune deleted it while the pointer moved to it', async () => {
    const container = await servingOldest(3);
    const direct = new BlobAffinityBundleStore(container);
    let pruned = false;
    const { store } = await proxied(container, async (request) => {
      if (request.method === 'PUT' && (request.url ?? '').includes('latest.json') && !pruned) {
        pruned = true;
        // A prune that read the pointer just before this move deletes v2 meanwhile.
        for (const name of ['manifest.json', 'model.onnx', 'items.json', 'coldStart.json']) {
          await container.deleteBlob(`affinity/v2/${name}`);
        }
      }
      return undefined;
    });
    expect(await store.publish(variant('v2', { ndcgAtK: 0.3 }), { force: true })).toMatchObject({
      promoted: true,
    });
    expect(pruned).toBe(true);
    expect((await direct.readLatest())?.pointer.version).toBe('v2');
    expect(verifyBundle(await direct.readBundle('v2')).manifest.version).toBe('v2');
  });
});
