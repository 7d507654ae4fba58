import { InvocationContext } from '@azure/functions';
import { EventArchive } from '../archive/eventArchive';
import { DocumentStore } from '../cosmos/documentStore';
import { aggregateBatch, AggregationResult } from './aggregateBatch';
import { parseTriggerBatch, SequencedEvent, TriggerBatch } from './triggerBatch';
import { errorMessage } from '../errors';

export interface AggregateHandlerDependencies {
  store: DocumentStore;
  archive: EventArchive;
  eventHubName: string;
  /**
   * The offer ids of the catalog, for feedback events that name an offer we never made. Undefined (no
   * catalog, or it could not be read) skips the check rather than dead-lettering valid feedback.
   * `fresh` asks for a reload, so an offer added to the catalog a moment ago is not refused.
   */
  knownOffers?: (fresh: boolean) => Promise<ReadonlySet<string> | undefined>;
}

/**
 * What an invocation did with its batch: applied it (the aggregation result), or, when its aggregates could
 * not be written, held its events in Blob for the partition's next invocation.
 */
export type AggregateOutcome = AggregationResult | HeldBatch;

export interface HeldBatch {
  /** Events held for the partition's next invocation. */
  held: number;
  reason: string;
}

export function isHeld(outcome: AggregateOutcome): outcome is HeldBatch {
  return 'held' in outcome;
}

/** Moves offer events for offers outside the catalog to the batch's dead letters. */
export function setAsideUnknownOffers(
  batch: TriggerBatch,
  known: ReadonlySet<string> | undefined,
): TriggerBatch {
  if (known === undefined || known.size === 0) return batch;
  const events = [];
  const unprocessable = [...batch.unprocessable];
  for (const sequenced of batch.events) {
    const { event } = sequenced;
    if (event.type.startsWith('offer_') && event.offerId !== undefined && !known.has(event.offerId)) {
      unprocessable.push({
        partitionId: sequenced.partitionId,
        sequenceNumber: sequenced.sequenceNumber,
        position: sequenced.position,
        enqueuedTime: sequenced.enqueuedTime,
        reason: `unknown offer: offerId '${event.offerId}' is not in the offer catalog`,
        body: event,
      });
    } else {
      events.push(sequenced);
    }
  }
  return { ...batch, events, unprocessable };
}

/**
 * A partition's held events (from batches that failed before) followed by the new batch, in position
 * order, without the held events the new batch carries again (a redelivery).
 */
export function withPendingFirst(batch: TriggerBatch, pending: readonly SequencedEvent[]): TriggerBatch {
  if (pending.length === 0) return batch;
  const inBatch = new Set(batch.events.map((e) => e.position));
  const earlier = pending.filter((e) => !inBatch.has(e.position));
  const events = [...earlier, ...batch.events].sort((a, b) => a.position - b.position);
  return { ...batch, events };
}

/**
 * The Event Hubs trigger handler. A batch whose aggregates cannot be written (Cosmos DB down beyond the
 * retries) is held in Blob, with the reason, and the invocation succeeds: the host checkpoints and the
 * partition keeps draining the hub into Blob during an outage longer than the hub's retention. The next
 * invocation of the same partition applies the held events first, then its own. That keeps the rule the
 * watermarks rest on: a partition's events are applied in sequence order, so no later batch moves a
 * document's watermark past events that were never counted (docs/aggregation.md).
 *
 * Only when the events cannot be held either (Blob down too) does the invocation throw: nothing has kept
 * them, and the function's retry policy (functions/aggregate.ts) has the host deliver the same batch again
 * instead of checkpointing past it.
 */
export function createAggregateHandler(deps: AggregateHandlerDependencies) {
  return async (messages: unknown, context: InvocationContext): Promise<AggregateOutcome> => {
    const parsed = parseTriggerBatch(messages, context.triggerMetadata, deps.eventHubName);
    const known = await deps.knownOffers?.(false).catch(() => undefined);
    let batch = setAsideUnknownOffers(parsed, known);
    if (batch.unprocessable.length > parsed.unprocessable.length) {
      batch = setAsideUnknownOffers(parsed, await deps.knownOffers?.(true).catch(() => undefined));
    }
    // Dead-letter records name the invocation that set them aside, to find its log lines.
    batch = {
      ...batch,
      unprocessable: batch.unprocessable.map((e) => ({ ...e, invocationId: context.invocationId })),
    };
    try {
      const pending = await deps.archive.pendingEvents(batch.eventHubName, batch.partitionId);
      if (pending.events.length > 0) {
        context.log(
          `aggregate: partition ${batch.partitionId}: applying ${pending.events.length} held events of earlier failed batches first`,
        );
      }
      const result = await aggregateBatch(withPendingFirst(batch, pending.events), deps.store, deps.archive);
      await deps.archive.release(pending.names);
      context.log(
        `aggregate: partition ${batch.partitionId}: ${result.events} events, ${result.documentsWritten} documents written, ` +
          `${result.documentsUnchanged} already up to date, ${result.duplicates} copies of earlier events, ` +
          `${result.deadLettered} dead-lettered`,
      );
      return result;
    } catch (error) {
      const reason = `aggregation failed: ${errorMessage(error)}`;
      try {
        await deps.archive.holdForRetry(batch.eventHubName, batch.events, reason, context.invocationId);
      } catch (holdError) {
        context.error(
          `aggregate: partition ${batch.partitionId}: ${reason}; holding its ${batch.events.length} events failed too ` +
            `(${errorMessage(holdError)}), so the invocation fails and the retry policy delivers the batch again`,
        );
        throw error;
      }
      context.error(
        `aggregate: partition ${batch.partitionId}: ${reason}; held ${batch.events.length} events for the next invocation of the partition`,
      );
      return { held: batch.events.length, reason };
    }
  };
}
