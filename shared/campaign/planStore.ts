import { BulkOperationResult, Database, OperationInput } from '@azure/cosmos';
import { BulkResult, bulkWithRetry, RetryBudget } from '../cosmos/documentStore';
import { isTransientStatus, RetryOptions, withRetry } from '../resilience/retry';
import { LeadPlan } from './planner';

/**
 * Where batch plans go for Power BI: one document per lead and run, like the Recommendations table of
 * Microsoft's sample. The id is derived from the lead and the run, so rerunning a run overwrites its
 * documents instead of duplicating them.
 */
export interface CampaignPlanDocument {
  id: string;
  /** Tells plans from the run markers (CampaignRunDocument) in the same container. */
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
  /** The `plannedAt` of every plan document this run wrote (one value per attempt). */
  plannedAt: string;
  completedAt: string;
  leads: number;
  planned: number;
  unplanned: number;
}

/**
 * `running` while an attempt writes its plans, `complete` once it has written them all, `failed` when it
 * gave up. Readers take the latest `complete` run (see docs/campaign.md).
 */
export type CampaignRunStatus = 'running' | 'complete' | 'failed';

/**
 * A run id's marker: one per run id, in the plans container under its own partition key value,
 * RUNS_PARTITION_KEY. It is also the lease of the attempt writing the run: the attempt writes it
 * (`running`) before its first plan, renews it while it writes, and marks it `complete` after its last,
 * each time only if the marker is still the version it wrote (If-Match), so that two attempts of one run
 * id never write at once (see runCampaignBatch).
 */
export interface CampaignRunDocument {
  id: string;
  kind: 'run';
  leadId: typeof RUNS_PARTITION_KEY;
  runId: string;
  status: CampaignRunStatus;
  modelVersion: string;
  /** The attempt's `plannedAt`, which every plan it writes carries: which attempt the marker is of. */
  plannedAt: string;
  /** When the attempt last renewed its lease (while it is running). */
  renewedAt: string;
  /** When the attempt wrote its last plan; null unless complete. */
  completedAt: string | null;
  leads: number;
  planned: number;
  unplanned: number;
}

/** The partition (the container's `/leadId`) holding every run marker. */
export const RUNS_PARTITION_KEY = '(runs)';

/** A run marker as stored, with the ETag a conditional write of it must match. */
export interface StoredRun {
  run: CampaignRunDocument;
  eTag: string;
}

/** How a store call may retry: within the run's budget (none left: no retry), stopping when `signal` aborts. */
export interface StoreCallOptions {
  budget?: RetryBudget;
  signal?: AbortSignal;
}

export interface CampaignPlanStore {
  /** The run id's marker, if there is one. */
  readRun(runId: string, options?: StoreCallOptions): Promise<StoredRun | undefined>;
  /**
   * Writes the run's marker if the stored one is still the version `eTag` (if there is none, when `eTag`
   * is undefined). Resolves with the new ETag, or undefined when another writer got there first; a write
   * retried after its answer was lost also resolves undefined, so read the marker to tell.
   */
  writeRun(
    run: CampaignRunDocument,
    eTag: string | undefined,
    options?: StoreCallOptions,
  ): Promise<string | undefined>;
  /**
   * Upserts the documents, retrying transient failures; resolves when every one is stored, rejects naming
   * the first that could not be (or with the signal's reason once it aborts).
   */
  upsert(documents: readonly CampaignPlanDocument[], options?: StoreCallOptions): Promise<void>;
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

export function toRunDocument(run: Omit<CampaignRunDocument, 'id' | 'kind' | 'leadId'>): CampaignRunDocument {
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

/** An executeBulkOperations result as bulkWithRetry reads it. */
function bulkResult(result: BulkOperationResult): BulkResult {
  const { response, error } = result;
  if (response && !error) return response;
  const failure = error as { statusCode?: number; code?: number | string } | undefined;
  const code = failure?.statusCode ?? failure?.code;
  return {
    // No status at all: the request never got an answer (connection reset, timeout). Every operation sent
    // is well-formed (the SDK checks them before sending), so sending it again is the cure, as after a 408.
    statusCode: typeof code === 'number' ? code : (response?.statusCode ?? 408),
    requestCharge: response?.requestCharge ?? 0,
    ...(error?.retryAfterInMs === undefined ? {} : { retryAfterMilliseconds: error.retryAfterInMs }),
    ...(error?.message ? { detail: error.message } : typeof code === 'string' ? { detail: code } : {}),
  };
}

export interface CosmosCampaignPlanStoreOptions {
  /**
   * Backoff for writes that failed transiently (408, 429 once the SDK's own retries are spent, 449, 5xx, no
   * answer), at least the server's retry-after: each attempt sends only the operations still failing.
   * Upserts of ids derived from the run and the lead are idempotent, so a write whose answer was lost is
   * simply written again. How long a run may wait in all is the budget its calls pass.
   */
  retry?: Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'>;
  onRetry?: (message: string) => void;
}

/** Up to 10 attempts per write, backoff doubling from 0.5 s to at most 30 s (full jitter). */
export const defaultPlanStoreRetry: Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'> = {
  attempts: 10,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
};

const isSuccess = (status: number) => status >= 200 && status < 300;
const statusOf = (error: unknown) => (error as { code?: unknown } | undefined)?.code;

export class CosmosCampaignPlanStore implements CampaignPlanStore {
  private readonly retry: Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'>;
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

