import { CosmosClient, Database } from '@azure/cosmos';
import { IncomingMessage } from 'node:http';
import { CosmosDocumentStore, DocumentUpdate } from '../../../shared/cosmos/documentStore';
import { parseConnectionString } from '../../../shared/config/settings';
import { createCosmosClient } from '../../../shared/runtime/clients';
import { provisionCosmos } from '../../../shared/runtime/provisioning';
import { Fault, FaultProxy, startFaultProxy } from '../../support/faultProxy';
import { cosmosClientFor, startTestStack, TestStack } from '../../support/localStack';

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

let stack: TestStack;
let direct: CosmosClient;
let database: Database;
const proxies: FaultProxy[] = [];
const clients: CosmosClient[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  direct = cosmosClientFor(stack.settings);
  database = direct.database('document-store');
  await provisionCosmos(database);
});

afterAll(async () => {
  clients.forEach((c) => c.dispose());
  await Promise.all(proxies.map((p) => p.stop()));
  direct.dispose();
  await stack.stop();
});

/**
 * A counter document with a watermark per writer, as the aggregates have: an update adds `by` to `count`
 * once per writer and sequence number, whatever happens to the requests.
 */
interface Counter {
  id: string;
  productId: string;
  count: number;
  watermarks: Record<string, number>;
}

const increment = (id: string, writer: string, sequence: number, by: number): DocumentUpdate<Counter> => ({
  container: 'productStats',
  partitionKey: id,
  id,
  apply: (current) => {
    if ((current?.watermarks[writer] ?? -1) >= sequence) return undefined;
    const next = current
      ? structuredClone(current)
      : { id, productId: id, count: 0, watermarks: {} as Record<string, number> };
    next.count += by;
    next.watermarks[writer] = sequence;
    return next;
  },
});

const countOf = async (id: string) =>
  (await database.container('product-stats').item(id, id).read<Counter>()).resource?.count;

const isBulkTo = (request: IncomingMessage, containerId: string) =>
  request.method === 'POST' &&
  request.headers['x-ms-cosmos-is-batch-request'] !== undefined &&
  (request.url ?? '').includes(`/colls/${containerId}/docs`);

const operationsIn = (body: Buffer) => JSON.parse(body.toString('utf8')) as Array<{ operationType: string }>;
const isBulkWrite = (request: IncomingMessage, body: Buffer, containerId: string) =>
  isBulkTo(request, containerId) && operationsIn(body).some((o) => o.operationType !== 'Read');

/** A store whose requests pass a proxy that can act before each one reaches the real server. */
async function storeBehind(
  decide: (request: IncomingMessage, body: Buffer) => Fault | undefined | Promise<Fault | undefined>,
  options: ConstructorParameters<typeof CosmosDocumentStore>[1] = {},
): Promise<{ store: CosmosDocumentStore; proxy: FaultProxy }> {
  const endpoint = parseConnectionString(stack.settings.CosmosDBConnection!).get('accountendpoint')!;
  const proxy = await startFaultProxy(endpoint, decide);
  proxies.push(proxy);
  const client = createCosmosClient({ kind: 'connectionString', endpoint: `${proxy.url}/`, key: 'a2V5' });
  clients.push(client);
  return { store: new CosmosDocumentStore(client.database('document-store'), options), proxy };
}

/** A bulk answer (HTTP 207) giving every operation of the request the same status. */
const everyOperation = (body: Buffer, status: number, extra: Record<string, unknown> = {}): Fault => ({
  status: 207,
  body: JSON.stringify(operationsIn(body).map(() => ({ statusCode: status, requestCharge: 0, ...extra }))),
});

