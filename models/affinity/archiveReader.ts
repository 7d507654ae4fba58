import { ContainerClient } from '@azure/storage-blob';
import { gunzipSync } from 'node:zlib';
import { eventTypeWeights, Interaction, MAX_ID_LENGTH } from './interactions';

/**
 * Reads training interactions from the clickstream archive: gzip JSON Lines blobs named
 * `{hub}/{partition}/{yyyy}/{MM}/{dd}/{HH}/….jsonl.gz`, one archived event per line (either
 * `{partitionId, sequenceNumber, enqueuedTime, event}` as the archive writer stores them, or a bare event).
 * Only the days of the window are listed. A batch redelivered with other boundaries is archived twice,
 * so events are kept once per (hub, partition, sequence number). Product events become interactions
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
  from: Date;
  to: Date;
  maxInteractions?: number;
  onProgress?: (message: string) => void;
}

const pad = (n: number) => String(n).padStart(2, '0');

function dayPrefixes(from: Date, to: Date): string[] {
  const days: string[] = [];
  const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  while (day.getTime() <= to.getTime()) {
    days.push(`${day.getUTCFullYear()}/${pad(day.getUTCMonth() + 1)}/${pad(day.getUTCDate())}/`);
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return days;
}

async function childPrefixes(container: ContainerClient, prefix: string): Promise<string[]> {
  const prefixes: string[] = [];
  for await (const item of container.listBlobsByHierarchy('/', { prefix })) {
    if (item.kind === 'prefix') prefixes.push(item.name);
  }
  return prefixes;
}

/** Blob bodies may arrive still gzipped or already decoded (Content-Encoding: gzip); accept both. */
function decode(body: Buffer): string {
  const gzipped = body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
  return (gzipped ? gunzipSync(body) : body).toString('utf8');
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
  const result: ArchiveReadResult = { interactions: [], blobs: 0, skippedLines: 0, duplicateEvents: 0 };
  const seen = new Set<string>();
  const maxInteractions = options.maxInteractions ?? 50_000_000;
  const fromHour = Math.floor(options.from.getTime() / 3_600_000);
  const toHour = Math.floor(options.to.getTime() / 3_600_000);
  const days = dayPrefixes(options.from, options.to);
  for (const hub of await childPrefixes(container, '')) {
    for (const partition of await childPrefixes(container, hub)) {
      for (const day of days) {
        for await (const blob of container.listBlobsFlat({ prefix: `${partition}${day}` })) {
          const parts = blob.name.split('/');
          const hourText = parts.slice(2, 6).join('-');
          const hour = Date.parse(`${hourText.slice(0, 10)}T${hourText.slice(11, 13)}:00:00Z`) / 3_600_000;
          if (!(hour >= fromHour && hour <= toHour)) continue;
          const text = decode(await container.getBlockBlobClient(blob.name).downloadToBuffer());
          result.blobs++;
          for (const line of text.split('\n')) {
            if (line.trim() === '') continue;
            let parsed: unknown;
            try {
              parsed = JSON.parse(line);
            } catch {
              result.skippedLines++;
              continue;
            }
            const record = parsed as Record<string, unknown>;
            const wrapped = typeof record.event === 'object' && record.event !== null;
            if (wrapped && typeof record.sequenceNumber === 'number') {
              const key = `${hub}${String(record.partitionId)}|${record.sequenceNumber}`;
              if (seen.has(key)) {
                result.duplicateEvents++;
                continue;
              }
              seen.add(key);
            }
            const event = wrapped ? record.event : parsed;
            const interaction = interactionFromEvent(event);
            if (interaction === undefined) {
              const type = (event as Record<string, unknown> | null)?.type;
              if (!(typeof type === 'string' && type.startsWith('offer_'))) result.skippedLines++;
              continue;
            }
            if (result.interactions.length >= maxInteractions) {
              throw new Error(
                `the archive window holds more than ${maxInteractions} interactions; shorten it`,
              );
            }
            result.interactions.push(interaction);
          }
          if (result.blobs % 100 === 0) {
            options.onProgress?.(
              `${result.blobs} archive blobs read, ${result.interactions.length} interactions`,
            );
          }
        }
      }
    }
  }
  options.onProgress?.(
    `${result.blobs} archive blobs, ${result.interactions.length} interactions, ${result.skippedLines} lines skipped, ${result.duplicateEvents} duplicates dropped`,
  );
  return result;
}
