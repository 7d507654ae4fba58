import { ContainerClient } from '@azure/storage-blob';
import { readArchivedEvents } from '../../shared/archive/archiveReader';
import { eventTypeWeights, Interaction, MAX_ID_LENGTH } from './interactions';

/**
 * Reads training interactions from the clickstream archive: gzip JSON Lines blobs named
 * `{hub}/{partition}/{yyyy}/{MM}/{dd}/{HH}/….jsonl.gz`, through `readArchivedEvents` (shared/archive),
 * which lists only the window's days and yields each event once. Product events become interactions
 * weighted by type (view 1, click 2, cart 4, purchase 8); offer events and unreadable lines are counted
 * and skipped, since ingest validated them once already and one bad line must not stop retraining.
 */

export interface ArchiveReadResult {
  interactions: Interaction[];
  blobs: number;
  skippedLines: number;
  duplicateEvents: number;
}

export interface ArchiveReadOptions {
  /** The hub whose folder is read (EVENTHUB_NAME); a container may hold the archives of several. */
  eventHubName?: string;
  from: Date;
  to: Date;
  maxInteractions?: number;
  onProgress?: (message: string) => void;
}

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
  const stats = { blobs: 0, unreadableLines: 0, duplicateEvents: 0 };
  const interactions: Interaction[] = [];
  let notProductEvents = 0;
  let reportedBlobs = 0;
  const window = {
    from: options.from,
    to: options.to,
    ...(options.eventHubName === undefined ? {} : { eventHubName: options.eventHubName }),
  };
  for await (const record of readArchivedEvents(container, window, stats)) {
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
  };
  options.onProgress?.(
    `${result.blobs} archive blobs, ${result.interactions.length} interactions, ${result.skippedLines} lines skipped, ${result.duplicateEvents} duplicates dropped`,
  );
  return result;
}
