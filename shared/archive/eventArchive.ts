import { ContainerClient } from '@azure/storage-blob';
import { gzipSync } from 'node:zlib';
import { defaultRetry, isTransientStatus, withRetry } from '../resilience/retry';
import { SequencedEvent, UnprocessableEvent } from '../aggregation/triggerBatch';

/** One line of an archive blob: the event and where it sat in the hub. */
export interface ArchivedEvent {
  partitionId: string;
  sequenceNumber: number;
  enqueuedTime: string;
  event: SequencedEvent['event'];
}

/** Raw events and dead letters in Blob Storage. */
export interface EventArchive {
  /** Writes the batch; returns the blob names. Rewriting the same batch rewrites the same blobs. */
  archive(eventHubName: string, events: readonly SequencedEvent[]): Promise<string[]>;
  deadLetter(eventHubName: string, events: readonly UnprocessableEvent[]): Promise<string[]>;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * The path layout of Event Hubs Capture: `{hub}/{partition}/{yyyy}/{MM}/{dd}/{HH}/…`, by enqueued time, so
 * tools that read Capture folders read these. Blob names carry the first and last sequence numbers, so a
 * redelivered batch overwrites its own blob; a batch redelivered with other boundaries writes an
 * overlapping blob, which readers drop by (partitionId, sequenceNumber).
 */
export function archiveBlobName(
  eventHubName: string,
  partitionId: string,
  hour: Date,
  first: number,
  last: number,
): string {
  return [
    eventHubName,
    partitionId,
    hour.getUTCFullYear(),
    pad(hour.getUTCMonth() + 1),
    pad(hour.getUTCDate()),
    pad(hour.getUTCHours()),
    `${pad(first, 20)}-${pad(last, 20)}.jsonl.gz`,
  ].join('/');
}

export function deadLetterBlobName(
  eventHubName: string,
  partitionId: string,
  enqueued: Date,
  sequenceNumber: number,
): string {
  return [
    eventHubName,
    partitionId,
    enqueued.getUTCFullYear(),
    pad(enqueued.getUTCMonth() + 1),
    pad(enqueued.getUTCDate()),
    `${pad(sequenceNumber, 20)}.json`,
  ].join('/');
}

export class BlobEventArchive implements EventArchive {
  constructor(
    private readonly rawEvents: ContainerClient,
    private readonly deadLetters: ContainerClient,
  ) {}

  async archive(eventHubName: string, events: readonly SequencedEvent[]): Promise<string[]> {
    const byHour = new Map<string, SequencedEvent[]>();
    for (const e of events) {
      const key = `${e.partitionId}|${e.enqueuedTime.slice(0, 13)}`;
      const list = byHour.get(key);
      if (list) list.push(e);
      else byHour.set(key, [e]);
    }
    const names: string[] = [];
    for (const group of byHour.values()) {
      const first = group[0] as SequencedEvent;
      const last = group[group.length - 1] as SequencedEvent;
      const name = archiveBlobName(
        eventHubName,
        first.partitionId,
        new Date(first.enqueuedTime),
        first.sequenceNumber,
        last.sequenceNumber,
      );
      const lines = group.map((e) =>
        JSON.stringify({
          partitionId: e.partitionId,
          sequenceNumber: e.sequenceNumber,
          enqueuedTime: e.enqueuedTime,
          event: e.event,
        } satisfies ArchivedEvent),
      );
      const body = gzipSync(lines.join('\n') + '\n');
      await withRetry(
        () =>
          this.rawEvents.getBlockBlobClient(name).upload(body, body.length, {
            blobHTTPHeaders: { blobContentType: 'application/x-ndjson', blobContentEncoding: 'gzip' },
          }),
        { ...defaultRetry, isTransient: isTransientStatus },
      );
      names.push(name);
    }
    return names;
  }

  async deadLetter(eventHubName: string, events: readonly UnprocessableEvent[]): Promise<string[]> {
    const names: string[] = [];
    for (const e of events) {
      const name = deadLetterBlobName(
        eventHubName,
        e.partitionId,
        new Date(e.enqueuedTime),
        e.sequenceNumber,
      );
      const body = JSON.stringify({ ...e, eventHubName, deadLetteredAt: new Date().toISOString() }, null, 1);
      await withRetry(
        () =>
          this.deadLetters.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
            blobHTTPHeaders: { blobContentType: 'application/json' },
          }),
        { ...defaultRetry, isTransient: isTransientStatus },
      );
      names.push(name);
    }
    return names;
  }
}
