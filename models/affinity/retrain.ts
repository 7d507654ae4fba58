import { ContainerClient } from '@azure/storage-blob';
import { AffinitySettings } from '../../shared/config/settings';
import {
  AffinityBundleStore,
  PruneOptions,
  PruneReport,
  PublishOutcome,
} from '../../shared/affinity/bundleStore';
import { VerifiedBundle, verifyBundle } from '../../shared/affinity/bundle';
import { SkippedBlob } from '../../shared/archive/archiveReader';
import { VersionedColdStartStore } from '../../shared/coldstart/coldStartStore';
import {
  ColdStartSync,
  ColdStartSyncOptions,
  syncColdStartToLatest,
} from '../../shared/coldstart/coldStartSync';
import { ArchiveReadOptions, readArchiveInteractions } from './archiveReader';
import { trainAffinityModel } from './train';

/** Fewer interactions than this make metrics noise; retraining then keeps the current model. */
export const MIN_RETRAIN_INTERACTIONS = 1000;

export interface RetrainResult {
  interactions: number;
  /** Archive blobs that could not be read and were left out of the training data. */
  skippedBlobs: SkippedBlob[];
  /** Undefined when there was too little data to train. */
  outcome: PublishOutcome | undefined;
  /** Whether Redis holds the cold-start lists of the serving model; undefined without a cold-start store. */
  coldStart: ColdStartSync | undefined;
  /** Old model versions deleted (AFFINITY_KEEP_VERSIONS); undefined for a store that keeps no history. */
  retention: PruneReport | undefined;
}

export interface RetrainOptions {
  /**
   * Where the offer function reads cold-start scores. With it, every run ends by making it hold the
   * cold-start lists of the model `latest` names (the one just promoted, or the one still serving).
   */
  coldStart?: VersionedColdStartStore;
  /**
   * Failures the run survives but someone should see (cold-start lists not loaded, old versions not
   * deleted); `log` without it.
   */
  logError?: (message: string) => void;
  /** Backoffs (tests make them short). */
  archiveRetry?: ArchiveReadOptions['retry'];
  coldStartRetry?: ColdStartSyncOptions['retry'];
  retentionRetry?: PruneOptions['retry'];
}

/** Where the clickstream archive is: its container, and the hub whose folder to read. */
export interface ArchiveSource {
  container: ContainerClient;
  eventHubName?: string;
}

/**
 * One retraining round, as the timer function and `affinity train` + `publish` run it: read the
 * archive window, train with held-out metrics, publish the bundle, and let the store move `latest`
 * only if the new metrics are not worse. Archive blobs that cannot be read are skipped and reported; a
 * Blob outage that outlasts the retries fails the run (nothing is published). Then, with a cold-start
 * store, Redis gets the cold-start lists of whatever `latest` names, unless it holds them already. That
 * step runs even when training was skipped or failed, and its failure never fails the run or undoes a
 * promotion: it is logged, and the next run repairs it. Last, unless the run failed, retention deletes
 * the versions that are neither `latest` (nor the one it replaced) nor among the AFFINITY_KEEP_VERSIONS
 * newest; what it cannot delete is logged and left for the next run, never failing this one.
 */
export async function retrainFromArchive(
  archive: ArchiveSource,
  store: AffinityBundleStore,
  settings: AffinitySettings,
  log: (message: string) => void,
  now: Date = new Date(),
  options: RetrainOptions = {},
): Promise<RetrainResult> {
  let result: Awaited<ReturnType<typeof trainAndPublish>>;
  try {
    result = await trainAndPublish(archive, store, settings, log, now, options);
  } catch (error) {
    // Nothing was published: the model that serves stays, and Redis should still hold its lists.
    await syncColdStart(store, log, options, undefined);
    throw error;
  }
  const coldStart = await syncColdStart(store, log, options, result.trained);
  return { ...result.result, coldStart, retention: await pruneVersions(store, settings, log, options) };
}

