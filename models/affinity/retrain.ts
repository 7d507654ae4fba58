import { ContainerClient } from '@azure/storage-blob';
import { AffinitySettings } from '../../shared/config/settings';
import { AffinityBundleStore, PublishOutcome } from '../../shared/affinity/bundleStore';
import { readArchiveInteractions } from './archiveReader';
import { trainAffinityModel } from './train';

/** Fewer interactions than this make metrics noise; retraining then keeps the current model. */
export const MIN_RETRAIN_INTERACTIONS = 1000;

export interface RetrainResult {
  interactions: number;
  /** Undefined when there was too little data to train. */
  outcome: PublishOutcome | undefined;
}

/** Where the clickstream archive is: its container, and the hub whose folder to read. */
export interface ArchiveSource {
  container: ContainerClient;
  eventHubName?: string;
}

/**
 * One retraining round, as the timer function and `affinity train` + `publish` run it: read the
 * archive window, train with held-out metrics, publish the bundle, and let the store move `latest`
 * only if the new metrics are not worse.
 */

export async function retrainFromArchive(
  archive: ArchiveSource,
  store: AffinityBundleStore,
  settings: AffinitySettings,
  log: (message: string) => void,
  now: Date = new Date(),
): Promise<RetrainResult> {
  const from = new Date(now.getTime() - settings.trainingDays * 24 * 3600 * 1000);
  const read = await readArchiveInteractions(archive.container, {
    from,
    to: now,
    onProgress: log,
    ...(archive.eventHubName === undefined ? {} : { eventHubName: archive.eventHubName }),
  });
  if (read.interactions.length < MIN_RETRAIN_INTERACTIONS) {
    log(
      `affinity retrain: only ${read.interactions.length} interactions since ${from.toISOString()}; keeping the current model`,
    );
    return { interactions: read.interactions.length, outcome: undefined };
  }
  const bundle = await trainAffinityModel(read.interactions, {
    lambda: settings.lambda,
    maxItems: settings.maxItems,
    onProgress: log,
    now: () => now,
  });
  const outcome = await store.publish(bundle.files);
  log(`affinity retrain: ${outcome.reason}`);
  return { interactions: read.interactions.length, outcome };
}
