import { ContainerClient } from '@azure/storage-blob';
import { gunzipSync } from 'node:zlib';
import { errorMessage, hasStatus } from '../errors';
import { isTransientStatus, RetryOptions, withRetry } from '../resilience/retry';
import { ArchivedEvent } from './eventArchive';

/**
 * Reads the raw-event archive back, for training and replay. Blobs are named
 * `{hub}/{partition}/{yyyy}/{MM}/{dd}/{HH}/….jsonl.gz`; with a time window only the days of the window are
 * listed and only the hours inside it are read. A batch redelivered with other boundaries is archived
 * twice, so events are yielded once per (hub, partition, position). Lines that are not JSON are
 * counted, not fatal: one bad line must not stop a retraining. Neither must one bad blob: a blob that
 * cannot be decompressed, holds no readable line, or was deleted between listing and reading is skipped
 * and reported by name and reason in the stats. A download that fails for a reason that may pass
 * (throttling, 5xx, a reset connection) is retried with backoff, and if it keeps failing the read
 * throws: training on whatever part of the window happened to be reachable would be a silent gap.
 * Memory holds one blob at a time plus the set of (partition, position) pairs seen.
 */

export interface ArchiveWindow {
  /** Only this hub's folder; every hub's without it. */
  eventHubName?: string;
  /** Enqueued time, inclusive, by hour folder. */
  from?: Date;
  /** Enqueued time, inclusive, by hour folder. */
  to?: Date;
}

export interface SkippedBlob {
  name: string;
  reason: string;
}

export interface ArchiveReadStats {
  /** Blobs read (not counting the skipped ones). */
  blobs: number;
  unreadableLines: number;
  duplicateEvents: number;
  /** Blobs left out because their contents cannot be read, in the order they were met. */
  skippedBlobs: SkippedBlob[];
}

export function emptyArchiveReadStats(): ArchiveReadStats {
  return { blobs: 0, unreadableLines: 0, duplicateEvents: 0, skippedBlobs: [] };
}

export interface ArchiveReaderOptions {
  /** Backoff of the retries of a blob download that failed for a reason that may pass. */
  retry?: Partial<Omit<RetryOptions, 'isTransient'>>;
}

/** 4 attempts over about 10 s on top of the SDK's own retries: a longer Blob outage fails the read. */
const downloadRetry: Omit<RetryOptions, 'isTransient'> = { attempts: 4, baseDelayMs: 1000, maxDelayMs: 8000 };

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

/**
 * Blob bodies may arrive still gzipped or already decoded (Content-Encoding: gzip); accept both. A
 * gzip body that does not decompress (truncated, corrupt, failing its CRC) is the reason returned.
 */
function decode(body: Buffer): { text: string } | { reason: string } {
  const gzipped = body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
  if (!gzipped) return { text: body.toString('utf8') };
  try {
    return { text: gunzipSync(body).toString('utf8') };
  } catch (error) {
    return { reason: `cannot decompress: ${errorMessage(error)}` };
  }
}

/** The blob's bytes, or undefined if it was deleted since it was listed (a lifecycle rule, a cleanup). */
async function download(
  container: ContainerClient,
  name: string,
  options: ArchiveReaderOptions,
): Promise<Buffer | undefined> {
  try {
    return await withRetry(() => container.getBlockBlobClient(name).downloadToBuffer(), {
      ...downloadRetry,
      ...options.retry,
      isTransient: isTransientStatus,
    });
  } catch (error) {
    if (hasStatus(error, 404)) return undefined;
    throw new Error(`cannot read archive blob ${name}: ${errorMessage(error)}`, { cause: error });
  }
}

/** The archive blobs of the window (all of them without one), hub by hub and partition by partition. */
async function* archiveBlobNames(container: ContainerClient, window: ArchiveWindow): AsyncGenerator<string> {
  const fromHour = window.from ? Math.floor(window.from.getTime() / 3_600_000) : Number.NEGATIVE_INFINITY;
  const toHour = window.to ? Math.floor(window.to.getTime() / 3_600_000) : Number.POSITIVE_INFINITY;
  const days = window.from && window.to ? dayPrefixes(window.from, window.to) : [''];
  const hubs =
    window.eventHubName === undefined ? await childPrefixes(container, '') : [`${window.eventHubName}/`];
  for (const hub of hubs) {
    for (const partition of await childPrefixes(container, hub)) {
      for (const day of days) {
        for await (const blob of container.listBlobsFlat({ prefix: `${partition}${day}` })) {
          if (!blob.name.endsWith('.jsonl.gz')) continue;
          const [year, month, date, hourText] = blob.name.split('/').slice(2, 6);
          const hour = Date.parse(`${year}-${month}-${date}T${hourText}:00:00Z`) / 3_600_000;
          if (hour >= fromHour && hour <= toHour) yield blob.name;
        }
      }
    }
  }
}

export async function* readArchivedEvents(
  container: ContainerClient,
  window: ArchiveWindow = {},
  stats: ArchiveReadStats = emptyArchiveReadStats(),
  options: ArchiveReaderOptions = {},
): AsyncGenerator<ArchivedEvent & { eventHubName: string }> {
  const seen = new Set<string>();
  for await (const name of archiveBlobNames(container, window)) {
    const eventHubName = name.slice(0, name.indexOf('/'));
    const body = await download(container, name, options);
    if (body === undefined) {
      stats.skippedBlobs.push({ name, reason: 'deleted after it was listed' });
      continue;
    }
    const decoded = decode(body);
    if ('reason' in decoded) {
      stats.skippedBlobs.push({ name, reason: decoded.reason });
      continue;
    }
    // Parsed whole before anything is yielded, so a skipped blob contributes nothing, not a part.
    const records: ArchivedEvent[] = [];
    let unreadable = 0;
    for (const line of decoded.text.split('\n')) {
      if (line.trim() === '') continue;
      let record: ArchivedEvent;
      try {
        record = JSON.parse(line) as ArchivedEvent;
      } catch {
        unreadable += 1;
        continue;
      }
      if (typeof record.event !== 'object' || record.event === null || typeof record.position !== 'number') {
        unreadable += 1;
        continue;
      }
      records.push(record);
    }
    if (records.length === 0 && unreadable > 0) {
      stats.skippedBlobs.push({ name, reason: `none of its ${unreadable} lines is an archived event` });
      continue;
    }
    stats.blobs += 1;
    stats.unreadableLines += unreadable;
    for (const record of records) {
      const key = `${eventHubName}/${record.partitionId}|${record.position}`;
      if (seen.has(key)) {
        stats.duplicateEvents += 1;
        continue;
      }
      seen.add(key);
      yield { ...record, eventHubName };
    }
  }
}
