import { ContainerClient } from '@azure/storage-blob';
import { EventArchive, parseDeadLetterRecord } from '../archive/eventArchive';
import { DocumentStore } from '../cosmos/documentStore';
import { clickstreamEventSchema } from '../events/clickstreamEvent';
import { aggregateBatch } from './aggregateBatch';
import { SequencedEvent } from './triggerBatch';

export interface ReplayResult {
  replayed: number;
  stillInvalid: number;
  failed: number;
}

/**
 * Feeds dead-lettered events back into the aggregates, with their original partition and position,
 * so the watermarks keep the effect exactly-once even for events that were partly applied before the
 * failure. A blob is deleted once its event is applied; events that still do not match the contract stay.
 */
export async function replayDeadLetters(
  deadLetters: ContainerClient,
  store: DocumentStore,
  archive: EventArchive,
  options: { prefix?: string; log?: (message: string) => void } = {},
): Promise<ReplayResult> {
  const result: ReplayResult = { replayed: 0, stillInvalid: 0, failed: 0 };
  const byPartition = new Map<string, Array<{ blobName: string; hub: string; event: SequencedEvent }>>();
  for await (const blob of deadLetters.listBlobsFlat(
    options.prefix !== undefined ? { prefix: options.prefix } : {},
  )) {
    const record = parseDeadLetterRecord(
      (await deadLetters.getBlobClient(blob.name).downloadToBuffer()).toString('utf8'),
    );
    const parsed = clickstreamEventSchema.safeParse(record?.body);
    if (record === undefined || !parsed.success) {
      result.stillInvalid += 1;
      continue;
    }
    const key = `${record.eventHubName}|${record.partitionId}`;
    const list = byPartition.get(key) ?? [];
    list.push({
      blobName: blob.name,
      hub: record.eventHubName,
      event: {
        partitionId: record.partitionId,
        sequenceNumber: record.sequenceNumber,
        position: record.position,
        enqueuedTime: record.enqueuedTime,
        event: parsed.data,
      },
    });
    byPartition.set(key, list);
  }
  for (const entries of byPartition.values()) {
    // Watermarks assume position order within a partition.
    entries.sort((a, b) => a.event.position - b.event.position);
    const first = entries[0];
    if (!first) continue;
    try {
      await aggregateBatch(
        {
          eventHubName: first.hub,
          partitionId: first.event.partitionId,
          events: entries.map((e) => e.event),
          unprocessable: [],
        },
        store,
        archive,
      );
      for (const entry of entries) await deadLetters.getBlobClient(entry.blobName).deleteIfExists();
      result.replayed += entries.length;
    } catch (error) {
      result.failed += entries.length;
      options.log?.(
        `replay of partition ${first.event.partitionId} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return result;
}
