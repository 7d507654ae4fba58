import { ContainerClient } from '@azure/storage-blob';
import { gzipSync } from 'node:zlib';
import { interactionFromEvent, readArchiveInteractions } from '../../../models/affinity/archiveReader';
import { archiveBlobName } from '../../../shared/archive/eventArchive';
import { startBlobOnly } from '../../shared/affinity/blobStack';

let stack: Awaited<ReturnType<typeof startBlobOnly>>;
let container: ContainerClient;

function line(partitionId: string, sequenceNumber: number, event: Record<string, unknown>): string {
  return JSON.stringify({
    partitionId,
    sequenceNumber,
    position: sequenceNumber * 1000,
    enqueuedTime: '2026-03-02T10:00:00Z',
    event,
  });
}

const event = (type: string, userId: string, productId: string, extra: Record<string, unknown> = {}) => ({
  type,
  userId,
  productId,
  eventId: `${userId}-${productId}-${type}`,
  receivedAt: '2026-03-02T10:00:00.000Z',
  timestamp: '2026-03-02T10:00:00.000Z',
  ...extra,
});

async function put(name: string, lines: string[]): Promise<void> {
  await container.getBlockBlobClient(name).uploadData(gzipSync(lines.join('\n') + '\n'));
}

beforeAll(async () => {
  stack = await startBlobOnly();
  container = stack.blob.getContainerClient('clickstream-archive');
  await container.create();
  const hour = new Date('2026-03-02T10:00:00Z');
  await put(archiveBlobName('clickstream', '0', hour, 1, 3), [
    line('0', 1, event('product_view', 'u1', 'p1', { category: 'shoes' })),
    line('0', 2, event('purchase', 'u1', 'p2')),
    line('0', 3, { type: 'offer_click', userId: 'u1', offerId: 'o1', decisionId: 'd1' }),
  ]);
  // A redelivered batch with other boundaries overlaps the first blob: sequence 2 must count once.
  await put(archiveBlobName('clickstream', '0', hour, 2, 4), [
    line('0', 2, event('purchase', 'u1', 'p2')),
    line('0', 4, event('add_to_cart', 'u2', 'p1')),
    'this line is damaged',
  ]);
  await put(archiveBlobName('clickstream', '1', new Date('2026-03-03T23:00:00Z'), 1, 1), [
    line('1', 1, event('product_click', 'u3', 'p3')),
  ]);
  // Outside the window.
  await put(archiveBlobName('clickstream', '1', new Date('2026-02-20T10:00:00Z'), 7, 7), [
    line('1', 7, event('purchase', 'u9', 'p9')),
  ]);
});

afterAll(async () => {
  await stack.stop();
});

describe('readArchiveInteractions', () => {
  it('reads product events of the window once each, weighted by type, skipping offer events and bad lines', async () => {
    const result = await readArchiveInteractions(container, {
      from: new Date('2026-03-01T00:00:00Z'),
      to: new Date('2026-03-04T00:00:00Z'),
    });
    const at = Date.parse('2026-03-02T10:00:00.000Z');
    expect(result.interactions).toEqual([
      { userId: 'u1', itemId: 'p1', weight: 1, timestamp: at, category: 'shoes' },
      { userId: 'u1', itemId: 'p2', weight: 8, timestamp: at },
      { userId: 'u2', itemId: 'p1', weight: 4, timestamp: at },
      { userId: 'u3', itemId: 'p3', weight: 2, timestamp: at },
    ]);
    expect(result).toMatchObject({ blobs: 3, duplicateEvents: 1, skippedLines: 1 });
  });

  it("reads only the named hub's folder when the container holds another hub's archive too", async () => {
    const hour = new Date('2026-03-02T10:00:00Z');
    await put(archiveBlobName('otherhub', '0', hour, 1, 1), [line('0', 1, event('purchase', 'x1', 'x9'))]);
    const window = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-03-04T00:00:00Z') };
    const clickstream = await readArchiveInteractions(container, { ...window, eventHubName: 'clickstream' });
    expect(clickstream.interactions.map((i) => i.userId)).toEqual(['u1', 'u1', 'u2', 'u3']);
    const every = await readArchiveInteractions(container, window);
    expect(every.interactions.map((i) => i.userId)).toContain('x1');
    await container.deleteBlob(archiveBlobName('otherhub', '0', hour, 1, 1));
  });

  it('leaves out hours outside the window on the boundary days', async () => {
    const result = await readArchiveInteractions(container, {
      from: new Date('2026-03-02T11:00:00Z'),
      to: new Date('2026-03-03T22:59:00Z'),
    });
    expect(result.interactions).toEqual([]);
  });
});

describe('interactionFromEvent', () => {
  it('ignores events without a product or with an unknown type', () => {
    expect(interactionFromEvent({ type: 'offer_impression', userId: 'u', offerId: 'o' })).toBeUndefined();
    expect(interactionFromEvent({ type: 'purchase', userId: 'u' })).toBeUndefined();
    expect(interactionFromEvent({ type: 'teleport', userId: 'u', productId: 'p' })).toBeUndefined();
    expect(interactionFromEvent(null)).toBeUndefined();
  });
});
