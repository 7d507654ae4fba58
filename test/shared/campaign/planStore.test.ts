import { AddressInfo } from 'node:net';
import { Server } from 'node:http';
import { CosmosClient, Database } from '@azure/cosmos';
import { runCampaignBatch } from '../../../shared/campaign/batch';
import {
  CampaignPlanDocument,
  CosmosCampaignPlanStore,
  planDocumentId,
} from '../../../shared/campaign/planStore';
import { PlanLead } from '../../../shared/campaign/planner';
import { leadsFromTables } from '../../../shared/campaign/planInput';
import { CampaignScorer } from '../../../shared/campaign/scorer';
import { trainSmallCampaignModel } from './fixtures';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createHttpServer } = require('@vercel/cosmosdb-server') as { createHttpServer: () => Server };

describe('CosmosCampaignPlanStore and runCampaignBatch on a local Cosmos DB server', () => {
  let server: Server;
  let client: CosmosClient;
  let database: Database;
  let scorer: CampaignScorer;
  let leads: PlanLead[];
  const containerName = 'campaign-plans';

  beforeAll(async () => {
    server = createHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new CosmosClient({
      endpoint: `http://127.0.0.1:${port}`,
      key: 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==',
      connectionPolicy: { enableEndpointDiscovery: false },
    });
    const { database: created } = await client.databases.createIfNotExists({ id: 'nextoffer' });
    database = created;
    await database.containers.createIfNotExists({ id: containerName, partitionKey: { paths: ['/leadId'] } });
    const { bundle, data } = await trainSmallCampaignModel(3000);
    scorer = await CampaignScorer.create(bundle);
    leads = leadsFromTables(bundle.manifest, { ...data.leadTable, rows: data.leadTable.rows.slice(0, 100) });
  });

  afterAll(async () => {
    await scorer.close();
    client.dispose();
    await new Promise((resolve) => server.close(resolve));
  });

  const readAll = async () =>
    (await database.container(containerName).items.query<CampaignPlanDocument>('SELECT * FROM c').fetchAll())
      .resources;

  it('writes one document per lead and run; rerunning the run overwrites instead of duplicating', async () => {
    const store = new CosmosCampaignPlanStore(database, containerName);
    const first = await runCampaignBatch({ scorer, leads, store, runId: '2026-01-05' });
    expect(first).toMatchObject({
      runId: '2026-01-05',
      leads: 100,
      planned: 100,
      unplanned: 0,
      modelVersion: scorer.manifest.version,
    });
    const again = await runCampaignBatch({ scorer, leads, store, runId: '2026-01-05' });
    expect(again.planned).toBe(100);
    let documents = await readAll();
    expect(documents).toHaveLength(100);
    const one = documents.find((d) => d.leadId === leads[0]!.leadId)!;
    expect(one.id).toBe(planDocumentId(leads[0]!.leadId, '2026-01-05'));
    expect(one.channel).toEqual(expect.any(String));
    expect(one.probability).toBeGreaterThan(0);
    expect(one.runnerUpProbability!).toBeLessThanOrEqual(one.probability!);

    await runCampaignBatch({ scorer, leads: leads.slice(0, 10), store, runId: '2026-01-06' });
    documents = await readAll();
    expect(documents).toHaveLength(110);
  });

  it('writes nothing when any lead is invalid', async () => {
    const store = new CosmosCampaignPlanStore(database, containerName);
    const bad: PlanLead = {
      leadId: 'broken',
      attributes: { Age: 'not a number' },
      origin: { source: 'leads.csv', line: 9 },
    };
    await expect(
      runCampaignBatch({ scorer, leads: [...leads.slice(0, 5), bad], store, runId: '2026-02-01' }),
    ).rejects.toThrow("leads.csv, line 9, column 'Age': 'not a number' is not a number");
    const documents = await readAll();
    expect(documents.filter((d) => d.runId === '2026-02-01')).toHaveLength(0);
  });

  it('escapes characters Cosmos ids may not hold', () => {
    expect(planDocumentId('a/b?c#d', 'run')).toBe('run|a%2fb%3fc%23d');
  });
});
