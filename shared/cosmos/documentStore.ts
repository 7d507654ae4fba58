import { Container, Database, JSONObject, OperationInput, OperationResponse } from '@azure/cosmos';
import { defaultRetry, isTransientStatus, RetryOptions, sleep, withRetry } from '../resilience/retry';
import { CosmosContainerName, cosmosContainers } from '../runtime/cosmosContainers';

export type UpdateOutcome = 'created' | 'replaced' | 'unchanged';

/** One read-modify-write of one document. */
export interface DocumentUpdate<T extends { id: string }> {
  container: CosmosContainerName;
  partitionKey: string;
  id: string;
  /**
   * The document to write, given the current one (undefined when there is none), or undefined to write
   * nothing. Called again with the newer document when another writer got there first, so it must not
   * change `current` or depend on how often it is called.
   */
  apply: (current: T | undefined) => T | undefined;
}

/** Read-modify-write access to documents, under optimistic concurrency. */
export interface DocumentStore {
  /** `signal`: the caller has given up on the read; it stops (and rejects) instead of retrying on. */
  read<T extends { id: string }>(
    container: CosmosContainerName,
    partitionKey: string,
    id: string,
    signal?: AbortSignal,
  ): Promise<T | undefined>;
  /**
   * Reads several documents of one container in one request where the store can (a bulk request in Cosmos
   * DB); answers in the order of `keys`, undefined for a document that does not exist.
   */
  readMany<T extends { id: string }>(
    container: CosmosContainerName,
    keys: ReadonlyArray<{ partitionKey: string; id: string }>,
    signal?: AbortSignal,
  ): Promise<Array<T | undefined>>;
  /**
   * Applies every update to its current document and writes each result only if nobody wrote that
   * document in between; a document somebody else wrote is read again and its update re-applied. Returns
   * the outcomes in the order of `updates`; throws when any document cannot be written.
   */
  updateMany<T extends { id: string }>(updates: readonly DocumentUpdate<T>[]): Promise<UpdateOutcome[]>;
}

/** Cosmos DB takes at most 100 operations in one bulk request (per partition key range). */
const MAX_OPERATIONS_PER_BULK_CALL = 100;

/**
 * A bulk operation's result; Cosmos adds `retryAfterMilliseconds` to throttled ones. `detail` says more
 * about a failure than its status, for errors.
 */
export type BulkResult = OperationResponse & { retryAfterMilliseconds?: number; detail?: string };

const isSuccess = (status: number) => status >= 200 && status < 300;
/** Per-operation statuses worth another try: throttling, timeouts, server errors. */
export const isTransientOperationStatus = (status: number) =>
  status === 408 || status === 429 || status === 449 || status >= 500;

/**
 * `items.bulk` rethrows a failed bulk request as a plain Error without its status code ("Bulk request
 * errored with: ..."), so throttling and outages at the request level look alike. Such a request carried
 * only well-formed operations (the SDK checks them before sending), so it is retried like a 429/503.
 */
const isTransientBulkRequestError = (error: unknown) =>
  isTransientStatus(error) || (error instanceof Error && error.message.startsWith('Bulk request errored'));

function operationId(operation: OperationInput): string {
  if ('id' in operation) return operation.id;
  const { id } = operation.resourceBody;
  return typeof id === 'string' ? id : JSON.stringify(id);
}

/** Full jitter: a random wait up to base × 2^(attempt − 1), capped. */
const jitteredBackoff = (backoff: { baseDelayMs: number; maxDelayMs: number }, attempt: number) =>
  Math.random() * Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** (attempt - 1));

/**
 * Time several bulkWithRetry calls may spend waiting between attempts in all (the writes of one batch
 * run): each backoff is taken from it, and once none is left, the next failure fails the call.
 */
export interface RetryBudget {
  remainingMs: number;
}

