import { CosmosClient, Database } from '@azure/cosmos';
import { InvocationContext } from '@azure/functions';
import { mkdtemp, rm } from 'node:fs/promises';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBundle } from '../../shared/campaign/bundle';
import { listRegistrations, runShutdownHooks } from '../../shared/hosting/registry';
import { trainSmallCampaignModel, writeMappedBatchFiles } from '../shared/campaign/fixtures';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createHttpServer } = require('@vercel/cosmosdb-server') as { createHttpServer: () => Server };

/**
 * The campaignBatchPlan timer as registered (functions/campaignBatchPlan.ts), planning for a model trained
 * with campaigns and products from files named by its settings, with their column mapping and delimiter,
 * into a local Cosmos DB server.
 */

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

const key = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';
let server: Server;
let client: CosmosClient;
let database: Database;
let dir: string;

beforeAll(async () => {
  server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new CosmosClient({
    endpoint: `http://127.0.0.1:${port}`,
    key,
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  ({ database } = await client.databases.createIfNotExists({ id: 'campaign-timer' }));
  await database.containers.createIfNotExists({ id: 'campaign-plans', partitionKey: { paths: ['/leadId'] } });

  dir = await mkdtemp(join(tmpdir(), 'campaign-timer-'));
  const { bundle } = await trainSmallCampaignModel(1500, { joined: true });
  await writeBundle(join(dir, 'model'), bundle);
  const batchFiles = await writeMappedBatchFiles(
    dir,
    'Kunde;Age;Annual_Income;Segment;Region;Credit_Score;Kampagne\n' +
      'K1;37;54072;professional;West;537;C3\nK2;55;72199;retired;North;693;\n',
  );

  Object.assign(process.env, {
    // Parsed at startup but not used by this function.
    EventHubConnection: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=n;SharedAccessKey=k',
    EVENTHUB_NAME: 'clickstream',
    ArchiveStorage:
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;',
    RedisConnection: 'redis://127.0.0.1:1',
    CosmosDBConnection: `AccountEndpoint=http://127.0.0.1:${port}/;AccountKey=${key};`,
    COSMOS_DATABASE: 'campaign-timer',
    CAMPAIGN_MODEL_DIR: join(dir, 'model'),
    CAMPAIGN_BATCH_SCHEDULE: '0 15 3 * * *',
    ...batchFiles,
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(join(__dirname, '../../functions/campaignBatchPlan.ts'));
});

afterAll(async () => {
  await runShutdownHooks();
  client.dispose();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('campaignBatchPlan', () => {
  it('plans every lead with the campaigns, products and column mapping of its settings and stores the plans', async () => {
    const registration = listRegistrations().find((r) => r.name === 'campaignBatchPlan');
    if (registration?.kind !== 'timer') throw new Error('campaignBatchPlan is not a registered timer');
    expect(registration.options.schedule).toBe('0 15 3 * * *');
    // A run that fails (a Cosmos DB outage outlasting the store's own retries) runs again.
    expect(registration.options.retry).toEqual({
      strategy: 'exponentialBackoff',
      maxRetryCount: 4,
      minimumInterval: { minutes: 2 },
      maximumInterval: { minutes: 16 },
    });

    const logs: string[] = [];
    const context = new InvocationContext({
      functionName: 'campaignBatchPlan',
      logHandler: (_level, ...args) => logs.push(args.join(' ')),
    });
    await registration.options.handler({ isPastDue: false } as never, context);
    expect(logs.at(-1)).toContain('2 planned, 0 without a plan; complete at');

    const { resources } = await database
      .container('campaign-plans')
      .items.query<{ kind: string; leadId: string; channel: string; lastChannel: string; runId: string }>(
        'SELECT * FROM c',
      )
      .fetchAll();
    const plans = resources.filter((d) => d.kind === 'plan');
    expect(plans.map((d) => [d.leadId, typeof d.channel, d.lastChannel]).sort()).toEqual([
      ['K1', 'string', 'Email'],
      ['K2', 'string', 'SMS'],
    ]);
    // Marked complete last: readers take the latest complete run.
    const runs = resources.filter((d) => d.kind === 'run');
    expect(runs).toEqual([
      expect.objectContaining({
        runId: plans[0]!.runId,
        status: 'complete',
        leads: 2,
        planned: 2,
        completedAt: expect.any(String) as unknown,
      }),
    ]);
  });
});
