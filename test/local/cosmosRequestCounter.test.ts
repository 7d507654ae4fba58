import { CosmosClient, Database } from '@azure/cosmos';
import { CosmosRequestCounter, startCosmosRequestCounter } from '../../local/cosmosRequestCounter';
import { parseConnectionString } from '../../shared/config/settings';
import { createCosmosClient } from '../../shared/runtime/clients';
import { provisionCosmos } from '../../shared/runtime/provisioning';
import { startTestStack, TestStack } from '../support/localStack';

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

let stack: TestStack;
let counter: CosmosRequestCounter;
let client: CosmosClient;
let database: Database;

beforeAll(async () => {
  stack = await startTestStack();
  counter = await startCosmosRequestCounter(
    parseConnectionString(stack.settings.CosmosDBConnection!).get('accountendpoint')!,
  );
  client = createCosmosClient({ kind: 'connectionString', endpoint: counter.url, key: 'a2V5' });
  database = client.database('counted');
  await provisionCosmos(database);
});

afterAll(async () => {
  client.dispose();
  await counter.stop();
  await stack.stop();
});

describe('the Cosmos request counter', () => {
  it('counts point writes and reads, queries, and bulk requests by what they carry', async () => {
    const items = database.container('product-stats').items;
    await items.create({ id: 'p1', productId: 'p1' }); // warm the client's metadata caches
    counter.reset();

    await items.create({ id: 'p2', productId: 'p2' });
    await items.upsert({ id: 'p2', productId: 'p2', views: 1 });
    await database.container('product-stats').item('p2', 'p2').read();
    await items.query('SELECT * FROM c').fetchAll();
    await items.bulk([
      { operationType: 'Read', id: 'p1', partitionKey: 'p1' },
      { operationType: 'Read', id: 'p2', partitionKey: 'p2' },
    ]);
    await items.bulk([
      { operationType: 'Create', partitionKey: 'p3', resourceBody: { id: 'p3', productId: 'p3' } },
      { operationType: 'Create', partitionKey: 'p1', resourceBody: { id: 'p1', productId: 'p1' } }, // 409
      { operationType: 'Read', id: 'p2', partitionKey: 'p2' },
    ]);

    expect(counter.counts()).toEqual({
      writeRequests: 3, // create, upsert, the bulk request with writes
      documentWrites: 4, // create, upsert, two bulk Creates (the refused one was sent all the same)
      readRequests: expect.any(Number) as number,
      documentReads: 3, // the point read and the two of the read-only bulk request
      writeRequestsByContainer: { 'product-stats': 3 },
    });
    expect(counter.counts().readRequests).toBeGreaterThanOrEqual(3); // point read, query (1+), bulk read
  });
});
