import { CampaignSettings, ConfigurationError, getSettings } from '../config/settings';
import { onShutdown } from '../hosting/registry';
import { getCosmosDatabase } from '../runtime/clients';
import { readBundle } from './bundle';
import { readConstraintsFile } from './constraints';
import { CampaignPlanner, PlanConstraints } from './planner';
import { CampaignPlanStore, CosmosCampaignPlanStore } from './planStore';
import { CampaignScorer } from './scorer';

export interface CampaignServing {
  scorer: CampaignScorer;
  constraints: PlanConstraints;
}

/**
 * Loads the bundle and the default constraints, checking the constraints against the model here: a
 * value the model never saw is the server's configuration error, named with its setting and file, not
 * something to report to each caller as a bad request.
 */
export async function loadCampaignServing(
  settings: Pick<CampaignSettings, 'modelDir' | 'constraintsPath'>,
): Promise<CampaignServing> {
  const path = settings.constraintsPath;
  let constraints: PlanConstraints = {};
  try {
    if (path !== undefined) constraints = await readConstraintsFile(path);
  } catch (error) {
    throw new ConfigurationError('CAMPAIGN_CONSTRAINTS_PATH', (error as Error).message);
  }
  const scorer = await CampaignScorer.create(await readBundle(settings.modelDir));
  try {
    // The planner checks every constraint value against the model when constructed.
    new CampaignPlanner(scorer, constraints, path);
  } catch (error) {
    await scorer.close();
    throw new ConfigurationError(
      'CAMPAIGN_CONSTRAINTS_PATH',
      `does not fit the model in ${settings.modelDir}: ${(error as Error).message}`,
    );
  }
  return { scorer, constraints };
}

/** The process's campaign scorer and default constraints, loaded once from CAMPAIGN_MODEL_DIR. */
let loading: Promise<CampaignServing> | undefined;

export function getCampaignServing(): Promise<CampaignServing> {
  if (!loading) {
    const settings = getSettings().campaign;
    const attempt = (async () => {
      const serving = await loadCampaignServing(settings);
      onShutdown(async () => {
        loading = undefined;
        await serving.scorer.close();
      });
      return serving;
    })();
    // A failed load (model not there yet) is retried on the next call rather than cached.
    attempt.catch(() => {
      if (loading === attempt) loading = undefined;
    });
    loading = attempt;
  }
  return loading;
}

/**
 * Plans for Power BI, in the CAMPAIGN_PLANS_CONTAINER container of the app's Cosmos database (the client is
 * the process's); `onRetry` hears of each write retried after a transient failure.
 */
export function getCampaignPlanStore(onRetry?: (message: string) => void): CampaignPlanStore {
  return new CosmosCampaignPlanStore(
    getCosmosDatabase(),
    getSettings().campaign.plansContainer,
    onRetry ? { onRetry } : {},
  );
}
