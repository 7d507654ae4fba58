import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { retrainFromArchive } from '../../../models/affinity/retrain';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { trainAffinityModel } from '../../../models/affinity/train';
import { BundleFiles } from '../../../shared/affinity/bundle';
import { BlobAffinityBundleStore } from '../../../shared/affinity/bundleStore';
import { archiveBlobName } from '../../../shared/archive/eventArchive';
import { ColdStartScores, RedisColdStartStore } from '../../../shared/coldstart/coldStartStore';
import { parseAffinitySettings } from '../../../shared/config/settings';
import { connectRedisClient, createRedisClient } from '../../../shared/runtime/clients';
import { startFaultProxy } from '../../support/faultProxy';
import { startBlobAndRedis } from '../../shared/affinity/blobStack';

let stack: Awaited<ReturnType<typeof startBlobAndRedis>>;
let redis: Redis;
let archive: ContainerClient;
const now = new Date('2026-03-10T12:00:00Z');
const types = ['product_view', 'product_click', 'add_to_cart', 'purchase'];
let archived = 0;

beforeAll(async () => {
  stack = await startBlobAndRedis();
  redis = await connectRedisClient(stack.redisUrl);
  archive = stack.blob.getContainerClient('clickstream-archive');
  await archive.create();
  // Synthetic interactions as archived clickstream events of the last few days, one blob per hour.
  const interactions = generateSyntheticInteractions({ users: 150, items: 80, interactions: 4000, seed: 21 });
  archived = interactions.length;
  const byHour = new Map<number, string[]>();
  interactions.forEach((interaction, index) => {
    const hour = Math.floor(now.getTime() / 3_600_000) - 1 - (index % 72);
    const at = new Date(hour * 3_600_000 + (index % 3600) * 1000).toISOString();
    const event = {
      type: types[Math.min(3, interaction.weight - 1)],
      userId: interaction.userId,
      productId: interaction.itemId,
      eventId: `e${index}`,
      receivedAt: at,
      timestamp: at,
    };
    const lines = byHour.get(hour) ?? [];
    lines.push(
      JSON.stringify({
        partitionId: '0',
        sequenceNumber: index,
        position: index * 1000,
        enqueuedTime: at,
        event,
      }),
    );
    byHour.set(hour, lines);
  });
  for (const [hour, lines] of byHour) {
    await archive
      .getBlockBlobClient(archiveBlobName('clickstream', '0', new Date(hour * 3_600_000), hour, hour))
      .uploadData(gzipSync(lines.join('\n')));
  }
});

afterAll(async () => {
  redis.disconnect();
  await stack.stop();
});

const fastRetry = { baseDelayMs: 5, maxDelayMs: 20 };

