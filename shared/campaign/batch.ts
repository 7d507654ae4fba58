import { CampaignModelManifest } from './bundle';
import { CsvLimitError, Delimiter, readCsvFile } from './csv';
import { ColumnMapping } from './dataset';
import { CampaignSettings, campaignBatchFileSettings, ConfigurationError } from '../config/settings';
import { RetryBudget } from '../cosmos/documentStore';
import { sleep } from '../resilience/retry';
import { CampaignInputError, MissingTableError } from './errors';
import { leadsFromTables, PlanInputNotes } from './planInput';
import { CampaignPlanner, PlanConstraints, PlanLead } from './planner';
import {
  CampaignPlanStore,
  CampaignRun,
  CampaignRunDocument,
  StoredRun,
  toPlanDocument,
  toRunDocument,
} from './planStore';
import { CampaignScorer } from './scorer';

/**
 * The batch run behind `campaign batch` and the campaignBatchPlan timer: plans every lead (capacity is
 * shared by the whole run) and stores one document per lead. Every lead is validated and scored before
 * the first document is written, so bad input writes nothing. The run id's marker (CampaignRunDocument)
 * says `running` from before the first write until after the last, then `complete`: readers take the
 * latest complete run, never one being written or that failed half-way (its writes retried until the
 * run's budget ran out). The marker is also a lease: one attempt of a run id writes at a time.
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
 * campaign or product features is refused (MissingTableError) when its table is not given, before any
 * lead is planned.
 */
export async function loadPlanLeads(
  manifest: CampaignModelManifest,
  files: PlanFiles,
  options: {
    mapping?: ColumnMapping;
    delimiter?: Delimiter;
    /** Bounds on the files: the leads file's rows, every file's bytes; none by default. */
    limits?: { maxLeads?: number; maxBytes?: number };
  } & PlanInputNotes = {},
): Promise<PlanLead[]> {
  const { limits = {} } = options;
  const csv = {
    ...(options.delimiter ? { delimiter: options.delimiter } : {}),
    ...(limits.maxBytes === undefined ? {} : { maxBytes: limits.maxBytes }),
  };
  const read = (path: string | undefined) => (path === undefined ? undefined : readCsvFile(path, csv));
  const leads = await readCsvFile(files.leads, {
    ...csv,
    ...(limits.maxLeads === undefined ? {} : { maxRows: limits.maxLeads }),
  });
  const touches = await read(files.touches);
  const campaigns = await read(files.campaigns);
  const products = await read(files.products);
  return leadsFromTables(
    manifest,
    leads,
    touches,
    options.mapping,
    {
      ...(campaigns ? { campaigns } : {}),
      ...(products ? { products } : {}),
    },
    options.unused ? { unused: options.unused } : {},
  );
}

/**
 * The batch timer's bounds on its files. Every lead, its plan and its document are held in memory until
 * the run is stored (a few KB per lead, on instances of 2 GB shared with the other functions), and
 * 100,000 upserts take about a million request units: some minutes on a serverless account, about 17 at
 * 1,000 RU/s, within the function timeout. A file (leads, touches, campaigns or products) larger than
 * `maxBytes` is refused before it is read, and the leads file as soon as its row after `maxRows` is
 * parsed. `npx nextoffer campaign batch` has no limit.
 */
