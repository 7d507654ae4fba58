import { ContainerClient } from '@azure/storage-blob';
import { gzipSync } from 'node:zlib';
import { defaultRetry, isTransientStatus, withRetry } from '../resilience/retry';
import { SequencedEvent, UnprocessableEvent } from '../aggregation/triggerBatch';
import { clickstreamEventSchema } from '../events/clickstreamEvent';
import { messageSequenceNumber } from '../events/hubMessage';

/**
 * One line of an archive blob: the event and where it sat in the hub (its message's sequence number and
 * its position, shared/events/hubMessage.ts).
 */
export interface ArchivedEvent {
  partitionId: string;
  sequenceNumber: number;
  position: number;
  enqueuedTime: string;
  event: SequencedEvent['event'];
}

/** Raw events and dead letters in Blob Storage. */
export interface EventArchive {
  /** Writes the batch; returns the blob names. Rewriting the same batch rewrites the same blobs. */
  archive(eventHubName: string, events: readonly SequencedEvent[]): Promise<string[]>;
  deadLetter(eventHubName: string, events: readonly UnprocessableEvent[]): Promise<string[]>;
  /**
   * Keeps the events of a batch that could not be applied (the aggregates could not be written) until a
   * later invocation of the same partition applies them, before its own batch: see pendingEvents.
   */
  holdForRetry(
    eventHubName: string,
    events: readonly SequencedEvent[],
    reason: string,
    invocationId?: string,
  ): Promise<string[]>;
  /** The held events of a partition, in position order, with the blobs that hold them. */
  pendingEvents(eventHubName: string, partitionId: string): Promise<PendingEvents>;
  /** Forgets held events once they are applied. */
  release(names: readonly string[]): Promise<void>;
}

export interface PendingEvents {
  events: SequencedEvent[];
  names: string[];
}

/** A dead-letter blob's content: the event (or what could be read of it), where it sat, and why. */
export interface DeadLetterRecord extends UnprocessableEvent {
  eventHubName: string;
  deadLetteredAt: string;
}

/** Every Blob call here is retried on what `isTransientStatus` deems transient (408, 429, 5xx, resets). */
const blobRetry = { ...defaultRetry, isTransient: isTransientStatus };

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * The path layout of Event Hubs Capture: `{hub}/{partition}/{yyyy}/{MM}/{dd}/{HH}/…`, by enqueued time, so
 * tools that read Capture folders read these. Blob names carry the first and last event positions, so a
 * redelivered batch overwrites its own blob; a batch redelivered with other boundaries writes an
 * overlapping blob, which readers drop by (partitionId, position).
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
  position: number,
): string {
  return [
    eventHubName,
    partitionId,
    enqueued.getUTCFullYear(),
    pad(enqueued.getUTCMonth() + 1),
    pad(enqueued.getUTCDate()),
    `${pad(position, 20)}.json`,
  ].join('/');
}

/**
 * Where a partition's held events live: beside its dead letters, under `pending/`, named by position
 * so that a listing returns them in order and holding the same batch twice writes the same blobs.
 */
export function pendingPrefix(eventHubName: string, partitionId: string): string {
  return `${eventHubName}/${partitionId}/pending/`;
}