describe('retrainFromArchive', () => {
  const settings = parseAffinitySettings({ AFFINITY_LAMBDA: '20', AFFINITY_TRAINING_DAYS: '7' });

  it('trains on the archive window, publishes, and promotes only a model that is not worse', async () => {
    const store = new BlobAffinityBundleStore(stack.blob.getContainerClient('models'));
    const logs: string[] = [];
    const first = await retrainFromArchive({ container: archive }, store, settings, (m) => logs.push(m), now);
    expect(first.interactions).toBe(archived);
    expect(first.outcome).toMatchObject({ promoted: true, previous: null });
    const latest = await store.readLatest();
    expect(latest?.pointer.version).toBe(first.outcome!.version);
    const manifest = JSON.parse(
      (await store.readBundle(first.outcome!.version))['manifest.json']!.toString(),
    ) as { data: { interactions: number; to: string }; metrics: { ndcgAtK: number } };
    expect(manifest.data.interactions).toBe(archived);
    expect(manifest.metrics.ndcgAtK).toBeGreaterThan(0);

    // Same data an hour later: equal metrics are not worse, so the new version is promoted.
    const again = await retrainFromArchive(
      { container: archive },
      store,
      settings,
      () => undefined,
      new Date(now.getTime() + 3_600_000),
    );
    expect(again.outcome).toMatchObject({ promoted: true, previous: first.outcome!.version });
    expect(again.outcome!.version).not.toBe(first.outcome!.version);
  });

  it('publishes the sparse top-K model over every item when the archive exceeds AFFINITY_MAX_ITEMS', async () => {
    const store = new BlobAffinityBundleStore(stack.blob.getContainerClient('models-sparse'));
    const capped = parseAffinitySettings({ AFFINITY_MAX_ITEMS: '30', AFFINITY_TRAINING_DAYS: '7' });
    const result = await retrainFromArchive({ container: archive }, store, capped, () => undefined, now);
    expect(result.outcome).toMatchObject({ promoted: true, previous: null });
    const manifest = JSON.parse(
      (await store.readBundle(result.outcome!.version))['manifest.json']!.toString(),
    ) as { algorithm: string; itemCount: number; data: { items: number; itemsNotModelled: number } };
    expect(manifest.algorithm).toBe('rp3beta-topk');
    expect(manifest.data.items).toBeGreaterThan(30);
    expect(manifest.itemCount).toBe(manifest.data.items);
    expect(manifest.data.itemsNotModelled).toBe(0);
  });

  it('keeps the current model when the window holds too little data', async () => {
    const store = new BlobAffinityBundleStore(stack.blob.getContainerClient('models-empty'));
    const logs: string[] = [];
    const result = await retrainFromArchive(
      { container: archive },
      store,
      settings,
      (m) => logs.push(m),
      new Date('2027-01-01T00:00:00Z'),
    );
    expect(result).toEqual({
      interactions: 0,
      skippedBlobs: [],
      outcome: undefined,
      coldStart: undefined,
      retention: { removed: [], kept: [], failed: [], stopped: undefined },
    });
    expect(logs.some((l) => l.includes('keeping the current model'))).toBe(true);
  });

  it('trains on the readable blobs when one archive blob is corrupt, and reports it', async () => {
    const store = new BlobAffinityBundleStore(stack.blob.getContainerClient('models-corrupt'));
    const hour = Math.floor(now.getTime() / 3_600_000) - 3;
    const corrupt = archiveBlobName('clickstream', '1', new Date(hour * 3_600_000), 1, 9);
    const whole = gzipSync('{"partitionId":"1"}\n'.repeat(200));
    await archive.getBlockBlobClient(corrupt).uploadData(whole.subarray(0, whole.length - 8));
    try {
      const logs: string[] = [];
      const result = await retrainFromArchive(
        { container: archive },
        store,
        settings,
        (m) => logs.push(m),
        now,
      );
      expect(result.interactions).toBe(archived);
      expect(result.skippedBlobs).toEqual([
        { name: corrupt, reason: expect.stringContaining('cannot decompress') as unknown },
      ]);
      expect(result.outcome).toMatchObject({ promoted: true });
      expect(logs).toContain(`skipped archive blob ${corrupt}: ${result.skippedBlobs[0]!.reason}`);
      expect(logs.some((l) => /archive blobs, 1 blobs skipped, \d+ interactions/.test(l))).toBe(true);
    } finally {
      await archive.deleteBlob(corrupt);
    }
  });
});

