import { ContainerClient, RestError } from '@azure/storage-blob';
import { z } from 'zod';
import {
  BundleError,
  BundleFiles,
  bundleFileNames,
  OfflineMetrics,
  offlineMetricsSchema,
  verifyBundle,
  versionSchema,
} from './bundle';

/**
 * Model bundles in Blob Storage: `affinity/<version>/<file>` for every version ever published, and
 * `affinity/latest.json` naming the version that serves. The pointer moves only when the candidate's
 * offline metrics are not worse than the current one's (within a tolerance), and only with an ETag
 * condition, so two publishers racing cannot both win on stale information.
 */

export const LATEST_POINTER = 'affinity/latest.json';

export const latestPointerSchema = z.object({
  version: versionSchema,
  publishedAt: z.iso.datetime(),
  metrics: offlineMetricsSchema.nullable(),
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
  /** Uploads a verified bundle as its version, then moves `latest` if its metrics are not worse. */
  publish(files: Partial<BundleFiles>, options?: { force?: boolean }): Promise<PublishOutcome>;
  /** The pointer and its ETag, or undefined when nothing was published yet. */
  readLatest(): Promise<{ pointer: LatestPointer; etag: string } | undefined>;
  readBundle(version: string): Promise<Partial<BundleFiles>>;
  listVersions(): Promise<string[]>;
}

function bundlePath(version: string, file: string): string {
  return `affinity/${version}/${file}`;
}

function isStatus(error: unknown, ...statuses: number[]): boolean {
  return error instanceof RestError && error.statusCode !== undefined && statuses.includes(error.statusCode);
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

  async publish(files: Partial<BundleFiles>, options: { force?: boolean } = {}): Promise<PublishOutcome> {
    const bundle = verifyBundle(files);
    const version = bundle.manifest.version;
    await this.container.createIfNotExists();
    await this.upload(version, files);
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
      };
      const body = JSON.stringify(pointer);
      try {
        await this.container.getBlockBlobClient(LATEST_POINTER).upload(body, Buffer.byteLength(body), {
          conditions: latest ? { ifMatch: latest.etag } : { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
      } catch (error) {
        if (isStatus(error, 409, 412)) continue;
        throw error;
      }
      const why =
        options.force === true && !decision.ok ? `forced although ${decision.reason}` : decision.reason;
      return { version, promoted: true, previous, reason: `latest is now ${version} (${why})` };
    }
    throw new Error(`could not move ${LATEST_POINTER}: it kept changing under concurrent publishes`);
  }

  /** Data files first, manifest last: a version whose manifest exists is complete. */
  private async upload(version: string, files: Partial<BundleFiles>): Promise<void> {
    const manifestClient = this.container.getBlockBlobClient(bundlePath(version, 'manifest.json'));
    const manifest = files['manifest.json']!;
    if (await manifestClient.exists()) {
      const existing = await manifestClient.downloadToBuffer();
      if (Buffer.compare(existing, Buffer.from(manifest)) === 0) return;
      throw new BundleError(
        `version ${version} was already published with different contents; train with a new version`,
      );
    }
    for (const name of bundleFileNames) {
      if (name === 'manifest.json') continue;
      const bytes = files[name]!;
      await this.container.getBlockBlobClient(bundlePath(version, name)).uploadData(bytes);
    }
    await manifestClient.uploadData(manifest, {
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
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
      if (isStatus(error, 404)) return undefined;
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
        if (!isStatus(error, 404)) throw error;
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
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (stream === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
