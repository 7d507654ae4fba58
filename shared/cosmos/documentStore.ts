import { Container, Database, ErrorResponse } from '@azure/cosmos';
import { defaultRetry, isTransientStatus, withRetry } from '../resilience/retry';
import { CosmosContainerName, cosmosContainers } from '../runtime/cosmosContainers';

export type UpdateOutcome = 'created' | 'replaced' | 'unchanged';

/** Read-modify-write access to documents, under optimistic concurrency. */
export interface DocumentStore {
  read<T extends { id: string }>(
    container: CosmosContainerName,
    partitionKey: string,
    id: string,
  ): Promise<T | undefined>;
  /**
   * Applies `update` to the current document (undefined when there is none) and writes the result only if
   * nobody wrote in between; otherwise reads again and re-applies. `update` returns undefined to write nothing.
   */
  update<T extends { id: string }>(
    container: CosmosContainerName,
    partitionKey: string,
    id: string,
    update: (current: T | undefined) => T | undefined,
  ): Promise<UpdateOutcome>;
}

const statusOf = (error: unknown): number | undefined =>
  (error as ErrorResponse | undefined)?.code as number | undefined;

/** The Cosmos DB adapter: ETag If-Match replaces, create-on-missing, backoff on 429/5xx. */
export class CosmosDocumentStore implements DocumentStore {
  /** Write requests sent, for the benchmark's write-reduction figure. */
  writeRequests = 0;

  constructor(
    private readonly database: Database,
    private readonly maxConflictRetries = 20,
  ) {}

  private container(name: CosmosContainerName): Container {
    return this.database.container(cosmosContainers[name].id);
  }

  async read<T extends { id: string }>(
    name: CosmosContainerName,
    partitionKey: string,
    id: string,
  ): Promise<T | undefined> {
    const response = await withRetry(() => this.container(name).item(id, partitionKey).read<T>(), {
      ...defaultRetry,
      isTransient: isTransientStatus,
    });
    return response.resource ?? undefined;
  }

  async update<T extends { id: string }>(
    name: CosmosContainerName,
    partitionKey: string,
    id: string,
    update: (current: T | undefined) => T | undefined,
  ): Promise<UpdateOutcome> {
    const container = this.container(name);
    for (let attempt = 0; attempt < this.maxConflictRetries; attempt++) {
      const { resource: current, etag } = await withRetry(
        () => container.item(id, partitionKey).read<T & { _etag?: string }>(),
        {
          ...defaultRetry,
          isTransient: isTransientStatus,
        },
      );
      const next = update(current ?? undefined);
      if (next === undefined) return 'unchanged';
      try {
        this.writeRequests += 1;
        if (current === undefined) {
          await withRetry(() => container.items.create(next), {
            ...defaultRetry,
            isTransient: isTransientStatus,
          });
          return 'created';
        }
        await withRetry(
          () =>
            container
              .item(id, partitionKey)
              .replace(next, { accessCondition: { type: 'IfMatch', condition: etag ?? '' } }),
          { ...defaultRetry, isTransient: isTransientStatus },
        );
        return 'replaced';
      } catch (error) {
        // 409: created concurrently; 412: replaced concurrently. Read again and re-apply.
        const status = statusOf(error);
        if (status === 409 || status === 412) continue;
        throw error;
      }
    }
    throw new Error(`${name}/${id}: still conflicting after ${this.maxConflictRetries} attempts`);
  }
}
