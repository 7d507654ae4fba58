import { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { ConfigurationError, getSettings } from '../shared/config/settings';
import { registerTimer } from '../shared/hosting/registry';
import { defaultRunId, loadPlanLeads, runCampaignBatch } from '../shared/campaign/batch';
import { getCampaignPlanStore, getCampaignServing } from '../shared/campaign/runtime';

/**
 * Plans every lead of CAMPAIGN_BATCH_LEADS_PATH on CAMPAIGN_BATCH_SCHEDULE and writes the plans to the
 * CAMPAIGN_PLANS_CONTAINER Cosmos container for Power BI (one run per day; reruns overwrite).
 */
const settings = getSettings();
const timerSchema = z.object({ isPastDue: z.boolean().optional() });

registerTimer('campaignBatchPlan', {
  // The parsed setting (with its default), so a missing app setting cannot stop the host from indexing.
  schedule: settings.campaign.batchSchedule,
  handler: async (timer: unknown, context: InvocationContext) => {
    const { isPastDue } = timerSchema.parse(timer);
    if (isPastDue === true) context.warn('campaign batch plan: running late');
    const leadsPath = settings.campaign.batchLeadsPath;
    if (leadsPath === undefined) {
      throw new ConfigurationError(
        'CAMPAIGN_BATCH_LEADS_PATH',
        'missing (the leads CSV the batch run plans)',
      );
    }
    const { scorer, constraints } = await getCampaignServing();
    const leads = await loadPlanLeads(scorer.manifest, leadsPath, settings.campaign.batchTouchesPath);
    const result = await runCampaignBatch({
      scorer,
      constraints,
      leads,
      store: getCampaignPlanStore(),
      runId: defaultRunId(),
      progress: (message) => context.log(`campaign batch plan: ${message}`),
    });
    context.log(
      `campaign batch plan: run ${result.runId}, model ${result.modelVersion}: ${result.planned} planned, ${result.unplanned} without a plan`,
    );
  },
});
