import { getSettings } from '../shared/config/settings';
import { registerHttp } from '../shared/hosting/registry';
import { createCampaignPlanHandler } from '../shared/campaign/planHttp';
import { getCampaignServing } from '../shared/campaign/runtime';

/** POST /api/campaign/plan: the best channel, day and time per lead, up to CAMPAIGN_MAX_LEADS_PER_REQUEST leads. */
const settings = getSettings();

registerHttp('campaignPlan', {
  route: 'campaign/plan',
  methods: ['POST'],
  authLevel: 'function',
  handler: createCampaignPlanHandler({
    serving: getCampaignServing,
    maxLeads: settings.campaign.maxLeadsPerRequest,
  }),
});
