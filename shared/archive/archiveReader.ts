import { ContainerClient } from '@azure/storage-blob';
import { gunzipSync } from 'node:zlib';
import { ArchivedEvent } from './eventArchive';

/**
 * Reads the raw-event archive back, for training and replay. Blobs are named
 * `{hub}/{partition}/{yyyy}/{MM}/{dd}/{HH}/….jsonl.gz`; with a time window only the days of the window are
 * listed and only the hours inside it are read. A batch redelivered with other boundaries is archived
 * twice, so events are yielded once per (hub, partition, position). Lines that are not JSON are
 * counted, not fatal: one bad line must not stop a retraining. Memory holds one blob at a time plus the
 * set of (partition, position) pairs seen.
 */

export interface ArchiveWindow {
  /** Only this hub's folder; every hub's without it. */
  eventHubName?: string;
  /** Enqueued time, inclusive, by hour folder. */
  from?: Date;
  /** Enqueued time, inclusive, by hour folder. */
  to?: Date;
}

export interface ArchiveReadStats {
  blobs: number;
  unreadableLines: number;
  duplicateEvents: number;
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
  stats: ArchiveReadStats = { blobs: 0, unreadableLines: 0, duplicateEvents: 0 },
): AsyncGenerator<ArchivedEvent & { eventHubName: string }> {
  const seen = new Set<string>();
  for await (const name of archiveBlobNames(container, window)) {
    const eventHubName = name.slice(0, name.indexOf('/'));
    const text = decode(await container.getBlockBlobClient(name).downloadToBuffer());
    stats.blobs += 1;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let record: ArchivedEvent;
      try {
        record = JSON.parse(line) as ArchivedEvent;
      } catch {
        stats.unreadableLines += 1;
        continue;
      }
      if (typeof record.event !== 'object' || record.event === null || typeof record.position !== 'number') {
        stats.unreadableLines += 1;
        continue;
      }
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
