import { TurnBatcher } from '../runtime/turnBatcher';
import { CosmosContainerName } from '../runtime/cosmosContainers';
import { DocumentStore } from './documentStore';

/** Cosmos DB takes at most 100 operations in one bulk request. */
const MAX_READS_PER_REQUEST = 100;

/**
 * Point reads of one container that arrive in the same turn of the event loop go to Cosmos DB as one bulk
 * request (`readMany`); a read alone in its turn stays a plain point read. The offer function reads one
 * profile per request: under load this turns many SDK requests, each with its own pipeline, signature and
 * HTTP exchange on the host's thread, into a few (figures in docs/benchmarks.md, Offer). The request
 * units are those of the point reads; each read keeps its own timeout signal (see TurnBatcher).
 */
export class CoalescedPointReads<T extends { id: string }> {
  private readonly batcher: TurnBatcher<{ partitionKey: string; id: string }, T | undefined>;

  constructor(
    store: Pick<DocumentStore, 'read' | 'readMany'>,
    container: CosmosContainerName,
    maxReadsPerRequest = MAX_READS_PER_REQUEST,
  ) {
    this.batcher = new TurnBatcher(async (keys, signal) => {
      const [only] = keys;
      if (keys.length === 1 && only)
        return [await store.read<T>(container, only.partitionKey, only.id, signal)];
      return store.readMany<T>(container, keys, signal);
    }, maxReadsPerRequest);
  }

  read(partitionKey: string, id: string, signal?: AbortSignal): Promise<T | undefined> {
    return this.batcher.submit({ partitionKey, id }, signal);
  }
}
