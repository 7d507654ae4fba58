import { InvocationContext } from '@azure/functions';
import { EventArchive } from '../archive/eventArchive';
import { DocumentStore } from '../cosmos/documentStore';
import { aggregateBatch, AggregationResult } from './aggregateBatch';
import { parseTriggerBatch } from './triggerBatch';

export interface AggregateHandlerDependencies {
  store: DocumentStore;
  archive: EventArchive;
  eventHubName: string;
}

/**
 * The Event Hubs trigger handler. The host checkpoints a batch even when the handler throws, so before
 * throwing we put the batch's events in the dead letter with the reason: they can be replayed later, and
 * the watermarks make a replay count each event once.
 */
export function createAggregateHandler(deps: AggregateHandlerDependencies) {
  return async (messages: unknown, context: InvocationContext): Promise<AggregationResult> => {
    const batch = parseTriggerBatch(messages, context.triggerMetadata, deps.eventHubName);
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
