import { CampaignModelManifest } from './bundle';
import { CsvLimitError, CsvReadOptions, Delimiter, readCsvFile } from './csv';
import { ColumnMapping } from './dataset';
import { CampaignSettings, ConfigurationError } from '../config/settings';
import { CampaignInputError, MissingTableError } from './errors';
import { leadsFromTables, requirePlanTables } from './planInput';
import { CampaignPlanner, PlanConstraints, PlanLead } from './planner';
import { CampaignPlanStore, CampaignRun, toPlanDocument } from './planStore';
import { CampaignScorer } from './scorer';

/**
 * The batch run behind `campaign batch` and the campaignBatchPlan timer: plans every lead (capacity is
 * shared by the whole run) and stores one document per lead. Every lead is validated and scored before
 * the first document is written, so bad input writes nothing. The run's completion marker is removed
 * before the first write and written after the last, so a run that fails half-way (its writes retried
 * until they ran out) is never taken for complete: readers take the latest run with a marker.
 */

export type CampaignBatchResult = CampaignRun;

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
  options: {
    mapping?: ColumnMapping;
    delimiter?: Delimiter;
    /** Bounds on the leads file (rows, bytes); none by default. */
    leadsLimits?: Pick<CsvReadOptions, 'maxRows' | 'maxBytes'>;
  } = {},
): Promise<PlanLead[]> {
  requirePlanTables(manifest, files);
  const csv = options.delimiter ? { delimiter: options.delimiter } : {};
  const read = (path: string | undefined) => (path === undefined ? undefined : readCsvFile(path, csv));
  const leads = await readCsvFile(files.leads, { ...csv, ...options.leadsLimits });
  const touches = await read(files.touches);
  const campaigns = await read(files.campaigns);
  const products = await read(files.products);
  return leadsFromTables(manifest, leads, touches, options.mapping, {
    ...(campaigns ? { campaigns } : {}),
    ...(products ? { products } : {}),
  });
}

/**
 * The batch timer's bounds on its leads file. Every lead, its plan and its document are held in memory
 * until the run is stored (a few KB per lead, on instances of 2 GB shared with the other functions), and
 * 100,000 upserts take about a million request units: some minutes on a serverless account, about 17 at
 * 1,000 RU/s, within the function timeout. The file is refused before it is read when it is larger than
 * `maxBytes`, and as soon as its row after `maxRows` is parsed. `npx nextoffer campaign batch` has no limit.
 */
export const BATCH_LEADS_LIMITS = { maxRows: 100_000, maxBytes: 64 * 1024 * 1024 } as const;

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
  limits: { maxRows: number; maxBytes: number } = BATCH_LEADS_LIMITS,
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
        leadsLimits: limits,
      },
    );
  } catch (error) {
    if (error instanceof MissingTableError)
      throw new ConfigurationError(tableSettings[error.table], `missing: ${error.problem}`);
    if (error instanceof CsvLimitError && error.source === leads) {
      const limit =
        'maxRows' in error.limit
          ? `plans at most ${error.limit.maxRows} leads per run`
          : `reads leads files of at most ${error.limit.maxBytes} bytes`;
      throw new CampaignInputError(
        error.source,
        error.line,
        undefined,
        `${error.detail}: the campaignBatchPlan timer ${limit} (see docs/campaign.md); ` +
          'plan larger files with npx nextoffer campaign batch',
      );
    }
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
  // Until the marker is written again below, readers keep taking the previous complete run.
  await store.beginRun(runId);
  const chunk = 5000;
  for (let start = 0; start < documents.length; start += chunk) {
    await store.upsert(documents.slice(start, start + chunk));
    progress(`stored ${Math.min(start + chunk, documents.length)} of ${documents.length} plans`);
  }
  const planned = plans.filter((p) => p.best !== null).length;
  const result = { runId, modelVersion, leads: leads.length, planned, unplanned: leads.length - planned };
  const completedAt = new Date().toISOString();
  await store.completeRun({ ...result, plannedAt, completedAt });
  return { ...result, plannedAt, completedAt };
}
