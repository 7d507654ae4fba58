import { CampaignModelManifest } from './bundle';
import { Delimiter, readCsvFile } from './csv';
import { ColumnMapping } from './dataset';
import { CampaignSettings, ConfigurationError } from '../config/settings';
import { MissingTableError } from './errors';
import { leadsFromTables, requirePlanTables } from './planInput';
import { CampaignPlanner, PlanConstraints, PlanLead } from './planner';
import { CampaignPlanStore, toPlanDocument } from './planStore';
import { CampaignScorer } from './scorer';

/**
 * The batch run behind `campaign batch` and the campaignBatchPlan timer: plans every lead (capacity is
 * shared by the whole run) and stores one document per lead. Every lead is validated and scored before
 * the first document is written, so bad input writes nothing.
 */

export interface CampaignBatchResult {
  runId: string;
  modelVersion: string;
  leads: number;
  planned: number;
  unplanned: number;
}

/** Runs are per day by default: rerunning the same day overwrites that day's plans. */
export function defaultRunId(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** The files a plan or batch run reads: leads, and optionally the touch history, campaigns and products. */
export interface PlanFiles {
  leads: string;
  touches?: string;
  campaigns?: string;
  products?: string;
}

/**
 * Reads the plan input files; `mapping` and `delimiter` are the command's options. A model trained with
 * campaign or product features is refused up front (MissingTableError) when its table is not given.
 */
export async function loadPlanLeads(
  manifest: CampaignModelManifest,
  files: PlanFiles,
  options: { mapping?: ColumnMapping; delimiter?: Delimiter } = {},
): Promise<PlanLead[]> {
  requirePlanTables(manifest, files);
  const csv = options.delimiter ? { delimiter: options.delimiter } : {};
  const read = (path: string | undefined) => (path === undefined ? undefined : readCsvFile(path, csv));
  const leads = await readCsvFile(files.leads, csv);
  const touches = await read(files.touches);
  const campaigns = await read(files.campaigns);
  const products = await read(files.products);
  return leadsFromTables(manifest, leads, touches, options.mapping, {
    ...(campaigns ? { campaigns } : {}),
    ...(products ? { products } : {}),
  });
}

/** The setting that gives each table to the batch timer, for its errors. */
const tableSettings = {
  campaigns: 'CAMPAIGN_BATCH_CAMPAIGNS_PATH',
  products: 'CAMPAIGN_BATCH_PRODUCTS_PATH',
} as const;

/**
 * The campaignBatchPlan timer's leads, from its settings (CAMPAIGN_BATCH_LEADS_PATH, …_TOUCHES_PATH,
 * …_CAMPAIGNS_PATH, …_PRODUCTS_PATH, the column mapping and the delimiter). A missing leads file, or a
 * table the model needs, is a ConfigurationError naming the setting to set.
 */
export async function loadBatchLeads(
  manifest: CampaignModelManifest,
  settings: Pick<
    CampaignSettings,
    | 'batchLeadsPath'
    | 'batchTouchesPath'
    | 'batchCampaignsPath'
    | 'batchProductsPath'
    | 'batchColumns'
    | 'batchDelimiter'
  >,
): Promise<PlanLead[]> {
  const leads = settings.batchLeadsPath;
  if (leads === undefined)
    throw new ConfigurationError('CAMPAIGN_BATCH_LEADS_PATH', 'missing (the leads CSV the batch run plans)');
  try {
    return await loadPlanLeads(
      manifest,
      {
        leads,
        ...(settings.batchTouchesPath === undefined ? {} : { touches: settings.batchTouchesPath }),
        ...(settings.batchCampaignsPath === undefined ? {} : { campaigns: settings.batchCampaignsPath }),
        ...(settings.batchProductsPath === undefined ? {} : { products: settings.batchProductsPath }),
      },
      {
        mapping: { ...settings.batchColumns },
        ...(settings.batchDelimiter ? { delimiter: settings.batchDelimiter } : {}),
      },
    );
  } catch (error) {
    if (error instanceof MissingTableError)
      throw new ConfigurationError(tableSettings[error.table], `missing: ${error.problem}`);
    throw error;
  }
}

export async function runCampaignBatch(options: {
  scorer: CampaignScorer;
  constraints?: PlanConstraints;
  leads: readonly PlanLead[];
  store: CampaignPlanStore;
  runId: string;
  progress?: (message: string) => void;
}): Promise<CampaignBatchResult> {
  const { scorer, leads, store, runId } = options;
  const progress = options.progress ?? (() => undefined);
  const planner = new CampaignPlanner(scorer, options.constraints ?? {});
  progress(`planning ${leads.length} leads × ${planner.combinations.length} combinations`);
  const plans = await planner.plan(leads, (done) => {
    if (done % 20480 === 0 || done === leads.length) progress(`scored ${done} of ${leads.length} leads`);
  });
  const plannedAt = new Date().toISOString();
  const modelVersion = scorer.manifest.version;
  const documents = plans.map((plan) => toPlanDocument(plan, runId, modelVersion, plannedAt));
  const chunk = 5000;
  for (let start = 0; start < documents.length; start += chunk) {
    await store.upsert(documents.slice(start, start + chunk));
    progress(`stored ${Math.min(start + chunk, documents.length)} of ${documents.length} plans`);
  }
  const planned = plans.filter((p) => p.best !== null).length;
  return { runId, modelVersion, leads: leads.length, planned, unplanned: leads.length - planned };
}
