import { z } from 'zod';
import { ClickstreamEvent, clickstreamEventSchema } from '../events/clickstreamEvent';
import { eventPosition, eventsInMessage, MAX_EVENTS_PER_MESSAGE } from '../events/hubMessage';

/**
 * An event with its place in the hub: the pair (partitionId, position) identifies it for good. The
 * position orders a partition's events: its message's sequence number and its index in the message
 * (shared/events/hubMessage.ts).
 */
export interface SequencedEvent {
  partitionId: string;
  /** The sequence number of the message that carried the event. */
  sequenceNumber: number;
  position: number;
  enqueuedTime: string;
  event: ClickstreamEvent;
}

export interface UnprocessableEvent {
  partitionId: string;
  sequenceNumber: number;
  position: number;
  enqueuedTime: string;
  reason: string;
  body: unknown;
  /** The invocation that set it aside, to find its log lines. */
  invocationId?: string;
}

export interface TriggerBatch {
  eventHubName: string;
  partitionId: string;
  events: SequencedEvent[];
  unprocessable: UnprocessableEvent[];
}

/**
 * The Event Hubs trigger's metadata (cardinality many). The host serialises the partition context with
 * PascalCase keys; we accept camelCase too so that either form parses.
 */
const triggerMetadataSchema = z.object({
  partitionContext: z
    .object({
      PartitionId: z.string().optional(),
      partitionId: z.string().optional(),
      EventHubName: z.string().optional(),
      eventHubName: z.string().optional(),
    })
    .refine((p) => (p.PartitionId ?? p.partitionId) !== undefined, { message: 'PartitionId is required' }),
  sequenceNumberArray: z.array(z.coerce.number().int().nonnegative()),
  enqueuedTimeUtcArray: z.array(z.union([z.string(), z.date()])).optional(),
});

export class TriggerMetadataError extends Error {
  override name = 'TriggerMetadataError';
}

function decodeBody(message: unknown): unknown {
  if (typeof message === 'string') return JSON.parse(message);
  if (Buffer.isBuffer(message) || message instanceof Uint8Array)
    return JSON.parse(Buffer.from(message).toString('utf8'));
  return message;
}

/** Parses what the trigger hands over; events that cannot be read are returned for the dead letter. */
export function parseTriggerBatch(
  messages: unknown,
  triggerMetadata: unknown,
  defaultHubName: string,
): TriggerBatch {
  if (!Array.isArray(messages))
    throw new TriggerMetadataError('expected an array of events (cardinality many)');
  const metadata = triggerMetadataSchema.safeParse(triggerMetadata);
  if (!metadata.success) {
    throw new TriggerMetadataError(
      `trigger metadata: ${metadata.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const { partitionContext, sequenceNumberArray, enqueuedTimeUtcArray } = metadata.data;
  if (sequenceNumberArray.length !== messages.length) {
    throw new TriggerMetadataError(
      `${messages.length} events but ${sequenceNumberArray.length} sequence numbers`,
    );
  }
  const partitionId = (partitionContext.PartitionId ?? partitionContext.partitionId) as string;
  const batch: TriggerBatch = {
    eventHubName: partitionContext.EventHubName ?? partitionContext.eventHubName ?? defaultHubName,
    partitionId,
    events: [],
    unprocessable: [],
  };
  messages.forEach((message, i) => {
    const sequenceNumber = sequenceNumberArray[i] as number;
    const enqueued = enqueuedTimeUtcArray?.[i];
    const enqueuedTime = enqueued === undefined ? new Date().toISOString() : new Date(enqueued).toISOString();
    const setAside = (index: number, reason: string, body: unknown) =>
      batch.unprocessable.push({
        partitionId,
        sequenceNumber,
        position: eventPosition(sequenceNumber, index),
        enqueuedTime,
        reason,
        body,
      });
    let body: unknown;
    try {
      body = decodeBody(message);
    } catch (error) {
      setAside(0, `not JSON: ${(error as Error).message}`, String(message));
      return;
    }
    const events = eventsInMessage(body);
    if (events === undefined) {
      setAside(0, `a message of more than ${MAX_EVENTS_PER_MESSAGE} events`, body);
      return;
    }
    events.forEach((element, index) => {
      const parsed = clickstreamEventSchema.safeParse(element);
      if (!parsed.success) {
        const reason = parsed.error.issues
          .map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`)
          .join('; ');
        setAside(index, `invalid event: ${reason}`, element);
        return;
      }
      batch.events.push({
        partitionId,
        sequenceNumber,
        position: eventPosition(sequenceNumber, index),
        enqueuedTime,
        event: parsed.data,
      });
    });
  });
  return batch;
}
