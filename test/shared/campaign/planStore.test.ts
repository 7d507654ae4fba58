import { AddressInfo } from 'node:net';
import { IncomingMessage, Server } from 'node:http';
import { CosmosClient, Database } from '@azure/cosmos';
import { runCampaignBatch } from '../../../shared/campaign/batch';
import {
  CampaignPlanDocument,
  CampaignRunDocument,
  CosmosCampaignPlanStore,
  planDocumentId,
  runDocumentId,
  RUNS_PARTITION_KEY,
} from '../../../shared/campaign/planStore';
import { PlanLead } from '../../../shared/campaign/planner';
import { leadsFromTables } from '../../../shared/campaign/planInput';
import { CampaignScorer } from '../../../shared/campaign/scorer';
import { Fault, FaultProxy, startFaultProxy } from '../../support/faultProxy';
import { trainSmallCampaignModel } from './fixtures';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createHttpServer } = require('@vercel/cosmosdb-server') as { createHttpServer: () => Server };

describe('CosmosCampaignPlanStore and runCampaignBatch on a local Cosmos DB server', () => {
  let server: Server;
  let client: CosmosClient;
  let database: Database;
  let scorer: CampaignScorer;
  let leads: PlanLead[];
  /** 500 leads: five bulk requests of 100. */
  let manyLeads: PlanLead[];
  let endpoint: string;
  const proxies: FaultProxy[] = [];
  const proxyClients: CosmosClient[] = [];
  const containerName = 'campaign-plans';
  const key = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

  beforeAll(async () => {
    server = createHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    endpoint = `http://127.0.0.1:${port}`;
    client = new CosmosClient({ endpoint, key, connectionPolicy: { enableEndpointDiscovery: false } });
    const { database: created } = await client.databases.createIfNotExists({ id: 'nextoffer' });
    database = created;
    await database.containers.createIfNotExists({ id: containerName, partitionKey: { paths: ['/leadId'] } });
    const { bundle, data } = await trainSmallCampaignModel(3000);
    scorer = await CampaignScorer.create(bundle);
    leads = leadsFromTables(bundle.manifest, { ...data.leadTable, rows: data.leadTable.rows.slice(0, 100) });
    manyLeads = leadsFromTables(bundle.manifest, {
      ...data.leadTable,
      rows: data.leadTable.rows.slice(0, 500),
    });
  });

  afterAll(async () => {
    await scorer.close();
    proxyClients.forEach((c) => c.dispose());
    await Promise.all(proxies.map((p) => p.stop()));
    client.dispose();
    await new Promise((resolve) => server.close(resolve));
  });

  const readAll = async () =>
    (
      await database
        .container(containerName)
        .items.query<CampaignPlanDocument>("SELECT * FROM c WHERE c.kind = 'plan'")
        .fetchAll()
    ).resources;
  const plansOf = async (runId: string) => (await readAll()).filter((d) => d.runId === runId);
  const markerOf = async (runId: string) =>
    (
      await database
        .container(containerName)
        .item(runDocumentId(runId), RUNS_PARTITION_KEY)
        .read<CampaignRunDocument>()
    ).resource;

  const isBulk = (request: IncomingMessage) =>
    request.method === 'POST' && request.headers['x-ms-cosmos-is-batch-request'] !== undefined;
  const operationCount = (body: Buffer) => (JSON.parse(body.toString('utf8')) as unknown[]).length;
  /** A bulk answer (HTTP 207) giving every operation of the request `status`. */
  const everyOperation = (body: Buffer, status: number): Fault => ({
    status: 207,
    body: JSON.stringify(Array.from({ length: operationCount(body) }, () => ({ statusCode: status }))),
  });

  /** A store whose requests pass a proxy that may answer some of them itself. */
  async function storeBehind(
    decide: (request: IncomingMessage, body: Buffer) => Fault | undefined,
    attempts = 4,
  ): Promise<{ store: CosmosCampaignPlanStore; proxy: FaultProxy; retries: string[] }> {
    const proxy = await startFaultProxy(endpoint, decide);
    proxies.push(proxy);
    const proxied = new CosmosClient({
      endpoint: proxy.url,
      key,
      connectionPolicy: { enableEndpointDiscovery: false },
    });
    proxyClients.push(proxied);
    const retries: string[] = [];
    const store = new CosmosCampaignPlanStore(proxied.database('nextoffer'), containerName, {
      retry: { attempts, baseDelayMs: 1, maxDelayMs: 10 },
      onRetry: (message) => retries.push(message),
    });
    return { store, proxy, retries };
  }

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

  it('retries a bulk request the service fails (503 on the 3rd of 5): every plan is stored, then the marker', async () => {
    let bulkRequests = 0;
    const { store, proxy, retries } = await storeBehind((request) => {
      if (!isBulk(request)) return undefined;
      bulkRequests += 1;
      return bulkRequests === 3 ? { status: 503 } : undefined;
    });
    const result = await runCampaignBatch({ scorer, leads: manyLeads, store, runId: '2026-12-02' });
    expect(proxy.faults).toBe(1);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatch(/storing 500 plans in campaign-plans: attempt 1 of 4 failed .*status 503/);
    const documents = await plansOf('2026-12-02');
    expect(documents).toHaveLength(500);
    expect(new Set(documents.map((d) => d.plannedAt))).toEqual(new Set([result.plannedAt]));
    expect(await markerOf('2026-12-02')).toMatchObject({
      kind: 'run',
      runId: '2026-12-02',
      modelVersion: scorer.manifest.version,
      plannedAt: result.plannedAt,
      completedAt: result.completedAt,
      leads: 500,
      planned: 500,
      unplanned: 0,
    });
  });

  it('sends again only the operations that failed (503 for some operations of a bulk answer)', async () => {
    let failedOnce = false;
    const sent: number[] = [];
    const { store, proxy } = await storeBehind((request, body) => {
      if (!isBulk(request)) return undefined;
      if (failedOnce) {
        sent.push(operationCount(body));
        return undefined;
      }
      failedOnce = true;
      return everyOperation(body, 503);
    });
    await runCampaignBatch({ scorer, leads: manyLeads.slice(0, 150), store, runId: '2026-12-03' });
    expect(proxy.faults).toBe(1);
    // 150 plans in requests of 100 and 50; the 100 of the failed request went again, the others did not.
    expect(sent.sort((a, b) => a - b)).toEqual([50, 100]);
    expect(await plansOf('2026-12-03')).toHaveLength(150);
    expect(await markerOf('2026-12-03')).toMatchObject({ leads: 150 });
  });

  it('fails a run whose writes keep failing without marking it complete; the previous complete run stays the latest', async () => {
    const healthy = new CosmosCampaignPlanStore(database, containerName);
    await runCampaignBatch({ scorer, leads: manyLeads, store: healthy, runId: '2026-12-04' });
    const before = await markerOf('2026-12-04');
    let bulkRequests = 0;
    const { store } = await storeBehind(
      (request) => (isBulk(request) && ++bulkRequests >= 3 ? { status: 503 } : undefined),
      3,
    );
    // Tomorrow's run fails half-way; a rerun of the completed run does too.
    await expect(runCampaignBatch({ scorer, leads: manyLeads, store, runId: '2026-12-05' })).rejects.toThrow(
      /storing the plans in campaign-plans failed after 3 attempts: \d+ of them failed, the plan of lead '\S+' first: status 503/,
    );
    expect(await markerOf('2026-12-05')).toBeUndefined();
    expect((await plansOf('2026-12-05')).length).toBeLessThan(500);
    bulkRequests = 0;
    await expect(runCampaignBatch({ scorer, leads: manyLeads, store, runId: '2026-12-04' })).rejects.toThrow(
      /failed after 3 attempts/,
    );
    // Its documents are now part old, part new: no longer marked complete.
    expect(before).toBeDefined();
    expect(await markerOf('2026-12-04')).toBeUndefined();
  });

  it('fails at once, naming the lead, on a status retrying cannot fix', async () => {
    const { store, proxy } = await storeBehind((request, body) =>
      isBulk(request) ? everyOperation(body, 400) : undefined,
    );
    await expect(
      runCampaignBatch({ scorer, leads: leads.slice(0, 3), store, runId: '2026-12-06' }),
    ).rejects.toThrow(`storing the plan of lead '${leads[0]!.leadId}' in campaign-plans failed: status 400`);
    expect(proxy.faults).toBe(1);
    expect(await markerOf('2026-12-06')).toBeUndefined();
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
    expect(await markerOf('2026-02-01')).toBeUndefined();
  });

  it('escapes characters Cosmos ids may not hold', () => {
    expect(planDocumentId('a/b?c#d', 'run')).toBe('run|a%2fb%3fc%23d');
  });
});