  /** `operation` with this store's backoff for transient failures, spending from the budget. */
  private retried<T>(what: string, operation: () => Promise<T>, options: StoreCallOptions): Promise<T> {
    const { budget, signal } = options;
    return withRetry(operation, {
      ...this.retry,
      ...(signal ? { signal } : {}),
      isTransient: (error) => isTransientStatus(error) && (budget === undefined || budget.remainingMs > 0),
      onRetry: (error, attempt, delayMs) => {
        if (budget) budget.remainingMs -= delayMs;
        this.onRetry(
          `${what}: attempt ${attempt} of ${this.retry.attempts} failed (${error instanceof Error ? error.message : String(error)}); retrying in ${Math.round(delayMs)} ms`,
        );
      },
    });
  }

  async readRun(runId: string, options: StoreCallOptions = {}): Promise<StoredRun | undefined> {
    const { resource, etag } = await this.retried(
      `reading the marker of run ${runId}`,
      () => this.container.item(runDocumentId(runId), RUNS_PARTITION_KEY).read<CampaignRunDocument>(),
      options,
    );
    return resource === undefined ? undefined : { run: resource, eTag: etag };
  }

  async writeRun(
    run: CampaignRunDocument,
    eTag: string | undefined,
    options: StoreCallOptions = {},
  ): Promise<string | undefined> {
    try {
      const { etag } = await this.retried(
        `writing the marker of run ${run.runId}`,
        () =>
          eTag === undefined
            ? this.container.items.create(run)
            : this.container
                .item(run.id, RUNS_PARTITION_KEY)
                .replace(run, { accessCondition: { type: 'IfMatch', condition: eTag } }),
        options,
      );
      return etag;
    } catch (error) {
      // 409: created by another writer; 412: written since `eTag`; 404: deleted since.
      if ([404, 409, 412].includes(statusOf(error) as number)) return undefined;
      throw error;
    }
  }

  /**
   * One `executeBulkOperations` call for all the documents (the SDK batches them per partition range,
   * paces them to the throughput and retries throttled ones itself), then again for those that failed
   * transiently, after a backoff, until the attempts or the budget run out (bulkWithRetry). A status
   * retrying cannot fix (400, 403, 404, 413…) fails the call, naming the lead.
   */
  async upsert(documents: readonly CampaignPlanDocument[], options: StoreCallOptions = {}): Promise<void> {
    const { signal } = options;
    const operations: OperationInput[] = documents.map((document) => ({
      operationType: 'Upsert',
      partitionKey: document.leadId,
      resourceBody: { ...document },
    }));
    let results: BulkResult[];
    try {
      results = await bulkWithRetry(
        this.containerName,
        async (chunk) =>
          (
            await this.container.items.executeBulkOperations(chunk, signal ? { abortSignal: signal } : {})
          ).map(bulkResult),
        operations,
        {
          retry: this.retry,
          ...(signal ? { signal } : {}),
          ...(options.budget ? { budget: options.budget } : {}),
          onRetry: ({ attempt, failed, failure, delayMs }) =>
            this.onRetry(
              `storing ${documents.length} plans in ${this.containerName}: attempt ${attempt} of ${this.retry.attempts} failed for ${failed} of them (${failure}); retrying in ${Math.round(delayMs)} ms`,
            ),
        },
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new Error(
        `storing the plans in ${this.containerName} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    results.forEach((result, k) => {
      if (isSuccess(result.statusCode)) return;
      throw new Error(
        `storing the plan of lead '${documents[k]!.leadId}' in ${this.containerName} failed: status ${result.statusCode}${result.detail ? ` (${result.detail})` : ''}`,
      );
    });
  }
}
