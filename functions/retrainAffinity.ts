import { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { retrainFromArchive } from '../models/affinity/retrain';
import { getSettings } from '../shared/config/settings';
import { registerTimer } from '../shared/hosting/registry';
import { getAffinityBundleStore } from '../shared/affinity/runtime';
import { getBlobServiceClient } from '../shared/runtime/clients';

/**
 * Retrains the product-affinity model from the clickstream archive on AFFINITY_RETRAIN_SCHEDULE and
 * publishes it; `latest` moves only if its held-out metrics are not worse than the serving model's.
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
    );
    context.log(
      `affinity retrain: ${result.interactions} interactions, ${result.outcome ? (result.outcome.promoted ? 'promoted' : 'not promoted') : 'skipped'}`,
    );
  },
});
