import { AddressInfo } from 'node:net';
import { IncomingMessage, Server } from 'node:http';
import { CosmosClient, Database } from '@azure/cosmos';
import { RunInProgressError, runCampaignBatch } from '../../../shared/campaign/batch';
import {
  CampaignPlanDocument,
  CampaignPlanStore,
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
  const everyOperation = (body: Buffer, status: number, extra: Record<string, unknown> = {}): Fault => ({
    status: 207,
    body: JSON.stringify(
      Array.from({ length: operationCount(body) }, () => ({ statusCode: status, ...extra })),
    ),
  });

  /**
   * A store whose requests pass a proxy that may answer some of them itself. `sdkThrottleRetries: 0` turns
   * off the SDK's own retries of throttled operations (9 by default), so that the store's are seen at once.
   */
  async function storeBehind(
    decide: (request: IncomingMessage, body: Buffer) => Fault | undefined,
    attempts = 4,
    sdkThrottleRetries?: number,
  ): Promise<{ store: CosmosCampaignPlanStore; proxy: FaultProxy; retries: string[] }> {
    const proxy = await startFaultProxy(endpoint, decide);
    proxies.push(proxy);
    const proxied = new CosmosClient({
      endpoint: proxy.url,
      key,
      connectionPolicy: {
        enableEndpointDiscovery: false,
        ...(sdkThrottleRetries === undefined
          ? {}
          : { retryOptions: { maxRetryAttemptCount: sdkThrottleRetries } }),
      },
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
    expect(retries[0]).toMatch(
      /^storing 500 plans in campaign-plans: attempt 1 of 4 failed for 100 of them \(.*503.*\); retrying in \d+ ms$/,
    );
    const documents = await plansOf('2026-12-02');
    expect(documents).toHaveLength(500);
    expect(new Set(documents.map((d) => d.plannedAt))).toEqual(new Set([result.plannedAt]));
    expect(await markerOf('2026-12-02')).toMatchObject({
      kind: 'run',
      status: 'complete',
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
      /^storing the plans in campaign-plans failed: campaign-plans\/2026-12-05\|\S+: Upsert \(and \d+ more operations\) still failing after 3 attempts: status 503/,
    );
    expect(await markerOf('2026-12-05')).toMatchObject({ status: 'failed', completedAt: null });
    expect((await plansOf('2026-12-05')).length).toBeLessThan(500);
    bulkRequests = 0;
    await expect(runCampaignBatch({ scorer, leads: manyLeads, store, runId: '2026-12-04' })).rejects.toThrow(
      /still failing after 3 attempts/,
    );
    // Its documents are now part old, part new: no longer marked complete.
    expect(before).toMatchObject({ status: 'complete' });
    expect(await markerOf('2026-12-04')).toMatchObject({ status: 'failed' });
  });

  it('fails at once, naming the lead, on a status retrying cannot fix', async () => {
    const { store, proxy } = await storeBehind((request, body) =>
      isBulk(request) ? everyOperation(body, 400) : undefined,
    );
    await expect(
      runCampaignBatch({ scorer, leads: leads.slice(0, 3), store, runId: '2026-12-06' }),
    ).rejects.toThrow(`storing the plan of lead '${leads[0]!.leadId}' in campaign-plans failed: status 400`);
    expect(proxy.faults).toBe(1);
    expect(await markerOf('2026-12-06')).toMatchObject({ status: 'failed' });
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

  /** A fresh container, so that "the latest complete run" is this test's. */
  async function freshContainer(id: string) {
    await database.containers.createIfNotExists({ id, partitionKey: { paths: ['/leadId'] } });
    return database.container(id);
  }

  /** What Power BI reads (docs/powerbi.md): the latest complete run, and exactly the plans it wrote. */
  async function documentedLatest(id: string) {
    const container = database.container(id);
    const { resources: runs } = await container.items
      .query<{ runId: string; plannedAt: string }>(
        "SELECT TOP 1 c.runId, c.plannedAt FROM c WHERE c.leadId = '(runs)' AND c.kind = 'run' AND c.status = 'complete' ORDER BY c.completedAt DESC",
      )
      .fetchAll();
    const latest = runs[0];
    if (latest === undefined) return undefined;
    const { resources: plans } = await container.items
      .query<CampaignPlanDocument>({
        query: "SELECT * FROM c WHERE c.kind = 'plan' AND c.runId = @runId AND c.plannedAt = @plannedAt",
        parameters: [
          { name: '@runId', value: latest.runId },
          { name: '@plannedAt', value: latest.plannedAt },
        ],
      })
      .fetchAll();
    return { ...latest, plans: plans.length };
  }

  /**
   * A store whose upserts after the first `free` wait until `open` is called (or their signal aborts), as a
   * slow write would: `blocked` resolves when one is waiting.
   */
  function gated(store: CampaignPlanStore, free = 1) {
    let calls = 0;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    let reached!: () => void;
    const blocked = new Promise<void>((resolve) => (reached = resolve));
    const wrapped: CampaignPlanStore = {
      readRun: (runId, options) => store.readRun(runId, options),
      writeRun: (run, eTag, options) => store.writeRun(run, eTag, options),
      upsert: async (documents, options) => {
        if (++calls > free) {
          reached();
          const signal = options?.signal;
          await Promise.race([
            opened,
            new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true })),
          ]);
        }
        return store.upsert(documents, options);
      },
    };
    return { store: wrapped, open, blocked };
  }

  const quickLease = { renewMs: 30, fenceMs: 600, takeoverMs: 1000 };

  it('refuses a second attempt of a run id while the first writes it; the complete run has all its plans', async () => {
    // The timer and `campaign batch` both default to the UTC date as the run id.
    const id = 'plans-concurrent';
    await freshContainer(id);
    const base = new CosmosCampaignPlanStore(database, id);
    const first = gated(base);
    const a = runCampaignBatch({
      scorer,
      leads: leads.slice(0, 50),
      store: first.store,
      runId: '2026-03-01',
      chunkSize: 20,
      lease: quickLease,
    });
    await first.blocked; // 20 plans written, 30 to go
    const progress: string[] = [];
    const b = runCampaignBatch({
      scorer,
      leads: leads.slice(0, 30),
      store: base,
      runId: '2026-03-01',
      lease: quickLease,
      progress: (message) => progress.push(message),
    });
    await expect(b).rejects.toThrow(RunInProgressError);
    await expect(b).rejects.toThrow(
      /^run 2026-03-01 is being written by another attempt that began at \S+; try again once it has finished, or give this run another id \(--run-id\)$/,
    );
    expect(progress.join('\n')).toContain('is marked as being written by an attempt that began at');
    first.open();
    const result = await a;
    expect(await documentedLatest(id)).toEqual({
      runId: '2026-03-01',
      plannedAt: result.plannedAt,
      plans: 50,
    });
    const marker = (await base.readRun('2026-03-01'))!.run;
    expect(marker).toMatchObject({ status: 'complete', plannedAt: result.plannedAt, leads: 50 });
  });

  it('takes over a run id whose attempt is gone (its marker still running, never renewed)', async () => {
    const id = 'plans-takeover';
    const container = await freshContainer(id);
    const store = new CosmosCampaignPlanStore(database, id);
    // An attempt that crashed half-way: its marker says running, and nobody renews it.
    await container.items.create<CampaignRunDocument>({
      id: runDocumentId('2026-03-02'),
      kind: 'run',
      leadId: RUNS_PARTITION_KEY,
      runId: '2026-03-02',
      status: 'running',
      modelVersion: 'm',
      plannedAt: '2026-03-02T02:30:00.000Z',
      renewedAt: '2026-03-02T02:30:00.000Z',
      completedAt: null,
      leads: 1,
      planned: 1,
      unplanned: 0,
    });
    const progress: string[] = [];
    const started = performance.now();
    const result = await runCampaignBatch({
      scorer,
      leads: leads.slice(0, 10),
      store,
      runId: '2026-03-02',
      lease: quickLease,
      progress: (message) => progress.push(message),
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(quickLease.takeoverMs);
    expect(progress).toContain(
      'run 2026-03-02: the attempt that began at 2026-03-02T02:30:00.000Z is gone; taking the run over',
    );
    expect(await documentedLatest(id)).toEqual({
      runId: '2026-03-02',
      plannedAt: result.plannedAt,
      plans: 10,
    });
  });

  it('stops writing and does not mark the run complete once another attempt has taken the run id over', async () => {
    const id = 'plans-superseded';
    const container = await freshContainer(id);
    const base = new CosmosCampaignPlanStore(database, id);
    const first = gated(base);
    const a = runCampaignBatch({
      scorer,
      leads: leads.slice(0, 50),
      store: first.store,
      runId: '2026-03-03',
      chunkSize: 20,
      lease: quickLease,
    });
    await first.blocked;
    // Another attempt takes the run id over (as it would once this one looked gone).
    const { run } = (await base.readRun('2026-03-03'))!;
    const other = { ...run, plannedAt: '2026-03-03T09:00:00.000Z' };
    await container.item(run.id, RUNS_PARTITION_KEY).replace(other);
    await expect(a).rejects.toThrow(
      'run 2026-03-03 was superseded by another run of 2026-03-03 that began at 2026-03-03T09:00:00.000Z: ' +
        'this attempt stopped writing and did not mark it complete',
    );
    first.open();
    // Only the first 20 plans went out; the marker is the other attempt's, untouched.
    const ours = (await container.items.readAll<CampaignPlanDocument>().fetchAll()).resources.filter(
      (d) => d.kind === 'plan' && d.plannedAt === run.plannedAt,
    );
    expect(ours).toHaveLength(20);
    expect((await base.readRun('2026-03-03'))!.run).toMatchObject({
      status: 'running',
      plannedAt: '2026-03-03T09:00:00.000Z',
    });
  });

  it('stops writing once it cannot renew its lease for the fence time', async () => {
    const id = 'plans-fenced';
    await freshContainer(id);
    const base = new CosmosCampaignPlanStore(database, id);
    const first = gated(base);
    let cutOff = false;
    const store: CampaignPlanStore = {
      ...first.store,
      writeRun: (run, eTag, options) =>
        cutOff
          ? Promise.reject(Object.assign(new Error('503'), { code: 503 }))
          : base.writeRun(run, eTag, options),
    };
    const a = runCampaignBatch({
      scorer,
      leads: leads.slice(0, 50),
      store,
      runId: '2026-03-04',
      chunkSize: 20,
      lease: quickLease,
    });
    await first.blocked;
    cutOff = true;
    await expect(a).rejects.toThrow(
      'run 2026-03-04: the lease could not be renewed for 0.6 s, so this attempt stopped writing (another may take the run over) and did not mark it complete',
    );
    first.open();
    expect((await base.readRun('2026-03-04'))!.run.status).toBe('running');
    expect(await documentedLatest(id)).toBeUndefined();
  });

  it('counts the fence from when the marker was sent, not from a late answer', async () => {
    // The marker is stored at once but its answer comes after the fence time: another attempt may already
    // count towards taking the run over, so this one must not write a single plan.
    const id = 'plans-late-answer';
    await freshContainer(id);
    const base = new CosmosCampaignPlanStore(database, id);
    let first = true;
    const store: CampaignPlanStore = {
      ...base,
      readRun: (runId, options) => base.readRun(runId, options),
      upsert: (documents, options) => base.upsert(documents, options),
      writeRun: async (run, eTag, options) => {
        const written = await base.writeRun(run, eTag, options);
        if (first) {
          first = false;
          await new Promise((resolve) => setTimeout(resolve, quickLease.fenceMs + 100));
        }
        return written;
      },
    };
    await expect(
      runCampaignBatch({ scorer, leads: leads.slice(0, 50), store, runId: '2026-03-05', lease: quickLease }),
    ).rejects.toThrow('run 2026-03-05: the lease could not be renewed for 0.6 s');
    expect(await documentedLatest(id)).toBeUndefined();
  });

  it("shares one retry budget among all the run's writes", async () => {
    // Every bulk request is throttled once (429, retry after 60 ms): three rounds of 100 plans wait 60 ms
    // each. Within 100 ms in all, the third round's throttling fails the run; each round alone is well
    // within it.
    const throttle = () => {
      const seen = new Set<string>();
      return (request: IncomingMessage, body: Buffer): Fault | undefined => {
        if (!isBulk(request)) return undefined;
        const key = body.toString('utf8');
        if (seen.has(key)) return undefined;
        seen.add(key);
        return everyOperation(body, 429, { retryAfterMilliseconds: 60 });
      };
    };
    const run = async (runId: string, retryBudgetMs: number) => {
      const { store } = await storeBehind(throttle(), 100, 0);
      const some = manyLeads.slice(0, 300);
      return runCampaignBatch({ scorer, leads: some, store, runId, chunkSize: 100, retryBudgetMs });
    };
    await expect(run('2026-03-05', 100)).rejects.toThrow(
      /still failing after 1 attempts \(the time for retries is spent\): status 429/,
    );
    expect(await markerOf('2026-03-05')).toMatchObject({ status: 'failed' });
    expect((await plansOf('2026-03-05')).length).toBe(200);
    const result = await run('2026-03-06', 1000);
    expect(result.leads).toBe(300);
    expect(await markerOf('2026-03-06')).toMatchObject({ status: 'complete' });
  });

  it("waits the server's retry-after before sending throttled plans again", async () => {
    // Longer than the second executeBulkOperations waits for more operations before it sends a batch.
    const sent: number[] = [];
    const { store } = await storeBehind(
      (request, body) => {
        if (!isBulk(request)) return undefined;
        sent.push(performance.now());
        return sent.length === 1 ? everyOperation(body, 429, { retryAfterMilliseconds: 1500 }) : undefined;
      },
      4,
      0,
    );
    await runCampaignBatch({ scorer, leads: leads.slice(0, 10), store, runId: '2026-03-07' });
    expect(sent).toHaveLength(2);
    expect(sent[1]! - sent[0]!).toBeGreaterThanOrEqual(1500);
    expect(await plansOf('2026-03-07')).toHaveLength(10);
  });

  it('escapes characters Cosmos ids may not hold', () => {
    expect(planDocumentId('a/b?c#d', 'run')).toBe('run|a%2fb%3fc%23d');
  });
});