export const BATCH_LEADS_LIMITS = { maxRows: 100_000, maxBytes: 64 * 1024 * 1024 } as const;

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
    throw new ConfigurationError(
      campaignBatchFileSettings.leads,
      'missing (the leads CSV the batch run plans)',
    );
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
        limits: { maxLeads: limits.maxRows, maxBytes: limits.maxBytes },
      },
    );
  } catch (error) {
    if (error instanceof MissingTableError)
      throw new ConfigurationError(campaignBatchFileSettings[error.table], `missing: ${error.problem}`);
    if (error instanceof CsvLimitError) {
      const limit =
        'maxRows' in error.limit
          ? `plans at most ${error.limit.maxRows} leads per run`
          : `reads files of at most ${error.limit.maxBytes} bytes`;
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

/**
 * How the attempt writing a run id holds it (CampaignRunDocument is the lease). The holder renews the
 * marker every `renewMs`; when it has not managed to for `fenceMs` it stops writing (its requests in flight
 * are aborted). Another attempt finding the run id `running` takes it over only once the marker has not
 * changed for `takeoverMs` (the holder is gone: it crashed or was stopped), a wait longer than `fenceMs` so
 * that a holder cut off from the database has stopped writing before; a marker that changes meanwhile has a
 * live holder, and the attempt is refused (RunInProgressError). Durations, not times, so that clocks of
 * different machines need not agree.
 */
export interface RunLeaseTiming {
  renewMs: number;
  fenceMs: number;
  takeoverMs: number;
}

/**
 * Renewed every 20 s; a holder stops writing after 150 s without a renewal (longer than the run's retries
 * wait in all, RUN_RETRY_BUDGET_MS), another attempt takes over after 240 s without a change.
 */
export const defaultRunLeaseTiming: RunLeaseTiming = {
  renewMs: 20_000,
  fenceMs: 150_000,
  takeoverMs: 240_000,
};

/** How long the retries of one run (all its writes) may wait in all before the run fails. */
export const RUN_RETRY_BUDGET_MS = 120_000;

/** Another attempt of the same run id is writing it: this one wrote nothing. */
export class RunInProgressError extends Error {
  override name = 'RunInProgressError';
  constructor(
    readonly runId: string,
    readonly holder: string,
  ) {
    super(
      `run ${runId} is being written by another attempt that began at ${holder}; try again once it has ` +
        'finished, or give this run another id (--run-id)',
    );
  }
}

/** Another attempt took the run id over while this one was writing: this one is not marked complete. */
export class RunSupersededError extends Error {
  override name = 'RunSupersededError';
  constructor(
    readonly runId: string,
    readonly other: string | undefined,
  ) {
    super(
      `run ${runId} was superseded by another run of ${runId}` +
        (other === undefined ? '' : ` that began at ${other}`) +
        ': this attempt stopped writing and did not mark it complete',
    );
  }
}

const seconds = (ms: number) => `${ms / 1000} s`;

/** Whether the stored marker is `marker` as this attempt wrote it (its plannedAt, its status). */
const isOurs = (stored: StoredRun | undefined, marker: CampaignRunDocument) =>
  stored?.run.plannedAt === marker.plannedAt && stored.run.status === marker.status;

/**
 * The lease of the attempt writing a run id: `signal` aborts when it is lost (another attempt took the run
 * over, or the marker could not be renewed for `fenceMs`), with the reason to fail with.
 */
class RunLease {
  private readonly lost = new AbortController();
  private renewal: NodeJS.Timeout | undefined;
  private fence: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(
    private readonly store: CampaignPlanStore,
    private marker: CampaignRunDocument,
    private eTag: string,
    private readonly timing: RunLeaseTiming,
    /** When the write that gave this lease was sent (not answered): see renewed. */
    sentAt: number,
  ) {
    this.renewed(sentAt);
    this.scheduleRenewal();
  }

  get signal(): AbortSignal {
    return this.lost.signal;
  }

  /**
   * Writes `marker` (`running`) as the run id's marker, unless another attempt holds the run id (see
   * RunLeaseTiming).
   */
  static async take(
    store: CampaignPlanStore,
    marker: CampaignRunDocument,
    timing: RunLeaseTiming,
    budget: RetryBudget,
    progress: (message: string) => void,
  ): Promise<RunLease> {
    const { runId } = marker;
    let stored = await store.readRun(runId, { budget });
    let watched: { eTag: string; since: number } | undefined;
    for (;;) {
      if (stored?.run.status === 'running') {
        if (watched === undefined) {
          watched = { eTag: stored.eTag, since: Date.now() };
          progress(
            `run ${runId} is marked as being written by an attempt that began at ${stored.run.plannedAt}; ` +
              `taking it over unless that attempt renews its lease within ${seconds(timing.takeoverMs)}`,
          );
        } else if (stored.eTag !== watched.eTag) {
          throw new RunInProgressError(runId, stored.run.plannedAt);
        }
        if (Date.now() - watched.since < timing.takeoverMs) {
          await sleep(Math.min(timing.renewMs, timing.takeoverMs - (Date.now() - watched.since)));
          stored = await store.readRun(runId, { budget });
          continue;
        }
        progress(
          `run ${runId}: the attempt that began at ${stored.run.plannedAt} is gone; taking the run over`,
        );
      }
      const sentAt = Date.now();
      const eTag = await store.writeRun(marker, stored?.eTag, { budget });
      if (eTag !== undefined) return new RunLease(store, marker, eTag, timing, sentAt);
      // Another writer got there first, or our write landed but its answer was lost.
      stored = await store.readRun(runId, { budget });
      if (stored && isOurs(stored, marker)) return new RunLease(store, marker, stored.eTag, timing, sentAt);
    }
  }

  /**
   * Keeps the lease until `fenceMs` after the write that renewed it was sent: past it, this attempt stops
   * writing. Counted from the sending, not the answer, since another attempt counts its takeover time
   * from when it saw the write stored, and a slow or retried answer may come much later.
   */
  private renewed(sentAt: number): void {
    clearTimeout(this.fence);
    this.fence = setTimeout(
      () => {
        this.lose(
          new Error(
            `run ${this.marker.runId}: the lease could not be renewed for ${seconds(this.timing.fenceMs)}, ` +
              'so this attempt stopped writing (another may take the run over) and did not mark it complete',
          ),
        );
      },
      Math.max(0, this.timing.fenceMs - (Date.now() - sentAt)),
    );
    this.fence.unref();
  }

  private scheduleRenewal(): void {
    this.renewal = setTimeout(() => {
      this.renewing = this.renew().finally(() => {
        if (!this.stopped && !this.lost.signal.aborted) this.scheduleRenewal();
      });
    }, this.timing.renewMs);
    this.renewal.unref();
  }

  /** One try (a failure waits for the next); the fence stops the writes should failures go on. */
  private async renew(): Promise<void> {
    const sentAt = Date.now();
    const next = { ...this.marker, renewedAt: new Date(sentAt).toISOString() };
    const once = { budget: { remainingMs: 0 } };
    try {
      const eTag = await this.store.writeRun(next, this.eTag, once);
      if (eTag !== undefined) {
        // Kept even once stopped: `end` writes over this version.
        this.marker = next;
        this.eTag = eTag;
      } else {
        const stored = await this.store.readRun(this.marker.runId, once);
        if (stored === undefined || !isOurs(stored, this.marker)) {
          if (!this.stopped) this.lose(new RunSupersededError(this.marker.runId, stored?.run.plannedAt));
          return;
        }
        this.eTag = stored.eTag;
        // Ours, from an earlier renewal whose answer was lost: it counts from when that one was sent.
        if (!this.stopped) this.renewed(Math.min(sentAt, Date.parse(stored.run.renewedAt) || sentAt));
        return;
      }
      if (!this.stopped) this.renewed(sentAt);
    } catch {
      // Transient: the next renewal tries again.
    }
  }

  private lose(reason: Error): void {
    this.stop();
    this.lost.abort(reason);
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.renewal);
    clearTimeout(this.fence);
  }

  /**
   * Ends the lease by writing `final` (`complete` or `failed`) if the marker is still this attempt's; throws
   * RunSupersededError (or the reason the lease was lost) if it is not.
   */
  async end(final: CampaignRunDocument, budget: RetryBudget): Promise<void> {
    this.stop();
    await this.renewing;
    this.lost.signal.throwIfAborted();
    let eTag = this.eTag;
    for (;;) {
      if ((await this.store.writeRun(final, eTag, { budget })) !== undefined) return;
      const stored = await this.store.readRun(final.runId, { budget });
      // Our final write landed (its answer was lost), or our own marker is newer than we knew.
      if (isOurs(stored, final)) return;
      if (stored === undefined || !isOurs(stored, this.marker))
        throw new RunSupersededError(final.runId, stored?.run.plannedAt);
      eTag = stored.eTag;
    }
  }

  /** After a failure: marks the run `failed` (one try), so that a rerun need not wait to take it over. */
  async release(): Promise<void> {
    this.stop();
    await this.renewing;
    if (this.lost.signal.aborted) return;
    await this.store
      .writeRun({ ...this.marker, status: 'failed' }, this.eTag, { budget: { remainingMs: 0 } })
      .catch(() => undefined);
  }
}

export async function runCampaignBatch(options: {
  scorer: CampaignScorer;
  constraints?: PlanConstraints;
  leads: readonly PlanLead[];
  store: CampaignPlanStore;
  runId: string;
  progress?: (message: string) => void;
  /** How long the run's retries may wait in all; RUN_RETRY_BUDGET_MS by default. */
  retryBudgetMs?: number;
  /** Plans stored per round; 5000 by default. */
  chunkSize?: number;
  lease?: RunLeaseTiming;
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
  const planned = plans.filter((p) => p.best !== null).length;
  const counts = { leads: leads.length, planned, unplanned: leads.length - planned };
  // One budget for every write of the run, the markers' included.
  const budget: RetryBudget = { remainingMs: options.retryBudgetMs ?? RUN_RETRY_BUDGET_MS };
  const running = toRunDocument({
    runId,
    status: 'running',
    modelVersion,
    plannedAt,
    renewedAt: plannedAt,
    completedAt: null,
    ...counts,
  });
  // From here until the marker says complete, readers keep taking the previous complete run.
  const lease = await RunLease.take(store, running, options.lease ?? defaultRunLeaseTiming, budget, progress);
  try {
    const chunk = options.chunkSize ?? 5000;
    for (let start = 0; start < documents.length; start += chunk) {
      lease.signal.throwIfAborted();
      await store.upsert(documents.slice(start, start + chunk), { budget, signal: lease.signal });
      progress(`stored ${Math.min(start + chunk, documents.length)} of ${documents.length} plans`);
    }
    const completedAt = new Date().toISOString();
    await lease.end({ ...running, status: 'complete', renewedAt: completedAt, completedAt }, budget);
    return { runId, modelVersion, plannedAt, completedAt, ...counts };
  } catch (error) {
    await lease.release();
    throw lease.signal.aborted ? (lease.signal.reason as Error) : error;
  }
}
