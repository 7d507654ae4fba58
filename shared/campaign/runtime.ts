import { getSettings } from '../config/settings';
import { onShutdown } from '../hosting/registry';
import { getCosmosDatabase } from '../runtime/clients';
import { readBundle } from './bundle';
import { readConstraintsFile } from './constraints';
import { PlanConstraints } from './planner';
import { CampaignPlanStore, CosmosCampaignPlanStore } from './planStore';
import { CampaignScorer } from './scorer';

/** The process's campaign scorer and default constraints, loaded once from CAMPAIGN_MODEL_DIR. */
let loading: Promise<{ scorer: CampaignScorer; constraints: PlanConstraints }> | undefined;

export function getCampaignServing(): Promise<{ scorer: CampaignScorer; constraints: PlanConstraints }> {
  if (!loading) {
    const settings = getSettings().campaign;
    const attempt = (async () => {
      const scorer = await CampaignScorer.create(await readBundle(settings.modelDir));
      onShutdown(async () => {
        loading = undefined;
        await scorer.close();
      });
      const constraints =
        settings.constraintsPath === undefined ? {} : await readConstraintsFile(settings.constraintsPath);
      return { scorer, constraints };
    })();
    // A failed load (model not there yet) is retried on the next call rather than cached.
    attempt.catch(() => {
      if (loading === attempt) loading = undefined;
    });
    loading = attempt;
  }
  return loading;
}

let store: CampaignPlanStore | undefined;

/** Plans for Power BI, in the CAMPAIGN_PLANS_CONTAINER container of the app's Cosmos database. */
export function getCampaignPlanStore(): CampaignPlanStore {
  store ??= new CosmosCampaignPlanStore(getCosmosDatabase(), getSettings().campaign.plansContainer);
  return store;
}
