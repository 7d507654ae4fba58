import { InvocationContext } from '@azure/functions';
import { EventArchive } from '../archive/eventArchive';
import { DocumentStore } from '../cosmos/documentStore';
import { aggregateBatch, AggregationResult } from './aggregateBatch';
import { parseTriggerBatch, TriggerBatch } from './triggerBatch';

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
 * The Event Hubs trigger handler. The host checkpoints a batch even when the handler throws, so before
 * throwing we put the batch's events in the dead letter with the reason: they can be replayed later, and
 * the watermarks make a replay count each event once.
 */
export function createAggregateHandler(deps: AggregateHandlerDependencies) {
  return async (messages: unknown, context: InvocationContext): Promise<AggregationResult> => {
    const parsed = parseTriggerBatch(messages, context.triggerMetadata, deps.eventHubName);
    const known = await deps.knownOffers?.(false).catch(() => undefined);
    let batch = setAsideUnknownOffers(parsed, known);
    if (batch.unprocessable.length > parsed.unprocessable.length) {
      batch = setAsideUnknownOffers(parsed, await deps.knownOffers?.(true).catch(() => undefined));
    }
    try {
      const result = await aggregateBatch(batch, deps.store, deps.archive);
      context.log(
        `aggregate: partition ${batch.partitionId}: ${result.events} events, ${result.documentsWritten} documents written, ` +
          `${result.documentsUnchanged} already up to date, ${result.deadLettered} dead-lettered`,
      );
      return result;
    } catch (error) {
      const reason = `aggregation failed: ${error instanceof Error ? error.message : String(error)}`;
      context.error(
        `aggregate: partition ${batch.partitionId}: ${reason}; dead-lettering ${batch.events.length} events for replay`,
      );
      await deps.archive.deadLetter(
        batch.eventHubName,
        batch.events.map((e) => ({
          partitionId: e.partitionId,
          sequenceNumber: e.sequenceNumber,
          enqueuedTime: e.enqueuedTime,
          reason,
          body: e.event,
        })),
      );
      throw error;
    }
  };
}
