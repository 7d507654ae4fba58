import { ContainerClient } from '@azure/storage-blob';
import { gzipSync } from 'node:zlib';
import { retrainFromArchive } from '../../../models/affinity/retrain';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { BlobAffinityBundleStore } from '../../../shared/affinity/bundleStore';
import { archiveBlobName } from '../../../shared/archive/eventArchive';
import { parseAffinitySettings } from '../../../shared/config/settings';
import { startBlobOnly } from '../../shared/affinity/blobStack';

let stack: Awaited<ReturnType<typeof startBlobOnly>>;
let archive: ContainerClient;
const now = new Date('2026-03-10T12:00:00Z');
const types = ['product_view', 'product_click', 'add_to_cart', 'purchase'];
let archived = 0;

beforeAll(async () => {
  stack = await startBlobOnly();
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
  await stack.stop();
});

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
    expect(result).toEqual({ interactions: 0, outcome: undefined });
    expect(logs.some((l) => l.includes('keeping the current model'))).toBe(true);
  });
});
