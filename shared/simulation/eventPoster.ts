import type { ClientEvent } from '../events/clickstreamEvent';
import { Clock, systemClock } from './tokenBucket';

/**
 * Posts events to `POST {baseUrl}/api/events` in batches, with at most `concurrency` requests in flight;
 * with a function key, to the keyed `POST {baseUrl}/api/server/events` instead (docs/api.md).
 * 503 and 429 are retried, honouring Retry-After; other 4xx count the batch as rejected (the ingest
 * endpoint rejects a request whole); network errors and exhausted retries count it as failed.
 */
export interface EventPosterOptions {
  baseUrl: string;
  /**
   * A function key: the events then go, as `x-functions-key`, to the server-to-server endpoint
   * `/api/server/events`. Without it they go to the anonymous `/api/events` that browsers use.
   */
  functionKey?: string;
  /** Requests in flight at most. */
  concurrency: number;
  /** Events per request, at most 100. */
  batchSize: number;
  /** A partial batch is sent after waiting this long for more events. */
  maxBatchDelayMs?: number;
  /** Attempts per batch, including the first. */
  maxAttempts?: number;
  requestTimeoutMs?: number;
  clock?: Clock;
  fetch?: typeof fetch;
  /** Called after each batch is settled, for progress reports. */
  onBatchSettled?: (outcome: BatchOutcome) => void;
}

export interface BatchOutcome {
  events: number;
  accepted: number;
  rejected: number;
  failed: number;
  attempts: number;
  /** Last HTTP status, or undefined when no response came. */
  status?: number;
  error?: string;
}

export interface PostingTotals {
  requests: number;
  retries: number;
  accepted: number;
  rejected: number;
  failed: number;
  /** Status codes seen, with counts, e.g. { '202': 40, '503': 2 }. */
  statuses: Record<string, number>;
  /** The first few distinct error messages, for the summary. */
  errors: string[];
}

export const MAX_BATCH_SIZE = 100;
const RETRYABLE = new Set([429, 503]);
const MAX_RETRY_WAIT_MS = 30_000;
const MAX_ERRORS_KEPT = 5;

/** Retry-After is either delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Reads how many events the endpoint accepted, when its 2xx body says so; else all of them. */
function acceptedCount(body: unknown, sent: number): number {
  if (body !== null && typeof body === 'object') {
    const accepted = (body as { accepted?: unknown }).accepted;
    if (typeof accepted === 'number' && Number.isInteger(accepted))
      return Math.min(Math.max(accepted, 0), sent);
    if (Array.isArray(accepted)) return Math.min(accepted.length, sent);
  }
  return sent;
}

export class EventPoster {
  private readonly endpoint: string;
  private readonly maxBatchDelayMs: number;
  private readonly maxAttempts: number;
  private readonly requestTimeoutMs: number;
  private readonly clock: Clock;
  private readonly fetchImpl: typeof fetch;
  private buffer: ClientEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** Batches waiting for a request slot, then requests under way. */
  private readonly dispatching = new Set<Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Slots taken, counted apart from `inFlight` so that two woken waiters cannot both take the last one. */
  private busySlots = 0;
  private slotWaiters: Array<() => void> = [];
  /** Retry waits end early when the run stops; the batch then counts as failed. */
  private readonly stopping = new AbortController();
  readonly totals: PostingTotals = {
    requests: 0,
    retries: 0,
    accepted: 0,
    rejected: 0,
    failed: 0,
    statuses: {},
    errors: [],
  };

