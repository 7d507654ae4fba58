import { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import {
  BundleError,
  BundleFiles,
  bundleFileNames,
  OfflineMetrics,
  offlineMetricsSchema,
  VerifiedBundle,
  verifiedBundleOf,
  versionSchema,
} from './bundle';
import { errorMessage, hasStatus } from '../errors';
import { defaultRetry, isTransientStatus, RetryOptions, withRetry } from '../resilience/retry';

/**
 * Model bundles in Blob Storage: `affinity/<version>/<file>` for every version published and not yet
 * pruned, and `affinity/latest.json` naming the version that serves. The pointer moves only when the
 * candidate's offline metrics are not worse than the current one's (within a tolerance), and only with an
 * ETag condition, so two publishers racing cannot both win on stale information. `pruneVersions` deletes
 * old versions, never the one the pointer names nor the one it replaced, and never a version published
 * again (a rollback) while it was deleting it (see there).
 */

export const LATEST_POINTER = 'affinity/latest.json';

export const latestPointerSchema = z.object({
  version: versionSchema,
  publishedAt: z.iso.datetime(),
  metrics: offlineMetricsSchema.nullable(),
  /**
   * The version the pointer named before it moved to this one (absent in pointers written before it was
   * recorded). Retention keeps it: a process that read the old pointer may still be downloading it.
   */
  previous: versionSchema.nullable().optional(),
});
export type LatestPointer = z.infer<typeof latestPointerSchema>;

export interface PublishOutcome {
  version: string;
  promoted: boolean;
  /** The version the pointer named before this publish, if any. */
  previous: string | null;
  reason: string;
}

export interface AffinityBundleStore {
  /**
   * Uploads a bundle as its version, then moves `latest` if its metrics are not worse. Files are verified
   * first (BundleError if they do not verify); a bundle verifyBundle returned is not verified again.
   */
  publish(
    bundle: Partial<BundleFiles> | VerifiedBundle,
    options?: { force?: boolean },
  ): Promise<PublishOutcome>;
  /** The pointer and its ETag, or undefined when nothing was published yet. */
  readLatest(): Promise<{ pointer: LatestPointer; etag: string } | undefined>;
  readBundle(version: string): Promise<Partial<BundleFiles>>;
  listVersions(): Promise<string[]>;
  /** Deletes old versions (see BlobAffinityBundleStore.pruneVersions); stores without history omit it. */
  pruneVersions?(options: PruneOptions): Promise<PruneReport>;
}

/** Versions written this recently are never pruned: an upload or a pointer move may be in flight. */
export const PRUNE_GRACE_MS = 3_600_000;

/** About 3 s of backoff per blob at most: a delete left undone is done by the next run anyway. */
export const pruneRetry: Omit<RetryOptions, 'isTransient'> = defaultRetry;

export interface PruneOptions {
  /**
   * How many of the newest versions, by when they were last written, are kept whatever they are
   * (AFFINITY_KEEP_VERSIONS; at least 1). The version `latest` names and the one it replaced are kept as
   * well: when they are among the `keep` newest (as a freshly promoted `latest` is) that adds nothing,
   * when older they are kept besides them, so at most `keep` + 2 remain (plus any within `graceMs`).
   */
  keep: number;
  /** Default PRUNE_GRACE_MS. */
  graceMs?: number;
  retry?: Partial<Omit<RetryOptions, 'isTransient'>>;
  /** Each retry of a Blob call, with the error that caused it. */
  onRetry?: (message: string) => void;
}

export interface PruneReport {
  /** Versions whose files are all gone now (including ones an earlier run left half-deleted). */
  removed: string[];
  /** Versions still there, newest first. */
  kept: string[];
  /** Versions whose files could not all be deleted; the next run tries again. */
  failed: { version: string; error: string }[];
  /** Why pruning stopped before the end (Blob failing, the pointer unreadable); undefined if it did not. */
  stopped: string | undefined;
}

function bundlePath(version: string, file: string): string {
  return `affinity/${version}/${file}`;
}

/**
 * Whether a candidate may replace the current model: both nDCG@k and Precision@k at most `tolerance`
 * below the current one's. A candidate without metrics never replaces a model that has them.
 */
export function notWorse(
  candidate: OfflineMetrics | null,
  current: OfflineMetrics | null,
  tolerance: number,
): { ok: boolean; reason: string } {
  if (current === null) return { ok: true, reason: 'the current model has no metrics to compare with' };
  if (candidate === null) return { ok: false, reason: 'the candidate has no held-out metrics' };
  if (candidate.k !== current.k) {
    return { ok: false, reason: `metrics are at k=${candidate.k}, the current model's at k=${current.k}` };
  }
  const compared = `nDCG@${candidate.k} ${candidate.ndcgAtK} vs ${current.ndcgAtK}, P@${candidate.k} ${candidate.precisionAtK} vs ${current.precisionAtK}`;
  const ok =
    candidate.ndcgAtK >= current.ndcgAtK - tolerance &&
    candidate.precisionAtK >= current.precisionAtK - tolerance;
  return { ok, reason: ok ? `not worse (${compared})` : `worse (${compared})` };
}

export class BlobAffinityBundleStore implements AffinityBundleStore {
  constructor(
    private readonly container: ContainerClient,
    private readonly promotionTolerance = 0,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async publish(
    input: Partial<BundleFiles> | VerifiedBundle,
    options: { force?: boolean } = {},
  ): Promise<PublishOutcome> {
    const bundle = verifiedBundleOf(input);
    const { files } = bundle;
    const version = bundle.manifest.version;
    await this.container.createIfNotExists();
    const alreadyThere = await this.upload(version, files);
    // Optimistic concurrency on the pointer: re-read and re-decide if someone moved it meanwhile.
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = await this.readLatest();
      const previous = latest?.pointer.version ?? null;
      if (previous === version)
        return { version, promoted: true, previous, reason: `${version} is already latest` };
      const decision = notWorse(
        bundle.manifest.metrics,
        latest?.pointer.metrics ?? null,
        this.promotionTolerance,
      );
      if (!decision.ok && options.force !== true) {
        return {
          version,
          promoted: false,
          previous,
          reason: `kept ${previous}: candidate ${version} is ${decision.reason}`,
        };
      }
      const pointer: LatestPointer = {
        version,
        publishedAt: this.now().toISOString(),
        metrics: bundle.manifest.metrics,
        previous,
      };
      const body = JSON.stringify(pointer);
      try {
        await this.container.getBlockBlobClient(LATEST_POINTER).upload(body, Buffer.byteLength(body), {
          conditions: latest ? { ifMatch: latest.etag } : { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
      } catch (error) {
        if (hasStatus(error, 409, 412)) continue;
        throw error;
      }
      // A version that was already there (a rollback) was touched before the pointer moved, so a prune that
      // listed it before stops at its first delete (412). Should it be gone even so, upload it again.
      if (alreadyThere && !(await this.manifestClient(version).exists())) await this.upload(version, files);
      const why =
        options.force === true && !decision.ok ? `forced although ${decision.reason}` : decision.reason;
      return { version, promoted: true, previous, reason: `latest is now ${version} (${why})` };
    }
    throw new Error(`could not move ${LATEST_POINTER}: it kept changing under concurrent publishes`);
  }

  private manifestClient(version: string) {
    return this.container.getBlockBlobClient(bundlePath(version, 'manifest.json'));
  }

  /**
   * Data files first, manifest last: a version whose manifest exists is complete. True when the version
   * was already there with these bytes: then only its manifest is written again, on the condition that it
   * is still the one just read. That gives it a new ETag and Last-Modified, so a prune that listed the
   * version before gets a 412 on its next delete and keeps it, and a prune that lists it after finds it
   * within its grace period. If the manifest is gone or changed meanwhile (a prune is deleting this
   * version), the version is uploaded whole again: its data files get new ETags too.
   */
  private async upload(version: string, files: Readonly<BundleFiles>): Promise<boolean> {
    const manifestClient = this.manifestClient(version);
    const manifest = files['manifest.json'];
    const headers = { blobHTTPHeaders: { blobContentType: 'application/json' } };
    const existing = await this.readManifest(version);
    if (existing !== undefined) {
      this.checkSameManifest(version, existing.bytes, manifest);
      try {
        await manifestClient.uploadData(manifest, { conditions: { ifMatch: existing.etag }, ...headers });
        return true;
      } catch (error) {
        if (!hasStatus(error, 404, 412)) throw error;
      }
    }
    for (const name of bundleFileNames) {
      if (name === 'manifest.json') continue;
      await this.container.getBlockBlobClient(bundlePath(version, name)).uploadData(files[name]);
    }
    try {
      await manifestClient.uploadData(manifest, { conditions: { ifNoneMatch: '*' }, ...headers });
    } catch (error) {
      // 409: another publisher of this version wrote its manifest first; fine if it is this one.
      if (!hasStatus(error, 409, 412)) throw error;
      const other = await this.readManifest(version);
      if (other === undefined) throw error;
      this.checkSameManifest(version, other.bytes, manifest);
    }
    return false;
  }

  private async readManifest(version: string): Promise<{ bytes: Buffer; etag: string } | undefined> {
    try {
      const download = await this.manifestClient(version).download();
      const bytes = await streamToBuffer(download.readableStreamBody);
      if (download.etag === undefined) throw new Error(`manifest of ${version} came without an ETag`);
      return { bytes, etag: download.etag };
    } catch (error) {
      if (hasStatus(error, 404)) return undefined;
      throw error;
    }
  }

  private checkSameManifest(version: string, stored: Buffer, manifest: Uint8Array): void {
    if (Buffer.compare(stored, Buffer.from(manifest)) !== 0) {
      throw new BundleError(
        `version ${version} was already published with different contents; train with a new version`,
      );
    }
  }

  async readLatest(): Promise<{ pointer: LatestPointer; etag: string } | undefined> {
    let buffer: Buffer;
    let etag: string | undefined;
    try {
      const client = this.container.getBlockBlobClient(LATEST_POINTER);
      const download = await client.download();
      etag = download.etag;
      buffer = await streamToBuffer(download.readableStreamBody);
    } catch (error) {
      if (hasStatus(error, 404)) return undefined;
      throw error;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(buffer.toString('utf8'));
    } catch {
      throw new BundleError(`${LATEST_POINTER} is not JSON`);
    }
    const parsed = latestPointerSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BundleError(
        `${LATEST_POINTER}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`,
      );
    }
    if (etag === undefined) throw new Error(`${LATEST_POINTER} came without an ETag`);
    return { pointer: parsed.data, etag };
  }

  async readBundle(version: string): Promise<Partial<BundleFiles>> {
    versionSchema.parse(version);
    const files: Partial<BundleFiles> = {};
    for (const name of bundleFileNames) {
      try {
        files[name] = await this.container.getBlockBlobClient(bundlePath(version, name)).downloadToBuffer();
      } catch (error) {
        if (!hasStatus(error, 404)) throw error;
      }
    }
    return files;
  }

  async listVersions(): Promise<string[]> {
    const versions: string[] = [];
    for await (const item of this.container.listBlobsByHierarchy('/', { prefix: 'affinity/' })) {
      if (item.kind === 'prefix') versions.push(item.name.slice('affinity/'.length, -1));
    }
    return versions.sort();
  }

  /**
   * Retention: deletes every version that is neither named by `latest` (nor the one it replaced) nor among
   * the `keep` newest, by when they were written. Never throws for Blob's sake: what it could not do is in
   * the report, and the next run does it.
   *
   * - Only versions listed at the start are candidates, and only those older than the `keep` newest: a
   *   version published meanwhile is newer than all of them and is not touched.
   * - A version written within the last `graceMs` is never deleted, however many newer ones there are: its
   *   upload may still be in flight (no manifest yet), or its publisher about to move the pointer to it.
   * - The pointer is read again right before each version is deleted, so a version it has moved to (or
   *   away from) since the listing is kept; if it cannot be read, nothing more is deleted.
   * - A version's manifest goes first, so a version cut short is incomplete to every reader (publishing it
   *   again uploads it whole); the next run deletes the rest of it, and one already gone costs nothing.
   * - Each blob is deleted only if its ETag is still the one listed. Publishing a version that is there
   *   (a rollback) rewrites its manifest before it moves the pointer, and one that is partly gone is
   *   uploaded whole again, so a delete that was on its way (or backing off) when that happened gets a
   *   412: the version is kept, and none of its other files are deleted.
   * - Failures that may pass (throttling, 5xx, resets) are retried with backoff; if one persists, pruning
   *   stops there. Others (403, a lease) skip that version only.
   */
  async pruneVersions(options: PruneOptions): Promise<PruneReport> {
    const graceMs = options.graceMs ?? PRUNE_GRACE_MS;
    const retry: RetryOptions = {
      ...pruneRetry,
      ...options.retry,
      isTransient: isTransientStatus,
      onRetry: (error, attempt, delayMs) =>
        options.onRetry?.(
          `affinity retention: Blob call failed (${errorMessage(error)}); attempt ${attempt + 1} in ${Math.round(delayMs)} ms`,
        ),
    };
    const report: PruneReport = { removed: [], kept: [], failed: [], stopped: undefined };
    let listed: StoredVersion[];
    try {
      listed = await withRetry(() => this.listStoredVersions(), retry);
    } catch (error) {
      report.stopped = `cannot list the versions: ${errorMessage(error)}`;
      return report;
    }
    // Newest first; versions written in the same second (Blob's resolution) by their id.
    listed.sort((a, b) => b.writtenAt - a.writtenAt || (a.version < b.version ? 1 : -1));
    const now = this.now().getTime();
    const candidates = listed
      .slice(Math.max(1, options.keep))
      .filter((stored) => now - stored.writtenAt >= graceMs)
      .reverse(); // oldest first
    for (const stored of candidates) {
      let latest: LatestPointer | undefined;
      try {
        latest = (await withRetry(() => this.readLatest(), retry))?.pointer;
      } catch (error) {
        report.stopped = `cannot read ${LATEST_POINTER}: ${errorMessage(error)}`;
        break;
      }
      if (stored.version === latest?.version || stored.version === latest?.previous) continue;
      try {
        // A version published again meanwhile is kept (and counted among the kept).
        if ((await this.deleteVersion(stored, retry)) === 'deleted') report.removed.push(stored.version);
      } catch (error) {
        report.failed.push({ version: stored.version, error: errorMessage(error) });
        if (isTransientStatus(error)) {
          report.stopped = `Blob kept failing (on ${stored.version})`;
          break;
        }
      }
    }
    const removed = new Set(report.removed);
    report.kept = listed.map((stored) => stored.version).filter((version) => !removed.has(version));
    return report;
  }

  /** Every version folder with its blobs and when the last of them was written. */
  private async listStoredVersions(): Promise<StoredVersion[]> {
    const versions = new Map<string, StoredVersion>();
    try {
      for await (const item of this.container.listBlobsFlat({ prefix: 'affinity/' })) {
        const [, version, ...rest] = item.name.split('/');
        if (version === undefined || rest.length === 0 || !versionSchema.safeParse(version).success) continue;
        const stored = versions.get(version) ?? { version, blobs: [], writtenAt: 0 };
        stored.blobs.push({ name: item.name, etag: quoted(item.properties.etag) });
        stored.writtenAt = Math.max(stored.writtenAt, item.properties.lastModified.getTime());
        versions.set(version, stored);
      }
    } catch (error) {
      if (hasStatus(error, 404)) return []; // no container: nothing was ever published
      throw error;
    }
    return [...versions.values()];
  }

  /**
   * The manifest first (the version is then incomplete to any reader), then the rest; each blob only as
   * listed (its ETag). 'touched' on a 412: the blob was written since (the version was published again),
   * or is gone already (Azurite answers a conditional delete of a missing blob so; a concurrent
   * retention run deleted it). Either way what is left of the version stays, for the next run to look at again.
   */
  private async deleteVersion(stored: StoredVersion, retry: RetryOptions): Promise<'deleted' | 'touched'> {
    const remove = async (blob: StoredBlob): Promise<'deleted' | 'touched'> => {
      try {
        await withRetry(
          () =>
            this.container
              .getBlobClient(blob.name)
              .delete({ deleteSnapshots: 'include', conditions: { ifMatch: blob.etag } }),
          retry,
        );
      } catch (error) {
        if (hasStatus(error, 412)) return 'touched';
        if (!hasStatus(error, 404)) throw error; // 404: gone already (an earlier attempt, an earlier run)
      }
      return 'deleted';
    };
    const manifestName = bundlePath(stored.version, 'manifest.json');
    const manifest = stored.blobs.find((blob) => blob.name === manifestName);
    if (manifest !== undefined && (await remove(manifest)) === 'touched') return 'touched';
    const results = await Promise.allSettled(
      stored.blobs.filter((blob) => blob !== manifest).map((blob) => remove(blob)),
    );
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    return results.some((result) => result.status === 'fulfilled' && result.value === 'touched')
      ? 'touched'
      : 'deleted';
  }
}

interface StoredBlob {
  name: string;
  /** As listed: a delete on this condition fails (412) once the blob is written again. */
  etag: string;
}

/** Blob's listing gives ETags without the quotes its headers have (and If-Match takes). */
function quoted(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

interface StoredVersion {
  version: string;
  blobs: StoredBlob[];
  /** Epoch ms of the latest Last-Modified among its blobs. */
  writtenAt: number;
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (stream === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