describe('retrainFromArchive with a cold-start store', () => {
  const settings = parseAffinitySettings({ AFFINITY_LAMBDA: '20', AFFINITY_TRAINING_DAYS: '7' });

  async function coldStartOf(store: BlobAffinityBundleStore, version: string): Promise<ColdStartScores> {
    const files = await store.readBundle(version);
    return JSON.parse(files['coldStart.json']!.toString()) as ColdStartScores;
  }

  it("loads the promoted model's cold-start lists into Redis, and a rerun that promotes nothing writes nothing", async () => {
    const store = new BlobAffinityBundleStore(stack.blob.getContainerClient('models-coldstart'));
    const coldStart = new RedisColdStartStore(redis, 'retrain1:');
    const logs: string[] = [];
    const result = await retrainFromArchive(
      { container: archive },
      store,
      settings,
      (m) => logs.push(m),
      now,
      {
        coldStart,
      },
    );
    const version = result.outcome!.version;
    expect(result.coldStart).toMatchObject({ status: 'loaded', version });
    expect(await coldStart.loadedVersion()).toBe(version);
    const expected = (await coldStartOf(store, version)).global;
    expect(await coldStart.topProducts([], 10_000)).toEqual(
      new Map(expected.map((i) => [i.itemId, i.score])),
    );
    expect(logs.some((l) => l.includes(`cold-start lists of ${version} loaded into Redis`))).toBe(true);

    // Too little data a year on: nothing trained, and Redis already holds the serving model's lists.
    const later = await retrainFromArchive(
      { container: archive },
      store,
      settings,
      () => undefined,
      new Date('2027-03-10T12:00:00Z'),
      { coldStart },
    );
    expect(later.outcome).toBeUndefined();
    expect(later.coldStart).toEqual({ status: 'current', version });
  });

  it('keeps the promotion when Redis is down, says so, and the next run loads the lists', async () => {
    const store = new BlobAffinityBundleStore(stack.blob.getContainerClient('models-redis-down'));
    const down = createRedisClient('redis://127.0.0.1:1');
    down.on('error', () => undefined);
    const errors: string[] = [];
    let result;
    try {
      result = await retrainFromArchive({ container: archive }, store, settings, () => undefined, now, {
        coldStart: new RedisColdStartStore(down, 'retrain2:'),
        logError: (m) => errors.push(m),
        coldStartRetry: fastRetry,
      });
    } finally {
      down.disconnect();
    }
    const version = result.outcome!.version;
    expect(result.outcome!.promoted).toBe(true);
    expect((await store.readLatest())?.pointer.version).toBe(version);
    expect(result.coldStart).toMatchObject({ status: 'failed', version });
    expect(errors).toEqual([
      expect.stringMatching(
        new RegExp(`cold-start lists of ${version} NOT loaded into Redis: .*the next run loads them`),
      ),
    ]);

    // The next run, even one that trains nothing, repairs Redis.
    const coldStart = new RedisColdStartStore(redis, 'retrain2:');
    const next = await retrainFromArchive(
      { container: archive },
      store,
      settings,
      () => undefined,
      new Date('2027-03-10T12:00:00Z'),
      { coldStart },
    );
    expect(next.coldStart).toMatchObject({ status: 'loaded', version });
    expect(await coldStart.loadedVersion()).toBe(version);
  });

  it('fails the run when archive downloads keep failing, and still keeps Redis in step with latest', async () => {
    const store = new BlobAffinityBundleStore(stack.blob.getContainerClient('models-blob-down'));
    const first = await retrainFromArchive({ container: archive }, store, settings, () => undefined, now);
    const latest = first.outcome!.version;
    // Blob answers the listing but no download, for longer than the retries last.
    const blobUrl = new URL(stack.blob.url);
    const proxy = await startFaultProxy(blobUrl.origin, (request) =>
      (request.url ?? '').split('?')[0]!.endsWith('.jsonl.gz') ? { status: 503 } : undefined,
    );
    try {
      const viaProxy = BlobServiceClient.fromConnectionString(
        stack.connectionString.replace(
          /BlobEndpoint=[^;]+/,
          `BlobEndpoint=${proxy.url}${blobUrl.pathname.replace(/\/$/, '')}`,
        ),
        { retryOptions: { maxTries: 1 } },
      );
      const coldStart = new RedisColdStartStore(redis, 'retrain3:');
      await expect(
        retrainFromArchive(
          { container: viaProxy.getContainerClient(archive.containerName) },
          store,
          settings,
          () => undefined,
          new Date(now.getTime() + 3_600_000),
          { coldStart, archiveRetry: fastRetry },
        ),
      ).rejects.toThrow(/cannot read archive blob clickstream\/0\/.*\.jsonl\.gz/);
      expect(proxy.faults).toBe(4); // one blob, 4 attempts, then the run fails
      expect((await store.readLatest())!.pointer.version).toBe(latest);
      expect(await coldStart.loadedVersion()).toBe(latest);
    } finally {
      await proxy.stop();
    }
  });
});