async function trainAndPublish(
  archive: ArchiveSource,
  store: AffinityBundleStore,
  settings: AffinitySettings,
  log: (message: string) => void,
  now: Date,
  options: RetrainOptions,
): Promise<{
  result: Omit<RetrainResult, 'coldStart' | 'retention'>;
  trained?: VerifiedBundle;
}> {
  const from = new Date(now.getTime() - settings.trainingDays * 24 * 3600 * 1000);
  const read = await readArchiveInteractions(archive.container, {
    from,
    to: now,
    onProgress: log,
    ...(archive.eventHubName === undefined ? {} : { eventHubName: archive.eventHubName }),
    ...(options.archiveRetry === undefined ? {} : { retry: options.archiveRetry }),
  });
  const { skippedBlobs } = read;
  if (read.interactions.length < MIN_RETRAIN_INTERACTIONS) {
    log(
      `affinity retrain: only ${read.interactions.length} interactions since ${from.toISOString()}; keeping the current model`,
    );
    return { result: { interactions: read.interactions.length, skippedBlobs, outcome: undefined } };
  }
  const bundle = await trainAffinityModel(read.interactions, {
    lambda: settings.lambda,
    maxItems: settings.maxItems,
    onProgress: log,
    now: () => now,
  });
  // Verified (hashed) once: the publish and the cold-start load take the verified bundle as it is.
  const trained = verifyBundle(bundle.files);
  const outcome = await store.publish(trained);
  log(`affinity retrain: ${outcome.reason}`);
  return { result: { interactions: read.interactions.length, skippedBlobs, outcome }, trained };
}

async function syncColdStart(
  store: AffinityBundleStore,
  log: (message: string) => void,
  options: RetrainOptions,
  trained: VerifiedBundle | undefined,
): Promise<ColdStartSync | undefined> {
  if (options.coldStart === undefined) return undefined;
  const sync = await syncColdStartToLatest(store, options.coldStart, {
    onRetry: log,
    ...(trained === undefined ? {} : { candidate: trained }),
    ...(options.coldStartRetry === undefined ? {} : { retry: options.coldStartRetry }),
  });
  switch (sync.status) {
    case 'loaded':
      log(
        `affinity retrain: cold-start lists of ${sync.version} loaded into Redis (${sync.lists} lists, ${sync.globalItems} items in the global one)`,
      );
      break;
    case 'current':
      log(`affinity retrain: Redis already holds the cold-start lists of ${sync.version}`);
      break;
    case 'no-model':
      break;
    case 'failed':
      (options.logError ?? log)(
        `affinity retrain: cold-start lists of ${sync.version ?? 'the latest model'} NOT loaded into Redis: ${sync.error}; the model itself is published as decided, and the next run loads them`,
      );
  }
  return sync;
}

async function pruneVersions(
  store: AffinityBundleStore,
  settings: AffinitySettings,
  log: (message: string) => void,
  options: RetrainOptions,
): Promise<PruneReport | undefined> {
  if (store.pruneVersions === undefined) return undefined;
  let report: PruneReport;
  try {
    report = await store.pruneVersions({
      keep: settings.keepVersions,
      onRetry: log,
      ...(options.retentionRetry === undefined ? {} : { retry: options.retentionRetry }),
    });
  } catch (error) {
    // pruneVersions reports Blob failures itself; this is for anything else, which must not fail the run.
    report = {
      removed: [],
      kept: [],
      failed: [],
      stopped: error instanceof Error ? error.message : String(error),
    };
  }
  if (report.removed.length > 0) {
    const named = report.removed.slice(0, 10).join(', ') + (report.removed.length > 10 ? ', …' : '');
    log(
      `affinity retrain: removed ${report.removed.length} old model versions (${named}); ${report.kept.length} kept`,
    );
  }
  const logError = options.logError ?? log;
  for (const { version, error } of report.failed) {
    logError(
      `affinity retrain: old model version ${version} NOT removed: ${error}; the next run tries again`,
    );
  }
  if (report.stopped !== undefined) {
    logError(
      `affinity retrain: removing old model versions stopped: ${report.stopped}; the next run goes on`,
    );
  }
  return report;
}
