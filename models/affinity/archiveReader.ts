import { ContainerClient } from '@azure/storage-blob';
import {
  ArchiveReaderOptions,
  emptyArchiveReadStats,
  readArchivedEvents,
  SkippedBlob,
} from '../../shared/archive/archiveReader';
import { eventTypeWeights, Interaction, MAX_ID_LENGTH } from './interactions';

/**
 * Reads training interactions from the clickstream archive: gzip JSON Lines blobs named
 * `{hub}/{partition}/{yyyy}/{MM}/{dd}/{HH}/….jsonl.gz`, through `readArchivedEvents` (shared/archive),
 * which lists only the window's days and yields each event once. Product events become interactions
 * weighted by type (view 1, click 2, cart 4, purchase 8); offer events and unreadable lines are counted
 * and skipped, since ingest validated them once already and one bad line must not stop retraining; a
 * blob that cannot be read at all (corrupt gzip, nothing but bad lines) is skipped and reported by name.
 * A download that keeps failing (Blob down) throws, so no model is trained on part of the window.
 */

export interface ArchiveReadResult {
  interactions: Interaction[];
  blobs: number;
  skippedLines: number;
  duplicateEvents: number;
  /** Blobs left out, with why: the interactions come from the other blobs. */
  skippedBlobs: SkippedBlob[];
}

export interface ArchiveReadOptions {
  /** The hub whose folder is read (EVENTHUB_NAME); a container may hold the archives of several. */
  eventHubName?: string;
  from: Date;
  to: Date;
  maxInteractions?: number;
  onProgress?: (message: string) => void;
  /** Backoff of the download retries (tests make it short). */
  retry?: ArchiveReaderOptions['retry'];
}

/** Skipped blobs named one by one in the log, at most this many; the count covers the rest. */
const SKIPPED_BLOBS_LOGGED = 20;

function validId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/** The interaction a clickstream event stands for, or undefined for events without product affinity. */
export function interactionFromEvent(event: unknown): Interaction | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const record = event as Record<string, unknown>;
  const weight = typeof record.type === 'string' ? eventTypeWeights[record.type] : undefined;
  if (weight === undefined || !validId(record.userId) || !validId(record.productId)) return undefined;
  const timestamp = typeof record.timestamp === 'string' ? Date.parse(record.timestamp) : Number.NaN;
  return {
    userId: record.userId,
    itemId: record.productId,
    weight,
    ...(Number.isNaN(timestamp) ? {} : { timestamp }),
    ...(typeof record.category === 'string' && record.category !== ''
      ? { category: record.category.slice(0, 100) }
      : {}),
  };
}

export async function readArchiveInteractions(
  container: ContainerClient,
  options: ArchiveReadOptions,
): Promise<ArchiveReadResult> {
  const maxInteractions = options.maxInteractions ?? 50_000_000;
  const stats = emptyArchiveReadStats();
  const interactions: Interaction[] = [];
  let notProductEvents = 0;
  let reportedBlobs = 0;
  const window = {
    from: options.from,
    to: options.to,
    ...(options.eventHubName === undefined ? {} : { eventHubName: options.eventHubName }),
  };
  const readerOptions = options.retry === undefined ? {} : { retry: options.retry };
  for await (const record of readArchivedEvents(container, window, stats, readerOptions)) {
    const interaction = interactionFromEvent(record.event);
    if (interaction === undefined) {
      const type = (record.event as { type?: unknown }).type;
      if (!(typeof type === 'string' && type.startsWith('offer_'))) notProductEvents++;
      continue;
    }
    if (interactions.length >= maxInteractions) {
      throw new Error(`the archive window holds more than ${maxInteractions} interactions; shorten it`);
    }
    interactions.push(interaction);
    if (stats.blobs - reportedBlobs >= 100) {
      reportedBlobs = stats.blobs;
      options.onProgress?.(`${stats.blobs} archive blobs read, ${interactions.length} interactions`);
    }
  }
  const result: ArchiveReadResult = {
    interactions,
    blobs: stats.blobs,
    skippedLines: stats.unreadableLines + notProductEvents,
    duplicateEvents: stats.duplicateEvents,
    skippedBlobs: stats.skippedBlobs,
  };
  for (const skipped of result.skippedBlobs.slice(0, SKIPPED_BLOBS_LOGGED))
    options.onProgress?.(`skipped archive blob ${skipped.name}: ${skipped.reason}`);
  if (result.skippedBlobs.length > SKIPPED_BLOBS_LOGGED)
    options.onProgress?.(`… and ${result.skippedBlobs.length - SKIPPED_BLOBS_LOGGED} more skipped blobs`);
  options.onProgress?.(
    `${result.blobs} archive blobs, ${result.skippedBlobs.length} blobs skipped, ${result.interactions.length} interactions, ${result.skippedLines} lines skipped, ${result.duplicateEvents} duplicates dropped`,
  );
  return result;
}