export interface BulkRetryOptions {
  /** Attempts per call and their backoff (at least the server's retry-after). */
  retry: Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'>;
  /** Once it aborts no request is sent and no backoff awaited: the call rejects with its reason. */
  signal?: AbortSignal;
  budget?: RetryBudget;
  /** Operations per `send`, sent side by side; all in one `send` when unset. */
  chunkSize?: number;
  /** Before each backoff: how many operations failed, why (the last failure seen), and the wait. */
  onRetry?: (retry: { attempt: number; failed: number; failure: string; delayMs: number }) => void;
}

/**
 * Sends the operations with `send` (one bulk call: a result per operation, in order, or a throw for the
 * whole call) and returns their results in order, sending throttled or failed operations (or whole
 * calls) again with backoff until the attempts, or the budget, run out. Results with a status retrying
 * cannot fix (400, 404, 409, 412…) are returned as they are, for the caller to judge.
 */
export async function bulkWithRetry(
  /** The container's id, for errors. */
  containerId: string,
  send: (operations: OperationInput[]) => Promise<BulkResult[]>,
  operations: readonly OperationInput[],
  options: BulkRetryOptions,
): Promise<BulkResult[]> {
  const { retry, signal, budget } = options;
  const results = new Array<BulkResult>(operations.length);
  let pending = operations.map((_, index) => index);
  for (let attempt = 1; pending.length > 0; attempt++) {
    signal?.throwIfAborted();
    const retryNow: number[] = [];
    let retryAfterMs = 0;
    let lastFailure = '';
    const chunks: number[][] = [];
    const chunkSize = options.chunkSize ?? Math.max(1, pending.length);
    for (let i = 0; i < pending.length; i += chunkSize) chunks.push(pending.slice(i, i + chunkSize));
    await Promise.all(
      chunks.map(async (chunk) => {
        let responses: BulkResult[];
        try {
          responses = await send(chunk.map((index) => operations[index] as OperationInput));
        } catch (error) {
          signal?.throwIfAborted();
          if (!isTransientBulkRequestError(error)) {
            throw new Error(
              `${containerId}: bulk request failed: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
          retryNow.push(...chunk);
          lastFailure = error instanceof Error ? error.message : String(error);
          return;
        }
        chunk.forEach((index, i) => {
          const response = responses[i] as BulkResult;
          if (isTransientOperationStatus(response.statusCode)) {
            retryNow.push(index);
            retryAfterMs = Math.max(retryAfterMs, response.retryAfterMilliseconds ?? 0);
            lastFailure = `status ${response.statusCode}${response.detail ? ` (${response.detail})` : ''}`;
          } else {
            results[index] = response;
          }
        });
      }),
    );
    if (retryNow.length === 0) break;
    const spent = budget !== undefined && budget.remainingMs <= 0;
    if (attempt >= retry.attempts || spent) {
      const first = operations[retryNow[0] as number] as OperationInput;
      throw new Error(
        `${containerId}/${operationId(first)}: ${first.operationType} (and ${retryNow.length - 1} more operations) ` +
          `still failing after ${attempt} attempts${spent ? ' (the time for retries is spent)' : ''}: ${lastFailure}`,
      );
    }
    const delayMs = Math.max(retryAfterMs, jitteredBackoff(retry, attempt));
    if (budget) budget.remainingMs -= delayMs;
    options.onRetry?.({ attempt, failed: retryNow.length, failure: lastFailure, delayMs });
    await sleep(delayMs, signal);
    pending = retryNow.sort((a, b) => a - b);
  }
  return results;
}

export interface CosmosDocumentStoreOptions {
  /** Read-apply-write rounds for documents that keep conflicting with other writers. */
  maxConflictRounds?: number;
  /**
   * Random wait before reading conflicting documents again, doubling per round. Writers that collided
   * (the partitions' batches all update the hot products and the roll-ups) would otherwise come back
   * in step and collide again, each time with one more bulk read and write.
   */
  conflictBackoff?: { baseDelayMs: number; maxDelayMs: number };
  /** Backoff for throttled and failed bulk requests and operations of `updateMany`. */
  retry?: Omit<RetryOptions, 'isTransient'>;
}

/**
 * The Cosmos DB adapter. `updateMany` reads the documents in bulk, applies the updates in memory and writes
 * them back in bulk: a Create for a new document, a Replace with `ifMatch: <etag>` for an existing one.
 * Every operation carries its own condition, so correctness does not depend on the bulk request being
 * atomic (it is not). 409/412 → read those documents again and re-apply; 429/408/449/5xx → send those
 * operations again after a backoff (at least the server's retry-after); anything else fails the call.
 */
export class CosmosDocumentStore implements DocumentStore {
  private readonly maxConflictRounds: number;
  private readonly conflictBackoff: { baseDelayMs: number; maxDelayMs: number };
  private readonly retry: Omit<RetryOptions, 'isTransient'>;

  constructor(
    private readonly database: Database,
    options: CosmosDocumentStoreOptions = {},
  ) {
    this.maxConflictRounds = options.maxConflictRounds ?? 20;
    this.conflictBackoff = options.conflictBackoff ?? { baseDelayMs: 10, maxDelayMs: 500 };
    this.retry = options.retry ?? { ...defaultRetry, attempts: 10 };
  }

  private container(name: CosmosContainerName): Container {
    return this.database.container(cosmosContainers[name].id);
  }

  async read<T extends { id: string }>(
    name: CosmosContainerName,
    partitionKey: string,
    id: string,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    // The offer function's point read keeps the shared default: its own timeout bounds it, not ours, and
    // aborts `signal` when it gives up, which ends the request in flight and the retries.
    const response = await withRetry(
      () =>
        this.container(name)
          .item(id, partitionKey)
          .read<T>(signal ? { abortSignal: signal } : {}),
      { ...defaultRetry, isTransient: isTransientStatus, ...(signal ? { signal } : {}) },
    );
    return response.resource ?? undefined;
  }

  async readMany<T extends { id: string }>(
    name: CosmosContainerName,
    keys: ReadonlyArray<{ partitionKey: string; id: string }>,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<Array<T | undefined>> {
    return (await this.readVersions<T>(name, keys, signal)).map((read) => read.document);
  }

  /** One bulk Read of `keys`: each document (undefined when there is none) with its ETag. */
  private async readVersions<T>(
    name: CosmosContainerName,
    keys: ReadonlyArray<{ partitionKey: string; id: string }>,
    signal: AbortSignal,
  ): Promise<Array<{ document: T | undefined; eTag: string | undefined }>> {
    const responses = await this.bulk(
      name,
      signal,
      keys.map(({ partitionKey, id }) => ({ operationType: 'Read', id, partitionKey })),
    );
    return responses.map((response, i) => {
      if (response.statusCode === 404) return { document: undefined, eTag: undefined };
      if (!isSuccess(response.statusCode)) {
        throw new Error(
          `${cosmosContainers[name].id}/${keys[i]?.id ?? '?'}: read failed with status ${response.statusCode}`,
        );
      }
      return { document: response.resourceBody as unknown as T, eTag: response.eTag };
    });
  }

  async updateMany<T extends { id: string }>(
    updates: readonly DocumentUpdate<T>[],
  ): Promise<UpdateOutcome[]> {
    const byContainer = new Map<CosmosContainerName, number[]>();
    updates.forEach((update, index) => {
      const indexes = byContainer.get(update.container) ?? [];
      indexes.push(index);
      byContainer.set(update.container, indexes);
    });
    const outcomes = new Array<UpdateOutcome>(updates.length);
    // Containers are independent: their rounds run side by side. When one fails the call fails, so the
    // others stop at their next step (no more backoffs, rounds or retries) and the call returns only once
    // they have: nothing of this call keeps writing after it has failed and the batch has been dead-lettered.
    const failed = new AbortController();
    let firstError: { error: unknown } | undefined;
    await Promise.allSettled(
      [...byContainer].map(async ([name, indexes]) => {
        try {
          const containerOutcomes = await this.updateInContainer(
            name,
            indexes.map((index) => updates[index] as DocumentUpdate<T>),
            failed.signal,
          );
          indexes.forEach((index, i) => (outcomes[index] = containerOutcomes[i] as UpdateOutcome));
        } catch (error) {
          firstError ??= { error };
          failed.abort(error);
        }
      }),
    );
    if (firstError) throw firstError.error;
    return outcomes;
  }

  private async updateInContainer<T extends { id: string }>(
    name: CosmosContainerName,
    updates: readonly DocumentUpdate<T>[],
    signal: AbortSignal,
  ): Promise<UpdateOutcome[]> {
    const outcomes = new Array<UpdateOutcome>(updates.length);
    let pending = updates.map((_, index) => index);
    for (let round = 0; round < this.maxConflictRounds && pending.length > 0; round++) {
      if (round > 0) await sleep(jitteredBackoff(this.conflictBackoff, round), signal);
      const reads = await this.readVersions<T>(
        name,
        pending.map((index) => updates[index] as DocumentUpdate<T>),
        signal,
      );
      const writes: Array<{ index: number; operation: OperationInput }> = [];
      pending.forEach((index, i) => {
        const update = updates[index] as DocumentUpdate<T>;
        const { document: current, eTag } = reads[i] as (typeof reads)[number];
        const next = update.apply(current);
        if (next === undefined) {
          outcomes[index] = 'unchanged';
          return;
        }
        const resourceBody = next as unknown as JSONObject;
        writes.push({
          index,
          operation:
            current === undefined
              ? { operationType: 'Create', partitionKey: update.partitionKey, resourceBody }
              : {
                  operationType: 'Replace',
                  id: update.id,
                  partitionKey: update.partitionKey,
                  resourceBody,
                  ifMatch: eTag ?? '',
                },
        });
      });
      const results = await this.bulk(
        name,
        signal,
        writes.map((w) => w.operation),
      );
      const conflicted: number[] = [];
      writes.forEach(({ index, operation }, i) => {
        const { statusCode } = results[i] as BulkResult;
        if (isSuccess(statusCode)) {
          outcomes[index] = operation.operationType === 'Create' ? 'created' : 'replaced';
        } else if (statusCode === 409 || statusCode === 412) {
          // 409: created concurrently; 412: replaced since our read. Read again and re-apply: the
          // watermarks leave out what the other writer already counted.
          conflicted.push(index);
        } else {
          const { id } = updates[index] as DocumentUpdate<T>;
          throw new Error(
            `${cosmosContainers[name].id}/${id}: ${operation.operationType} failed with status ${statusCode}`,
          );
        }
      });
      pending = conflicted;
    }
    if (pending.length > 0) {
      const ids = pending.map((index) => (updates[index] as DocumentUpdate<T>).id);
      throw new Error(
        `${cosmosContainers[name].id}/${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}: ` +
          `still conflicting after ${this.maxConflictRounds} rounds`,
      );
    }
    return outcomes;
  }

  /**
   * Sends the operations in bulk requests of at most 100 and returns their results in order, sending
   * throttled or failed operations (or whole requests) again with backoff until the attempts run out.
   * Once `signal` aborts no request is sent and no backoff awaited: it rejects with the signal's reason.
   */
  private bulk(
    name: CosmosContainerName,
    signal: AbortSignal,
    operations: readonly OperationInput[],
  ): Promise<BulkResult[]> {
    // `executeBulkOperations`, the successor, waits 1 s for more operations before it sends a
    // part-filled batch: a second per call, which the end-to-end latency cannot afford.
    return bulkWithRetry(
      cosmosContainers[name].id,
      (chunk) => this.container(name).items.bulk(chunk),
      operations,
      { retry: this.retry, signal, chunkSize: MAX_OPERATIONS_PER_BULK_CALL },
    );
  }
}
