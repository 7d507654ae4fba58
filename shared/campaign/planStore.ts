import { BulkOperationResult, Database, OperationInput } from '@azure/cosmos';
import { defaultRetry, isTransientStatus, RetryOptions, withRetry } from '../resilience/retry';
import { LeadPlan } from './planner';

/**
 * Where batch plans go for Power BI: one document per lead and run, like the Recommendations table of
 * Microsoft's sample. The id is derived from the lead and the run, so rerunning a run overwrites its
 * documents instead of duplicating them.
 */
export interface CampaignPlanDocument {
  id: string;
  /** Tells plans from the runs' completion markers (CampaignRunDocument) in the same container. */
  kind: 'plan';
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

/** What a completed run wrote: the plans of `leads` leads, all with this `plannedAt` and `modelVersion`. */
export interface CampaignRun {
  runId: string;
  modelVersion: string;
  /** The `plannedAt` of every plan document this run wrote (one value per run). */
  plannedAt: string;
  completedAt: string;
  leads: number;
  planned: number;
  unplanned: number;
}

/**
 * A run's completion marker, written after its last plan document and removed before a rerun of the same
 * run id writes its first: readers take the latest run that has one (see docs/campaign.md). Markers live in
 * the plans container under their own partition key value, RUNS_PARTITION_KEY.
 */
export interface CampaignRunDocument extends CampaignRun {
  id: string;
  kind: 'run';
  leadId: typeof RUNS_PARTITION_KEY;
}

/** The partition (the container's `/leadId`) holding every run marker. */
export const RUNS_PARTITION_KEY = '(runs)';

export interface CampaignPlanStore {
  /**
   * Called before a run writes its first plan: removes the run's completion marker, if an earlier run
   * with the same id left one, so that readers do not take a run being rewritten for a complete one.
   */
  beginRun(runId: string): Promise<void>;
  /**
   * Upserts the documents, retrying transient failures; resolves when every one is stored, rejects naming
   * the first that could not be.
   */
  upsert(documents: readonly CampaignPlanDocument[]): Promise<void>;
  /** Called after the run's last plan is stored: writes its completion marker. */
  completeRun(run: CampaignRun): Promise<void>;
}

/** Cosmos ids may not hold / \ ? #; everything else passes through. */
const escapeId = (id: string) =>
  id.replace(/[/\\?#%]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export function planDocumentId(leadId: string, runId: string): string {
  return escapeId(`${runId}|${leadId}`);
}

export function runDocumentId(runId: string): string {
  return escapeId(`run|${runId}`);
}

export function toRunDocument(run: CampaignRun): CampaignRunDocument {
  return { id: runDocumentId(run.runId), kind: 'run', leadId: RUNS_PARTITION_KEY, ...run };
}

export function toPlanDocument(
  plan: LeadPlan,
  runId: string,
  modelVersion: string,
  plannedAt: string,
): CampaignPlanDocument {
  return {
    id: planDocumentId(plan.leadId, runId),
    kind: 'plan',
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

/** Statuses of a bulk operation or request worth another try: throttling, timeouts, server errors. */
function transientStatus(status: number | string | undefined): boolean {
  // No status at all: the request never got an answer (connection reset, timeout). Every operation sent is
  // well-formed (the SDK checks them before sending), so sending it again is the cure.
  if (status === undefined) return true;
  return isTransientStatus({ code: status });
}

/** The status of one operation's result: its response's, else its error's. */
function resultStatus(result: BulkOperationResult): number | string | undefined {
  const error = result.error as { code?: number | string; statusCode?: number } | undefined;
  return result.response?.statusCode ?? error?.statusCode ?? error?.code;
}

/** Thrown when some operations failed transiently: withRetry sends those again after a backoff. */
class TransientWriteFailure extends Error {
  override name = 'TransientWriteFailure';
}

export interface CosmosCampaignPlanStoreOptions {
  /**
   * Backoff for operations that failed transiently (408, 429 once the SDK's own retries are spent, 449,
   * 5xx, no answer): each attempt sends only the operations still failing. Upserts of ids derived from the
   * run and the lead are idempotent, so a write whose answer was lost is simply written again.
   */
  retry?: Omit<RetryOptions, 'isTransient'>;
  onRetry?: (message: string) => void;
}

/**
 * A nightly run can afford to wait out a short outage: 10 attempts, backoff doubling from 0.5 s to at most
 * 30 s (full jitter), up to two minutes in all (one on average) before the run fails.
 */
export const defaultPlanStoreRetry: Omit<RetryOptions, 'isTransient'> = {
  ...defaultRetry,
  attempts: 10,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
};

export class CosmosCampaignPlanStore implements CampaignPlanStore {
  private readonly retry: Omit<RetryOptions, 'isTransient'>;
  private readonly onRetry: (message: string) => void;

  constructor(
    private readonly database: Database,
    private readonly containerName: string,
    options: CosmosCampaignPlanStoreOptions = {},
  ) {
    this.retry = options.retry ?? defaultPlanStoreRetry;
    this.onRetry = options.onRetry ?? (() => undefined);
  }

  private get container() {
    return this.database.container(this.containerName);
  }

  /** `operation` with this store's backoff, for what isTransientStatus deems transient. */
  private retried<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return withRetry(operation, {
      ...this.retry,
      isTransient: (error) => error instanceof TransientWriteFailure || isTransientStatus(error),
      onRetry: (error, attempt, delayMs) =>
        this.onRetry(
          `${what}: attempt ${attempt} of ${this.retry.attempts} failed (${error instanceof Error ? error.message : String(error)}); retrying in ${Math.round(delayMs)} ms`,
        ),
    });
  }

  async beginRun(runId: string): Promise<void> {
    await this.retried(`removing the completion marker of run ${runId}`, async () => {
      try {
        await this.container.item(runDocumentId(runId), RUNS_PARTITION_KEY).delete();
      } catch (error) {
        if ((error as { code?: unknown }).code !== 404) throw error;
      }
    });
  }

  async completeRun(run: CampaignRun): Promise<void> {
    await this.retried(`writing the completion marker of run ${run.runId}`, () =>
      this.container.items.upsert(toRunDocument(run)),
    );
  }

  /**
   * One `executeBulkOperations` call for all the documents (the SDK batches them per partition range and
   * paces them), then again for those that failed transiently, with backoff, until the attempts run out.
   * A status retrying cannot fix (400, 403, 404, 413…) fails at once.
   */
  async upsert(documents: readonly CampaignPlanDocument[]): Promise<void> {
    let pending = documents;
    let attempts = 0;
    try {
      await this.retried(`storing ${documents.length} plans in ${this.containerName}`, async () => {
        attempts += 1;
        const { failed, reason } = await this.upsertOnce(pending);
        pending = failed;
        if (failed.length > 0) {
          throw new TransientWriteFailure(
            `${failed.length} of them failed, the plan of lead '${failed[0]!.leadId}' first: ${reason}`,
          );
        }
      });
    } catch (error) {
      if (!(error instanceof TransientWriteFailure) && !isTransientStatus(error)) throw error;
      throw new Error(
        `storing the plans in ${this.containerName} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  /** Sends the documents once; returns those that failed transiently, throws on any other failure. */
  private async upsertOnce(
    documents: readonly CampaignPlanDocument[],
  ): Promise<{ failed: CampaignPlanDocument[]; reason: string }> {
    const operations: OperationInput[] = documents.map((document) => ({
      operationType: 'Upsert',
      partitionKey: document.leadId,
      resourceBody: { ...document },
    }));
    const results = await this.container.items.executeBulkOperations(operations);
    const failed: CampaignPlanDocument[] = [];
    let firstFailure = '';
    results.forEach((result, k) => {
      const status = resultStatus(result);
      if (!result.error && typeof status === 'number' && status >= 200 && status < 300) return;
      const document = documents[k]!;
      const reason = `${status === undefined ? 'no answer' : `status ${status}`}${result.error?.message ? ` (${result.error.message})` : ''}`;
      if (!transientStatus(status)) {
        throw new Error(
          `storing the plan of lead '${document.leadId}' in ${this.containerName} failed: ${reason}`,
        );
      }
      if (failed.length === 0) firstFailure = reason;
      failed.push(document);
    });
    return { failed, reason: firstFailure };
  }
}
