import { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { getSettings } from '../shared/config/settings';
import { registerTimer } from '../shared/hosting/registry';
import { defaultRunId, loadBatchLeads, runCampaignBatch } from '../shared/campaign/batch';
import { getCampaignPlanStore, getCampaignServing } from '../shared/campaign/runtime';

/**
 * Plans every lead of CAMPAIGN_BATCH_LEADS_PATH (with CAMPAIGN_BATCH_TOUCHES_PATH, _CAMPAIGNS_PATH,
 * _PRODUCTS_PATH and the CAMPAIGN_BATCH_*_COLUMN mapping) on CAMPAIGN_BATCH_SCHEDULE and writes the plans
 * to the CAMPAIGN_PLANS_CONTAINER Cosmos container for Power BI (one run per day; reruns overwrite), then
 * marks the run complete. A failed run is retried by the host (`retry` below).
 */
const settings = getSettings();
const timerSchema = z.object({ isPastDue: z.boolean().optional() });

registerTimer('campaignBatchPlan', {
  // The parsed setting (with its default), so a missing app setting cannot stop the host from indexing.
  schedule: settings.campaign.batchSchedule,
  // A run's retries of failed writes wait up to two minutes in all (RUN_RETRY_BUDGET_MS); a run that still
  // fails (a longer outage) runs again whole, after 2, 4, 8 and 16 minutes. Plan ids derive from the run and
  // the lead, so a rerun overwrites what the failed one wrote, and readers take the previous complete run
  // until it has finished. A run refused because `campaign batch` is writing the same run id runs again too.
  retry: {
    strategy: 'exponentialBackoff',
    maxRetryCount: 4,
    minimumInterval: { minutes: 2 },
    maximumInterval: { minutes: 16 },
  },
  handler: async (timer: unknown, context: InvocationContext) => {
    const { isPastDue } = timerSchema.parse(timer);
    if (isPastDue === true) context.warn('campaign batch plan: running late');
    const retry = context.retryContext;
    if (retry !== undefined && retry.retryCount > 0)
      context.warn(`campaign batch plan: retry ${retry.retryCount} of ${retry.maxRetryCount}`);
    const { scorer, constraints } = await getCampaignServing();
    const leads = await loadBatchLeads(scorer.manifest, settings.campaign);
    const result = await runCampaignBatch({
      scorer,
      constraints,
      leads,
      store: getCampaignPlanStore((message) => context.warn(`campaign batch plan: ${message}`)),
      runId: defaultRunId(),
      progress: (message) => context.log(`campaign batch plan: ${message}`),
    });
    context.log(
      `campaign batch plan: run ${result.runId}, model ${result.modelVersion}: ${result.planned} planned, ${result.unplanned} without a plan; complete at ${result.completedAt}`,
    );
  },
});
