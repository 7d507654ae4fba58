import { Database, OperationInput } from '@azure/cosmos';
import { LeadPlan } from './planner';

/**
 * Where batch plans go for Power BI: one document per lead and run, like the Recommendations table of
 * Microsoft's sample. The id is derived from the lead and the run, so rerunning a run overwrites its
 * documents instead of duplicating them.
 */
export interface CampaignPlanDocument {
  id: string;
  leadId: string;
  runId: string;
  modelVersion: string;
  plannedAt: string;
  channel: string | null;
  dayOfWeek: string | null;
  timeOfDay: string | null;
  probability: number | null;
  runnerUpChannel: string | null;
  runnerUpDayOfWeek: string | null;
  runnerUpTimeOfDay: string | null;
  runnerUpProbability: number | null;
  lastChannel: string | null;
  lastDayOfWeek: string | null;
  lastTimeOfDay: string | null;
  lastProbability: number | null;
  uplift: number | null;
  reason: string | null;
}

export interface CampaignPlanStore {
  /** Upserts the documents; resolves when every one is stored, rejects naming the first that failed. */
  upsert(documents: readonly CampaignPlanDocument[]): Promise<void>;
}

/** Cosmos ids may not hold / \ ? #; everything else in lead ids passes through. */
export function planDocumentId(leadId: string, runId: string): string {
  return `${runId}|${leadId}`.replace(
    /[/\\?#%]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export function toPlanDocument(
  plan: LeadPlan,
  runId: string,
  modelVersion: string,
  plannedAt: string,
): CampaignPlanDocument {
  return {
    id: planDocumentId(plan.leadId, runId),
    leadId: plan.leadId,
    runId,
    modelVersion,
    plannedAt,
    channel: plan.best?.channel ?? null,
    dayOfWeek: plan.best?.dayOfWeek ?? null,
    timeOfDay: plan.best?.timeOfDay ?? null,
    probability: plan.best?.probability ?? null,
    runnerUpChannel: plan.runnerUp?.channel ?? null,
    runnerUpDayOfWeek: plan.runnerUp?.dayOfWeek ?? null,
    runnerUpTimeOfDay: plan.runnerUp?.timeOfDay ?? null,
    runnerUpProbability: plan.runnerUp?.probability ?? null,
    lastChannel: plan.last?.channel ?? null,
    lastDayOfWeek: plan.last?.dayOfWeek ?? null,
    lastTimeOfDay: plan.last?.timeOfDay ?? null,
    lastProbability: plan.last?.probability ?? null,
    uplift: plan.uplift,
    reason: plan.reason ?? null,
  };
}

/** Operations per bulk call (the service's limit is 100). */
const BULK_SIZE = 100;

export class CosmosCampaignPlanStore implements CampaignPlanStore {
  constructor(
    private readonly database: Database,
    private readonly containerName: string,
  ) {}

  async upsert(documents: readonly CampaignPlanDocument[]): Promise<void> {
    const container = this.database.container(this.containerName);
    for (let start = 0; start < documents.length; start += BULK_SIZE) {
      const chunk = documents.slice(start, start + BULK_SIZE);
      const operations: OperationInput[] = chunk.map((document) => ({
        operationType: 'Upsert',
        partitionKey: document.leadId,
        resourceBody: { ...document },
      }));
      const results = await container.items.executeBulkOperations(operations);
      results.forEach((result, k) => {
        const status = result.response?.statusCode ?? 0;
        if (result.error || status >= 300) {
          const document = chunk[k]!;
          throw new Error(
            `storing the plan of lead '${document.leadId}' in ${this.containerName} failed: ${result.error?.message ?? `status ${status}`}`,
          );
        }
      });
    }
  }
}