describe('retrainFromArchive retention', () => {
  const hour = 3_600_000;
  let small: Awaited<ReturnType<typeof trainAffinityModel>>;

  beforeAll(async () => {
    const interactions = generateSyntheticInteractions({ users: 60, items: 40, interactions: 1200, seed: 4 });
    small = await trainAffinityModel(interactions, { lambda: 10, evaluate: false, version: 'small' });
  });

  /** The smallest bundle re-labelled as `version`, with the given nDCG@10. */
  function old(version: string, ndcgAtK: number): Partial<BundleFiles> {
    const metrics = { k: 10, map: 0.1, ndcgAtK, precisionAtK: ndcgAtK, recallAtK: 0.2, users: 60 };
    const manifest = { ...small.manifest, version, metrics };
    return { ...small.files, 'manifest.json': Buffer.from(JSON.stringify(manifest)) };
  }

  /** old-1 serving with the given nDCG@10 (1: no retrain beats it), then old-2…old-4 not promoted. */
  async function withOldVersions(container: ContainerClient, serving: number): Promise<void> {
    const store = new BlobAffinityBundleStore(container);
    await store.publish(old('old-1', serving));
    for (const version of ['old-2', 'old-3', 'old-4']) {
      expect((await store.publish(old(version, serving / 2))).promoted).toBe(false);
    }
    // Blob dates a write to the second, and retention orders versions of the same second by id, in which
    // these names sort after the timestamped ones a run publishes: the run starts in the next second.
    await sleep(1000 - (Date.now() % 1000));
  }

  /** The store as a run hours later sees it (past the grace period for versions written now). */
  const later = () => new Date(Date.now() + 2 * hour);

  it('deletes the versions beyond AFFINITY_KEEP_VERSIONS after publishing, never the serving one, and says so', async () => {
    const container = stack.blob.getContainerClient('models-retention');
    await withOldVersions(container, 1);
    const store = new BlobAffinityBundleStore(container, 0, later);
    const settings = parseAffinitySettings({ AFFINITY_TRAINING_DAYS: '7', AFFINITY_KEEP_VERSIONS: '2' });
    const logs: string[] = [];
    const result = await retrainFromArchive(
      { container: archive },
      store,
      settings,
      (m) => logs.push(m),
      now,
    );
    const candidate = result.outcome!.version;
    expect(result.outcome!.promoted).toBe(false);
    // Kept: the candidate and old-4 (the 2 newest), and old-1, which serves although it is the oldest.
    expect(result.retention).toEqual({
      removed: ['old-2', 'old-3'],
      kept: [candidate, 'old-4', 'old-1'],
      failed: [],
      stopped: undefined,
    });
    expect((await store.listVersions()).sort()).toEqual([candidate, 'old-1', 'old-4'].sort());
    expect((await store.readLatest())!.pointer.version).toBe('old-1');
    expect(logs).toContain('affinity retrain: removed 2 old model versions (old-2, old-3); 3 kept');
  });

  it('logs deletes that keep failing and ends normally, the promotion standing; the next run does them', async () => {
    const container = stack.blob.getContainerClient('models-retention-down');
    await withOldVersions(container, 0.02); // a serving model the retrain beats
    const blobUrl = new URL(stack.blob.url);
    const proxy = await startFaultProxy(blobUrl.origin, (request) =>
      request.method === 'DELETE' ? { status: 503 } : undefined,
    );
    const errors: string[] = [];
    let result;
    try {
      const viaProxy = BlobServiceClient.fromConnectionString(
        stack.connectionString.replace(
          /BlobEndpoint=[^;]+/,
          `BlobEndpoint=${proxy.url}${blobUrl.pathname.replace(/\/$/, '')}`,
        ),
        { retryOptions: { maxTries: 1 } },
      );
      const store = new BlobAffinityBundleStore(
        viaProxy.getContainerClient(container.containerName),
        0,
        later,
      );
      const settings = parseAffinitySettings({ AFFINITY_TRAINING_DAYS: '7', AFFINITY_KEEP_VERSIONS: '1' });
      result = await retrainFromArchive({ container: archive }, store, settings, () => undefined, now, {
        logError: (m) => errors.push(m),
        retentionRetry: fastRetry,
      });
    } finally {
      await proxy.stop();
    }
    const promoted = result.outcome!.version;
    expect(result.outcome).toMatchObject({ promoted: true, previous: 'old-1' });
    expect(result.retention).toMatchObject({
      removed: [],
      failed: [{ version: 'old-2' }],
      stopped: 'Blob kept failing (on old-2)',
    });
    expect(errors).toEqual([
      expect.stringMatching(
        /^affinity retrain: old model version old-2 NOT removed: .*; the next run tries again$/,
      ),
      'affinity retrain: removing old model versions stopped: Blob kept failing (on old-2); the next run goes on',
    ]);
    const direct = new BlobAffinityBundleStore(container, 0, later);
    expect((await direct.readLatest())!.pointer.version).toBe(promoted);
    // The next run, even one that trains nothing, deletes them; old-1, which latest replaced, stays.
    const next = await retrainFromArchive(
      { container: archive },
      direct,
      parseAffinitySettings({ AFFINITY_KEEP_VERSIONS: '1' }),
      () => undefined,
      new Date('2027-03-10T12:00:00Z'),
    );
    expect(next.retention?.removed).toEqual(['old-2', 'old-3', 'old-4']);
    expect((await direct.listVersions()).sort()).toEqual([promoted, 'old-1'].sort());
  });
});