describe('CosmosDocumentStore.updateMany', () => {
  it('reads and writes many documents in one bulk request each and reports what it did', async () => {
    const seeded = new CosmosDocumentStore(database);
    await seeded.updateMany([increment('bulk-existing', 'w', 1, 1)]);
    let bulkRequests = 0;
    const { store } = await storeBehind((request) => {
      if (isBulkTo(request, 'product-stats')) bulkRequests += 1;
      return undefined;
    });
    const outcomes = await store.updateMany([
      increment('bulk-existing', 'w', 2, 5),
      increment('bulk-new', 'w', 1, 3),
      increment('bulk-existing', 'w', 1, 100), // already applied: watermark says so
    ]);
    expect(outcomes).toEqual(['replaced', 'created', 'unchanged']);
    expect(bulkRequests).toBe(2); // one bulk read, one bulk write
    expect(await countOf('bulk-existing')).toBe(6);
    expect(await countOf('bulk-new')).toBe(3);
  });

  it('splits more than 100 documents into bulk requests of 100', async () => {
    let bulkRequests = 0;
    const { store } = await storeBehind((request) => {
      if (isBulkTo(request, 'product-stats')) bulkRequests += 1;
      return undefined;
    });
    const ids = Array.from({ length: 150 }, (_, i) => `many-${i}`);
    const outcomes = await store.updateMany(ids.map((id) => increment(id, 'w', 1, 1)));
    expect(outcomes.every((o) => o === 'created')).toBe(true);
    expect(bulkRequests).toBe(4); // 100 + 50 reads, 100 + 50 writes
    expect(await countOf('many-149')).toBe(1);
  });

  it('re-reads and re-applies a document replaced by another writer between its bulk read and write (412)', async () => {
    const other = new CosmosDocumentStore(database);
    await other.updateMany([increment('race-412', 'a', 1, 10)]);
    let writes = 0;
    const { store } = await storeBehind(async (request, body) => {
      if (isBulkWrite(request, body, 'product-stats') && writes++ === 0) {
        // Our read is done and our Replace carries its ETag: another writer gets in first.
        await other.updateMany([increment('race-412', 'b', 1, 7)]);
      }
      return undefined;
    });
    expect(await store.updateMany([increment('race-412', 'a', 2, 1)])).toEqual(['replaced']);
    expect(writes).toBe(2); // the Replace refused with 412, then the one after a fresh read
    expect(await countOf('race-412')).toBe(18);
  });

  it('re-reads and re-applies a document created by another writer between its bulk read and write (409)', async () => {
    const other = new CosmosDocumentStore(database);
    let writes = 0;
    const { store } = await storeBehind(async (request, body) => {
      if (isBulkWrite(request, body, 'product-stats') && writes++ === 0) {
        await other.updateMany([increment('race-409', 'b', 1, 7)]);
      }
      return undefined;
    });
    expect(
      await store.updateMany([increment('race-409', 'a', 1, 2), increment('race-409-alone', 'a', 1, 1)]),
    ).toEqual(['replaced', 'created']);
    expect(writes).toBe(2);
    expect(await countOf('race-409')).toBe(9);
    expect(await countOf('race-409-alone')).toBe(1);
  });

  it('counts exactly when many writers update the same documents at the same time', async () => {
    const writers = await Promise.all(Array.from({ length: 4 }, () => storeBehind(() => undefined)));
    const ids = ['contended-1', 'contended-2', 'contended-3'];
    // Each writer sends its updates in order, as a partition's batches are; the writers race each other.
    await Promise.all(
      writers.map(async ({ store }, w) => {
        for (let s = 0; s < 5; s++) await store.updateMany(ids.map((id) => increment(id, `w${w}`, s, 1)));
      }),
    );
    for (const id of ids) expect(await countOf(id)).toBe(20);
  });

  it('retries operations the server throttles (429 per operation) and respects their retry-after', async () => {
    let throttled = 0;
    const { store, proxy } = await storeBehind((request, body) =>
      isBulkWrite(request, body, 'product-stats') && throttled++ < 2
        ? everyOperation(body, 429, { retryAfterMilliseconds: 50 })
        : undefined,
    );
    const started = performance.now();
    expect(
      await store.updateMany([increment('throttled-1', 'w', 1, 2), increment('throttled-2', 'w', 1, 3)]),
    ).toEqual(['created', 'created']);
    expect(proxy.faults).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    expect(await countOf('throttled-1')).toBe(2);
    expect(await countOf('throttled-2')).toBe(3);
  });

  it('retries transient failures of reads and of whole bulk requests (503, 408)', async () => {
    let failures = 0;
    const { store, proxy } = await storeBehind((request, body) => {
      if (!isBulkTo(request, 'product-stats')) return undefined;
      failures += 1;
      if (failures === 1) return everyOperation(body, 408);
      if (failures === 2) return { status: 503 };
      return undefined;
    });
    expect(await store.updateMany([increment('flaky', 'w', 1, 4)])).toEqual(['created']);
    expect(proxy.faults).toBe(2);
    expect(await countOf('flaky')).toBe(4);
  });

  it('re-applies nothing twice when a write landed but its answer was lost', async () => {
    // The write reaches the server, the client sees a 503 and sends it again: the repeat is refused
    // (412 on the old ETag), read again, and the watermark says the update is already in.
    const endpoint = parseConnectionString(stack.settings.CosmosDBConnection!).get('accountendpoint')!;
    const seeded = new CosmosDocumentStore(database);
    await seeded.updateMany([increment('lost-answer', 'w', 1, 1)]);
    let lost = 0;
    const { store } = await storeBehind(async (request, body) => {
      if (isBulkWrite(request, body, 'product-stats') && lost++ === 0) {
        const headers = Object.entries(request.headers).filter(
          (entry): entry is [string, string] =>
            typeof entry[1] === 'string' && !['host', 'connection', 'content-length'].includes(entry[0]),
        );
        const delivered = await fetch(new URL(request.url ?? '/', endpoint), {
          method: 'POST',
          headers: Object.fromEntries(headers),
          body,
        });
        expect(delivered.ok).toBe(true);
        return { status: 503 };
      }
      return undefined;
    });
    expect(await store.updateMany([increment('lost-answer', 'w', 2, 5)])).toEqual(['unchanged']);
    expect(await countOf('lost-answer')).toBe(6);
  });

  it('fails, naming the container and document, on a status that retrying cannot fix', async () => {
    const { store } = await storeBehind((request, body) =>
      isBulkWrite(request, body, 'product-stats') ? everyOperation(body, 400) : undefined,
    );
    await expect(store.updateMany([increment('refused', 'w', 1, 1)])).rejects.toThrow(
      'product-stats/refused: Create failed with status 400',
    );
  });

  it('gives up after its attempts when throttling does not pass, naming the document', async () => {
    const { store } = await storeBehind(
      (request, body) =>
        isBulkWrite(request, body, 'product-stats') ? everyOperation(body, 429) : undefined,
      { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } },
    );
    await expect(store.updateMany([increment('always-throttled', 'w', 1, 1)])).rejects.toThrow(
      /product-stats\/always-throttled: Create .*still failing after 3 attempts: status 429/,
    );
  });
});

