import { ContainerClient } from '@azure/storage-blob';
import { gzipSync } from 'node:zlib';
import {
  ArchiveReadStats,
  emptyArchiveReadStats,
  readArchivedEvents,
} from '../../../shared/archive/archiveReader';
import { archiveBlobName } from '../../../shared/archive/eventArchive';
import { Fault, FaultProxy } from '../../support/faultProxy';
import { blobBehindFaultProxy, startBlobOnly } from '../affinity/blobStack';

/** The archive reader against Azurite: blobs that cannot be read, and downloads that fail on the way. */

let stack: Awaited<ReturnType<typeof startBlobOnly>>;
let containerIndex = 0;
const proxies: FaultProxy[] = [];
const hour = new Date('2026-03-02T10:00:00Z');
const window = { from: new Date('2026-03-02T00:00:00Z'), to: new Date('2026-03-02T23:59:00Z') };
const fastRetry = { baseDelayMs: 5, maxDelayMs: 20 };

beforeAll(async () => {
  stack = await startBlobOnly();
});

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await stack.stop();
});

function lines(partitionId: string, from: number, to: number): string {
  const out: string[] = [];
  for (let sequenceNumber = from; sequenceNumber <= to; sequenceNumber++) {
    out.push(
      JSON.stringify({
        partitionId,
        sequenceNumber,
        position: sequenceNumber * 1000,
        enqueuedTime: hour.toISOString(),
        event: { type: 'product_view', userId: `u${sequenceNumber}`, productId: 'p1' },
      }),
    );
  }
  return out.join('\n') + '\n';
}

/** A fresh archive container holding three good blobs, one per partition. */
async function archiveWithGoodBlobs(): Promise<{ container: ContainerClient; name: string }> {
  const name = `archive-${++containerIndex}`;
  const container = stack.blob.getContainerClient(name);
  await container.create();
  for (const partition of ['0', '1', '2']) {
    await container
      .getBlockBlobClient(archiveBlobName('clickstream', partition, hour, 1, 3))
      .uploadData(gzipSync(lines(partition, 1, 3)));
  }
  return { container, name };
}

async function readAll(
  container: ContainerClient,
  stats: ArchiveReadStats,
): Promise<Array<{ partitionId: string; position: number }>> {
  const events = [];
  for await (const record of readArchivedEvents(container, window, stats, { retry: fastRetry }))
    events.push({ partitionId: record.partitionId, position: record.position });
  return events;
}

/** The container through a proxy that may answer with faults; the SDK's own retries are off. */
async function throughProxy(
  name: string,
  decide: (url: string) => Fault | undefined,
): Promise<{ container: ContainerClient; proxy: FaultProxy }> {
  const { blob, proxy } = await blobBehindFaultProxy(stack, (request) => decide(request.url ?? ''));
  proxies.push(proxy);
  return { container: blob.getContainerClient(name), proxy };
}

describe('readArchivedEvents', () => {
  it('skips a truncated blob and a blob of garbage, names them with the reason, and reads the rest', async () => {
    const { container } = await archiveWithGoodBlobs();
    const whole = gzipSync(lines('3', 1, 50));
    const truncated = archiveBlobName('clickstream', '3', hour, 1, 50);
    await container.getBlockBlobClient(truncated).uploadData(whole.subarray(0, whole.length - 40));
    const garbage = archiveBlobName('clickstream', '4', hour, 1, 2);
    await container.getBlockBlobClient(garbage).uploadData(Buffer.from('not\nan archive\n'));

    const stats = emptyArchiveReadStats();
    const events = await readAll(container, stats);
    expect(events).toHaveLength(9);
    expect(events.every((e) => ['0', '1', '2'].includes(e.partitionId))).toBe(true);
    expect(stats).toMatchObject({ blobs: 3, unreadableLines: 0, duplicateEvents: 0 });
    expect(stats.skippedBlobs).toEqual([
      {
        name: truncated,
        reason: expect.stringMatching(/^cannot decompress: unexpected end of file/) as unknown,
      },
      { name: garbage, reason: 'none of its 2 lines is an archived event' },
    ]);
  });

  it('skips a blob that was deleted between listing and reading', async () => {
    const { name } = await archiveWithGoodBlobs();
    const gone = archiveBlobName('clickstream', '1', hour, 1, 3);
    const { container } = await throughProxy(name, (url) =>
      url.includes(`/${gone}`) ? { status: 404, headers: { 'x-ms-error-code': 'BlobNotFound' } } : undefined,
    );
    const stats = emptyArchiveReadStats();
    expect(await readAll(container, stats)).toHaveLength(6);
    expect(stats.skippedBlobs).toEqual([{ name: gone, reason: 'deleted after it was listed' }]);
  });

  it('retries a download that fails on the way (503, 500) and reads the blob', async () => {
    const { name } = await archiveWithGoodBlobs();
    const flaky = archiveBlobName('clickstream', '2', hour, 1, 3);
    const faults = [{ status: 503 }, { status: 500 }];
    const { container, proxy } = await throughProxy(name, (url) =>
      url.includes(`/${flaky}`) ? faults.shift() : undefined,
    );
    const stats = emptyArchiveReadStats();
    expect(await readAll(container, stats)).toHaveLength(9);
    expect(proxy.faults).toBe(2);
    expect(stats).toMatchObject({ blobs: 3, skippedBlobs: [] });
  });

  it('fails the read, naming the blob, when a download keeps failing: no silent gap in the data', async () => {
    const { name } = await archiveWithGoodBlobs();
    const down = archiveBlobName('clickstream', '1', hour, 1, 3);
    const { container, proxy } = await throughProxy(name, (url) =>
      url.includes(`/${down}`) ? { status: 503 } : undefined,
    );
    await expect(readAll(container, emptyArchiveReadStats())).rejects.toThrow(
      `cannot read archive blob ${down}`,
    );
    expect(proxy.faults).toBe(4); // the default 4 attempts
  });

  it('fails at once on an error that will not pass (403)', async () => {
    const { name } = await archiveWithGoodBlobs();
    const denied = archiveBlobName('clickstream', '0', hour, 1, 3);
    const { container, proxy } = await throughProxy(name, (url) =>
      url.includes(`/${denied}`)
        ? { status: 403, headers: { 'x-ms-error-code': 'AuthorizationFailure' } }
        : undefined,
    );
    await expect(readAll(container, emptyArchiveReadStats())).rejects.toThrow(
      `cannot read archive blob ${denied}`,
    );
    expect(proxy.faults).toBe(1);
  });
});
