import { EventArchive } from '../archive/eventArchive';
import { DocumentStore } from '../cosmos/documentStore';
import { CosmosContainerName } from '../runtime/cosmosContainers';
import {
  AggregateDocument,
  applyNewEvents,
  foldIntoOfferStats,
  foldIntoProductStats,
  foldIntoRollup,
  foldIntoUserProfile,
  newOfferStats,
  newProductStats,
  newRollup,
  newUserProfile,
  rollupKeys,
} from './documents';
import { TriggerBatch, SequencedEvent } from './triggerBatch';

export interface AggregationResult {
  events: number;
  deadLettered: number;
  documentsWritten: number;
  documentsUnchanged: number;
  archiveBlobs: string[];
}

interface DocumentWork {
  container: CosmosContainerName;
  partitionKey: string;
  id: string;
  events: SequencedEvent[];
  create: (at: string) => AggregateDocument;
  fold: (doc: never, event: SequencedEvent['event']) => void;
}

/**
 * Groups a batch by the documents it touches, so each document is read and written once per batch
 * however many of its events the batch holds (and the store sends those reads and writes in bulk).
 */
export function planDocumentWork(events: readonly SequencedEvent[]): DocumentWork[] {
  const work = new Map<string, DocumentWork>();
  const add = (key: Omit<DocumentWork, 'events'>, event: SequencedEvent) => {
    const mapKey = `${key.container}|${key.id}`;
    const existing = work.get(mapKey);
    if (existing) existing.events.push(event);
    else work.set(mapKey, { ...key, events: [event] });
  };
  for (const sequenced of events) {
    const { event } = sequenced;
    add(
      {
        container: 'userProfiles',
        partitionKey: event.userId,
        id: event.userId,
        create: (at) => newUserProfile(event.userId, at),
        fold: foldIntoUserProfile,
      },
      sequenced,
    );
    if (event.productId !== undefined && !event.type.startsWith('offer_')) {
      const productId = event.productId;
      add(
        {
          container: 'productStats',
          partitionKey: productId,
          id: productId,
          create: (at) => newProductStats(productId, at),
          fold: foldIntoProductStats,
        },
        sequenced,
      );
    }
    if (event.type.startsWith('offer_') && event.offerId !== undefined) {
      const offerId = event.offerId;
      add(
        {
          container: 'offerStats',
          partitionKey: offerId,
          id: offerId,
          create: (at) => newOfferStats(offerId, at),
          fold: foldIntoOfferStats,
        },
        sequenced,
      );
    }
    for (const key of rollupKeys(event)) {
      add(
        {
          container: 'rollups',
          partitionKey: key.date,
          id: key.id,
          create: (at) => newRollup(key, at),
          fold: foldIntoRollup,
        },
        sequenced,
      );
    }
  }
  return [...work.values()];
}

/**
 * Processes one trigger batch: dead-letters what cannot be read, archives the raw events, then folds the
 * events into every aggregate they touch. Each document skips events at or below its own watermark for
 * the partition, so a redelivered or overlapping batch changes nothing it already counted.
 */
export async function aggregateBatch(
  batch: TriggerBatch,
  store: DocumentStore,
  archive: EventArchive,
  now: () => Date = () => new Date(),
): Promise<AggregationResult> {
  if (batch.unprocessable.length > 0) await archive.deadLetter(batch.eventHubName, batch.unprocessable);
  const archiveBlobs = batch.events.length > 0 ? await archive.archive(batch.eventHubName, batch.events) : [];
  const at = now().toISOString();
  const outcomes = await store.updateMany<AggregateDocument>(
    planDocumentWork(batch.events).map((work) => ({
      container: work.container,
      partitionKey: work.partitionKey,
      id: work.id,
      apply: (current) =>
        applyNewEvents(
          current,
          work.events,
          () => work.create(at),
          work.fold as (doc: AggregateDocument, e: SequencedEvent['event']) => void,
          at,
        ),
    })),
  );
  const documentsUnchanged = outcomes.filter((outcome) => outcome === 'unchanged').length;
  return {
    events: batch.events.length,
    deadLettered: batch.unprocessable.length,
    documentsWritten: outcomes.length - documentsUnchanged,
    documentsUnchanged,
    archiveBlobs,
  };
}