describe('CosmosDocumentStore.readMany', () => {
  it('reads documents in one bulk request, in the order asked, undefined for those that do not exist', async () => {
    await new CosmosDocumentStore(database).updateMany([
      increment('many-read-a', 'w', 1, 1),
      increment('many-read-b', 'w', 1, 2),
    ]);
    let bulkReads = 0;
    const { store } = await storeBehind((request) => {
      if (isBulkTo(request, 'product-stats')) bulkReads += 1;
      return undefined;
    });
    const documents = await store.readMany<Counter>('productStats', [
      { partitionKey: 'many-read-b', id: 'many-read-b' },
      { partitionKey: 'many-read-none', id: 'many-read-none' },
      { partitionKey: 'many-read-a', id: 'many-read-a' },
    ]);
    expect(documents.map((d) => d?.count)).toEqual([2, undefined, 1]);
    expect(bulkReads).toBe(1);
  });

  it('retries reads the server throttles and answers once they pass', async () => {
    await new CosmosDocumentStore(database).updateMany([increment('many-read-throttled', 'w', 1, 7)]);
    let throttled = 0;
    const { store, proxy } = await storeBehind((request, body) =>
      isBulkTo(request, 'product-stats') && throttled++ < 2
        ? everyOperation(body, 429, { retryAfterMilliseconds: 5 })
        : undefined,
    );
    const [document] = await store.readMany<Counter>('productStats', [
      { partitionKey: 'many-read-throttled', id: 'many-read-throttled' },
    ]);
    expect(document?.count).toBe(7);
    expect(proxy.faults).toBe(2);
  });

  it('fails, naming the container and document, on a status that is neither found nor not found', async () => {
    const { store } = await storeBehind((request, body) =>
      isBulkTo(request, 'product-stats') ? everyOperation(body, 400) : undefined,
    );
    await expect(
      store.readMany('productStats', [{ partitionKey: 'many-read-bad', id: 'many-read-bad' }]),
    ).rejects.toThrow('product-stats/many-read-bad: read failed with status 400');
  });

  it('stops retrying once its signal aborts', async () => {
    const { store } = await storeBehind((request, body) =>
      isBulkTo(request, 'product-stats')
        ? everyOperation(body, 429, { retryAfterMilliseconds: 50 })
        : undefined,
    );
    const gaveUp = AbortSignal.timeout(30);
    await expect(
      store.readMany('productStats', [{ partitionKey: 'many-read-slow', id: 'many-read-slow' }], gaveUp),
    ).rejects.toThrow();
    expect(gaveUp.aborted).toBe(true);
  });
});
