import { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { retrainFromArchive } from '../models/affinity/retrain';
import { getSettings } from '../shared/config/settings';
import { registerTimer } from '../shared/hosting/registry';
import { getAffinityBundleStore } from '../shared/affinity/runtime';
import { RedisColdStartStore } from '../shared/coldstart/coldStartStore';
import { getBlobServiceClient, getRedis } from '../shared/runtime/clients';

/**
 * Retrains the product-affinity model from the clickstream archive on AFFINITY_RETRAIN_SCHEDULE and
 * publishes it; `latest` moves only if its held-out metrics are not worse than the serving model's.
 * Then Redis gets the cold-start lists of the model `latest` names (unless it holds them already), for
 * the offer function's users without history, and model versions older than the AFFINITY_KEEP_VERSIONS
 * newest are deleted (never `latest`'s). Failing either is logged as an error with the invocation id,
 * does not fail the run, and the next run retries it.
 */
const settings = getSettings();
const timerSchema = z.object({ isPastDue: z.boolean().optional() });

registerTimer('retrainAffinity', {
  // The parsed setting (with its default), so a missing app setting cannot stop the host from indexing.
  schedule: settings.affinity.retrainSchedule,
  handler: async (timer: unknown, context: InvocationContext) => {
    const { isPastDue } = timerSchema.parse(timer);
    if (isPastDue === true) context.warn('affinity retrain: running late');
    const result = await retrainFromArchive(
      {
        container: getBlobServiceClient().getContainerClient(settings.archive.rawEventsContainer),
        eventHubName: settings.eventHub.name,
      },
      getAffinityBundleStore(),
      settings.affinity,
      (message) => context.log(message),
      new Date(),
      {
        coldStart: new RedisColdStartStore(getRedis(), settings.redis.keyPrefix),
        logError: (message) => context.error(`${message} (invocation ${context.invocationId})`),
      },
    );
    const model = result.outcome ? (result.outcome.promoted ? 'promoted' : 'not promoted') : 'skipped';
    const coldStart = result.coldStart ? `, cold start ${result.coldStart.status}` : '';
    const retention = result.retention;
    const removed = retention
      ? `, ${retention.removed.length} old versions removed` +
        (retention.failed.length > 0 || retention.stopped !== undefined ? ' (retention incomplete)' : '')
      : '';
    context.log(
      `affinity retrain: ${result.interactions} interactions, ${result.skippedBlobs.length} archive blobs skipped, ${model}${coldStart}${removed}`,
    );
  },
});