  constructor(private readonly options: EventPosterOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
      throw new RangeError('concurrency must be ≥ 1');
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > MAX_BATCH_SIZE) {
      throw new RangeError(`batchSize must be from 1 to ${MAX_BATCH_SIZE}`);
    }
    this.endpoint = new URL(
      options.functionKey === undefined ? 'api/events' : 'api/server/events',
      options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`,
    ).href;
    this.maxBatchDelayMs = options.maxBatchDelayMs ?? 250;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.clock = options.clock ?? systemClock;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Queues an event; waits when the batch is full and every request slot is busy (backpressure). */
  async add(event: ClientEvent): Promise<void> {
    this.buffer.push(event);
    if (this.buffer.length >= this.options.batchSize) {
      await this.flush();
    } else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, this.maxBatchDelayMs);
    }
  }

  /** Sends what is buffered (waiting for a free slot), without waiting for the response. */
  flush(): Promise<void> {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.buffer.length === 0) return Promise.resolve();
    const batch = this.buffer;
    this.buffer = [];
    const dispatching = this.dispatch(batch).finally(() => this.dispatching.delete(dispatching));
    this.dispatching.add(dispatching);
    return dispatching;
  }

  private async dispatch(batch: ClientEvent[]): Promise<void> {
    await this.acquireSlot();
    const sending = this.send(batch).finally(() => {
      this.inFlight.delete(sending);
      this.releaseSlot();
    });
    this.inFlight.add(sending);
  }

  /** Pending and future retry waits give up at once; their batches count as failed. */
  stopRetrying(): void {
    this.stopping.abort(new Error('simulation stopped'));
  }

  /** Sends the rest and waits for every request. With `abortRetries`, pending retry waits give up. */
  async close(abortRetries = false): Promise<PostingTotals> {
    if (abortRetries) this.stopRetrying();
    await this.flush();
    while (this.dispatching.size > 0 || this.inFlight.size > 0) {
      await Promise.all([...this.dispatching, ...this.inFlight]);
    }
    return this.totals;
  }

  private async acquireSlot(): Promise<void> {
    while (this.busySlots >= this.options.concurrency) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.busySlots++;
  }

  private releaseSlot(): void {
    this.busySlots--;
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
  }

  private noteError(message: string): void {
    if (this.totals.errors.length < MAX_ERRORS_KEPT && !this.totals.errors.includes(message)) {
      this.totals.errors.push(message);
    }
  }

  private async send(batch: ClientEvent[]): Promise<void> {
    const outcome: BatchOutcome = { events: batch.length, accepted: 0, rejected: 0, failed: 0, attempts: 0 };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.functionKey !== undefined) headers['x-functions-key'] = this.options.functionKey;
    /** Events still to deliver: a 503 may report some events accepted; only the rest are sent again. */
    let pending = batch;

    for (;;) {
      outcome.attempts++;
      this.totals.requests++;
      let waitMs: number | undefined;
      try {
        const response = await this.fetchImpl(this.endpoint, {
          method: 'POST',
          headers,
          body: JSON.stringify(pending),
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
        outcome.status = response.status;
        this.totals.statuses[response.status] = (this.totals.statuses[response.status] ?? 0) + 1;
        const text = await response.text();
        if (response.ok) {
          const accepted = acceptedCount(safeJson(text), pending.length);
          outcome.accepted += accepted;
          outcome.rejected += pending.length - accepted;
          pending = [];
          break;
        }
        if (!RETRYABLE.has(response.status)) {
          outcome.rejected += pending.length;
          outcome.error = `HTTP ${response.status}: ${text.slice(0, 200)}`;
          pending = [];
          break;
        }
        const report = perEventReport(safeJson(text), pending.length);
        if (report) {
          outcome.accepted += report.accepted;
          outcome.rejected += report.rejected;
          pending = pending.filter((_, index) => report.unavailable.has(index));
          if (pending.length === 0) break;
        }
        waitMs = retryAfterMs(response.headers.get('retry-after'), Date.now());
        outcome.error = `HTTP ${response.status}`;
      } catch (error) {
        // Network errors and timeouts are retried like 503: the request may not have arrived.
        outcome.error = error instanceof Error ? error.message : String(error);
      }
      if (outcome.attempts >= this.maxAttempts || this.stopping.signal.aborted) break;
      const backoffMs = Math.min(MAX_RETRY_WAIT_MS, 250 * 2 ** (outcome.attempts - 1));
      try {
        await this.clock.sleep(Math.min(MAX_RETRY_WAIT_MS, waitMs ?? backoffMs), this.stopping.signal);
      } catch {
        break;
      }
      this.totals.retries++;
    }

    outcome.failed = pending.length;
    this.totals.accepted += outcome.accepted;
    this.totals.rejected += outcome.rejected;
    this.totals.failed += outcome.failed;
    if (outcome.rejected > 0 || outcome.failed > 0) this.noteError(outcome.error ?? 'partly rejected');
    this.options.onBatchSettled?.(outcome);
  }
}

/**
 * The ingest endpoint's per-event report (docs/api.md): on 503 it lists which events were accepted,
 * rejected, or `unavailable` (to send again). Undefined when the body is not such a report.
 */
function perEventReport(
  body: unknown,
  sent: number,
): { accepted: number; rejected: number; unavailable: Set<number> } | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const results = (body as { results?: unknown }).results;
  if (!Array.isArray(results) || results.length !== sent) return undefined;
  const report = { accepted: 0, rejected: 0, unavailable: new Set<number>() };
  for (const [position, result] of results.entries()) {
    const { index, status } = (result ?? {}) as { index?: unknown; status?: unknown };
    const at = typeof index === 'number' ? index : position;
    if (status === 'accepted') report.accepted++;
    else if (status === 'rejected') report.rejected++;
    else report.unavailable.add(at);
  }
  return report;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