/** A dead-letter blob's text as a record, or undefined when it is not one (not JSON, fields missing). */
export function parseDeadLetterRecord(text: string): DeadLetterRecord | undefined {
  try {
    const record = JSON.parse(text) as Partial<DeadLetterRecord> | null;
    const whole =
      typeof record?.eventHubName === 'string' &&
      typeof record.partitionId === 'string' &&
      typeof record.sequenceNumber === 'number' &&
      typeof record.position === 'number' &&
      typeof record.enqueuedTime === 'string';
    return whole ? (record as DeadLetterRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Where an unreadable held record sat: from the record if it says, else from its name (the position). */
function fromPendingName(
  record: DeadLetterRecord | undefined,
  name: string,
): { sequenceNumber: number; position: number } {
  if (record !== undefined) return { sequenceNumber: record.sequenceNumber, position: record.position };
  const position = Number(name.slice(-25, -5));
  return { sequenceNumber: messageSequenceNumber(position), position };
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
        first.position,
        last.position,
      );
      const lines = group.map((e) =>
        JSON.stringify({
          partitionId: e.partitionId,
          sequenceNumber: e.sequenceNumber,
          position: e.position,
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
        blobRetry,
      );
      names.push(name);
    }
    return names;
  }

  async deadLetter(eventHubName: string, events: readonly UnprocessableEvent[]): Promise<string[]> {
    return this.writeRecords(eventHubName, events, (e) =>
      deadLetterBlobName(eventHubName, e.partitionId, new Date(e.enqueuedTime), e.position),
    );
  }

  async holdForRetry(
    eventHubName: string,
    events: readonly SequencedEvent[],
    reason: string,
    invocationId?: string,
  ): Promise<string[]> {
    return this.writeRecords(
      eventHubName,
      // The event goes in `body`, as in every dead-letter record, and only there.
      events.map(({ event, ...where }) => ({
        ...where,
        reason,
        body: event,
        ...(invocationId === undefined ? {} : { invocationId }),
      })),
      (e) => `${pendingPrefix(eventHubName, e.partitionId)}${pad(e.position, 20)}.json`,
    );
  }

  async pendingEvents(eventHubName: string, partitionId: string): Promise<PendingEvents> {
    const names = await withRetry(async () => {
      const listed: string[] = [];
      for await (const blob of this.deadLetters.listBlobsFlat({
        prefix: pendingPrefix(eventHubName, partitionId),
      })) {
        listed.push(blob.name);
      }
      return listed;
    }, blobRetry);
    const events: SequencedEvent[] = [];
    const keptNames: string[] = [];
    for (const name of names.sort()) {
      const text = (
        await withRetry(() => this.deadLetters.getBlobClient(name).downloadToBuffer(), blobRetry)
      ).toString('utf8');
      const record = parseDeadLetterRecord(text);
      // Held events passed the contract once. One that no longer does (a hand-edited blob) must not stall
      // the partition, whose every batch would then be held behind it: it moves to the dead letter.
      const parsed = clickstreamEventSchema.safeParse(record?.body);
      if (record === undefined || !parsed.success) {
        await this.deadLetter(eventHubName, [
          {
            partitionId,
            ...fromPendingName(record, name),
            enqueuedTime: record?.enqueuedTime ?? new Date().toISOString(),
            reason: `held event no longer readable: ${parsed.success ? 'not a held-event record' : parsed.error.message}`,
            body: record?.body ?? text,
          },
        ]);
        await this.release([name]);
        continue;
      }
      const event = parsed.data;
      keptNames.push(name);
      events.push({
        partitionId: record.partitionId,
        sequenceNumber: record.sequenceNumber,
        position: record.position,
        enqueuedTime: record.enqueuedTime,
        event,
      });
    }
    return { events, names: keptNames };
  }

  async release(names: readonly string[]): Promise<void> {
    for (const name of names) {
      await withRetry(() => this.deadLetters.getBlobClient(name).deleteIfExists(), blobRetry);
    }
  }

  private async writeRecords(
    eventHubName: string,
    events: readonly UnprocessableEvent[],
    nameOf: (e: UnprocessableEvent) => string,
  ): Promise<string[]> {
    const names: string[] = [];
    for (const e of events) {
      const name = nameOf(e);
      const record: DeadLetterRecord = { ...e, eventHubName, deadLetteredAt: new Date().toISOString() };
      const body = JSON.stringify(record, null, 1);
      await withRetry(
        () =>
          this.deadLetters.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
            blobHTTPHeaders: { blobContentType: 'application/json' },
          }),
        blobRetry,
      );
      names.push(name);
    }
    return names;
  }
}
