import { ContainerClient } from '@azure/storage-blob';
import { gunzipSync } from 'node:zlib';
import { ArchivedEvent } from './eventArchive';

/**
 * Reads the raw-event archive back, for training and replay: every archived event once, even where a
 * redelivered batch wrote overlapping blobs (duplicates are dropped by partition and sequence number).
 * Memory holds one blob at a time plus the set of seen (partition, sequence) pairs.
 */
export async function* readArchivedEvents(
  container: ContainerClient,
  options: { eventHubName?: string; from?: Date; to?: Date } = {},
): AsyncGenerator<ArchivedEvent> {
  const seen = new Map<string, Set<number>>();
  const prefix = options.eventHubName !== undefined ? `${options.eventHubName}/` : undefined;
  for await (const blob of container.listBlobsFlat(prefix !== undefined ? { prefix } : {})) {
    if (!blob.name.endsWith('.jsonl.gz')) continue;
    const content = await container.getBlobClient(blob.name).downloadToBuffer();
    const text = gunzipSync(content).toString('utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const record = JSON.parse(line) as ArchivedEvent;
      const at = Date.parse(record.event.timestamp);
      if (options.from && at < options.from.getTime()) continue;
      if (options.to && at >= options.to.getTime()) continue;
      let partition = seen.get(record.partitionId);
      if (!partition) seen.set(record.partitionId, (partition = new Set()));
      if (partition.has(record.sequenceNumber)) continue;
      partition.add(record.sequenceNumber);
      yield record;
    }
  }
}
