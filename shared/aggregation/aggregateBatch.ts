import { EventArchive } from '../archive/eventArchive';
import { DocumentStore } from '../cosmos/documentStore';
import { CosmosContainerName } from '../runtime/cosmosContainers';
import {
  AggregateDocument,
  applyNewEvents,
  applyToUserProfile,
  foldIntoOfferStats,
  foldIntoProductStats,
  foldIntoRollup,
  newOfferStats,
  newProductStats,
  newRollup,
  rollupKeys,
  UserProfile,
  utcTimestamp,
} from './documents';
import { TriggerBatch, SequencedEvent } from './triggerBatch';

export interface AggregationResult {
  events: number;
  /** Events not counted because they copy an earlier event (same eventId): a client's retry. */
  duplicates: number;
  deadLettered: number;
  documentsWritten: number;
  documentsUnchanged: number;
  archiveBlobs: string[];
}

/** A document the events touch, with those events. */
export interface PlannedDocument {
  container: CosmosContainerName;
  partitionKey: string;
  id: string;
  events: SequencedEvent[];
}

interface DocumentWork extends PlannedDocument {
  create: (first: SequencedEvent['event']) => AggregateDocument;
  fold: (doc: never, event: SequencedEvent['event']) => void;
}

/** Each user's events, in batch order. */
function eventsByUser(events: readonly SequencedEvent[]): Map<string, SequencedEvent[]> {
  const byUser = new Map<string, SequencedEvent[]>();
  for (const sequenced of events) {
    const list = byUser.get(sequenced.event.userId);
    if (list) list.push(sequenced);
    else byUser.set(sequenced.event.userId, [sequenced]);
  }
  return byUser;
}

/**
 * Groups a batch by the documents other than profiles that it touches, so each document is read and
 * written once per batch however many of its events the batch holds (and the store sends those reads and
 * writes in bulk).
 */
function planAggregateWork(events: readonly SequencedEvent[]): DocumentWork[] {
  const work = new Map<string, DocumentWork>();
  const add = (key: Omit<DocumentWork, 'events'>, event: SequencedEvent) => {
    const mapKey = `${key.container}|${key.id}`;
    const existing = work.get(mapKey);
    if (existing) existing.events.push(event);
    else work.set(mapKey, { ...key, events: [event] });
  };
  for (const sequenced of events) {
    const { event } = sequenced;
    // An offer click that names a product counts for it (`offerClicks`); impressions and dismissals are
    // not interactions with the product and stay out of its stats.
    if (event.productId !== undefined && (!event.type.startsWith('offer_') || event.type === 'offer_click')) {
      const productId = event.productId;
      add(
        {
          container: 'productStats',
          partitionKey: productId,
          id: productId,
          create: (first) => newProductStats(productId, first.timestamp),
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
          create: (first) => newOfferStats(offerId, first.timestamp),
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
          create: (first) => newRollup(key, first.timestamp),
          fold: foldIntoRollup,
        },
        sequenced,
      );
    }
  }
  return [...work.values()];
}

/** Every document the events touch (their profiles included), each with its events. */
export function planDocumentWork(events: readonly SequencedEvent[]): PlannedDocument[] {
  const profiles = [...eventsByUser(events)].map(([userId, userEvents]): PlannedDocument => ({
    container: 'userProfiles',
    partitionKey: userId,
    id: userId,
    events: userEvents,
  }));
  return [...profiles, ...planAggregateWork(events)];
}

/** The event with its timestamp in canonical UTC, which the folds and the roll-up keys rely on. */
function inUtc(sequenced: SequencedEvent): SequencedEvent {
  const timestamp = utcTimestamp(sequenced.event.timestamp);
  return timestamp === sequenced.event.timestamp
    ? sequenced
    : { ...sequenced, event: { ...sequenced.event, timestamp } };
}

/**
 * Processes one trigger batch: dead-letters what cannot be read, archives the raw events, then folds the
 * events into every aggregate they touch. Each document skips events at or below its own watermark for
 * the partition, so a redelivered or overlapping batch changes nothing it already counted.
 *
 * Two steps, because a copy of an event (a client's retry, with the same eventId at another position) is
 * recognised only in its user's profile: first the profiles, which decide which events are copies, then
 * the other documents without those. A failure between the steps is safe: the profiles remember their
 * decisions, so the batch delivered again leaves out the same events (`applyToUserProfile`).
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
  const events = batch.events.map(inUtc);

  // The store may apply an update more than once (another writer got there first): the decision of the
  // last call is the one written.
  const copiesByUser = new Map<string, readonly SequencedEvent[]>();
  const profileOutcomes = await store.updateMany<UserProfile>(
    [...eventsByUser(events)].map(([userId, userEvents]) => ({
      container: 'userProfiles',
      partitionKey: userId,
      id: userId,
      apply: (current) => {
        const { profile, duplicates } = applyToUserProfile(current, userEvents, at);
        copiesByUser.set(userId, duplicates);
        return profile;
      },
    })),
  );
  const copies = new Set([...copiesByUser.values()].flat());
  const counted = copies.size === 0 ? events : events.filter((sequenced) => !copies.has(sequenced));

  const otherOutcomes = await store.updateMany<AggregateDocument>(
    planAggregateWork(counted).map((work) => ({
      container: work.container,
      partitionKey: work.partitionKey,
      id: work.id,
      apply: (current) =>
        applyNewEvents(
          current,
          work.events,
          work.create,
          work.fold as (doc: AggregateDocument, e: SequencedEvent['event']) => void,
          at,
        ),
    })),
  );
  const outcomes = [...profileOutcomes, ...otherOutcomes];
  const documentsUnchanged = outcomes.filter((outcome) => outcome === 'unchanged').length;
  return {
    events: batch.events.length,
    duplicates: copies.size,
    deadLettered: batch.unprocessable.length,
    documentsWritten: outcomes.length - documentsUnchanged,
    documentsUnchanged,
    archiveBlobs,
  };
}
