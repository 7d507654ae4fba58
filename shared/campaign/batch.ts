import { CampaignModelManifest } from './bundle';
import { Delimiter, readCsvFile } from './csv';
import { ColumnMapping } from './dataset';
import { leadsFromTables } from './planInput';
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

/** Reads the leads (and touch history) files; `mapping` and `delimiter` are the command's options. */
export async function loadPlanLeads(
  manifest: CampaignModelManifest,
  leadsPath: string,
  touchesPath?: string,
  options: { mapping?: ColumnMapping; delimiter?: Delimiter } = {},
): Promise<PlanLead[]> {
  const read = options.delimiter ? { delimiter: options.delimiter } : {};
  const leads = await readCsvFile(leadsPath, read);
  const touches = touchesPath === undefined ? undefined : await readCsvFile(touchesPath, read);
  return leadsFromTables(manifest, leads, touches, options.mapping);
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
