import { CosmosClient, Database } from '@azure/cosmos';
import { ContainerClient } from '@azure/storage-blob';
import { join } from 'node:path';
import { FunctionsHost, loadFunctionModules, startFunctionsHost } from '../local/host';
import { readHostJson } from '../local/hostJson';
import { startCosmosRequestCounter, CosmosRequestCounter } from '../local/cosmosRequestCounter';
import { COSMOS_EMULATOR_KEY, startLocalStack } from '../local/stack';
import { aggregateBatch, planDocumentWork } from '../shared/aggregation/aggregateBatch';
import { UserProfile } from '../shared/aggregation/documents';
import { SequencedEvent } from '../shared/aggregation/triggerBatch';
import { BlobEventArchive } from '../shared/archive/eventArchive';
import { getSettings } from '../shared/config/settings';
import { CosmosDocumentStore } from '../shared/cosmos/documentStore';
import { createBlobServiceClient, createCosmosClient } from '../shared/runtime/clients';
import { provisionCosmos, provisionResources } from '../shared/runtime/provisioning';
import { cosmosContainers } from '../shared/runtime/cosmosContainers';
import { runLoad } from './support/loadGenerator';
import { packageRoot, formatTable, ratio, round, summarize, writeResults } from './support/stats';
import { defaultShape, generateStream, triggerBatches } from './support/syntheticStream';

/**
 * bench:aggregate — (a) events/s through aggregateBatch into the local Cosmos DB and Blob, fed batches
 * shaped like the trigger's; (b) Cosmos write requests, counted on the wire by a proxy in front of the
 * Cosmos server, against one write per event (the issue's baseline) and one write per event per
 * document; (c) end-to-end latency from POST /api/events to the aggregate visible in Cosmos, through the
 * local host with every function. Floor: raw Cosmos point upserts on the same server, through the same
 * proxy.
 */

/**
 * Writes per 1,000 events barely move between 4,000 and 20,000 events (checked for the per-document
 * design); 4,000 keeps the figures comparable with the earlier runs in docs/benchmarks.md.
 */
const EVENTS = 4_000;
const BATCH_SIZES = [100, 500, 1000];
const PARTITIONS = 4;
/**
 * The floor's concurrency: what the per-document design (16 document updates in flight per batch × one
 * invocation per partition) had, kept so the floor compares with earlier runs.
 */
const WRITE_CONCURRENCY = 16 * PARTITIONS;
const FLOOR_MS = 3_000;
const PROBES = 200;
const PROBE_INTERVAL_MS = 200;
/** Polling faster would load the local Cosmos server more than the pipeline under test does. */
const POLL_MS = 100;
/** Well below the consumer's capacity on the local Cosmos server, so latency is not queueing. */
const BACKGROUND_RPS = 10;

const progress = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Point upserts of small documents for FLOOR_MS at WRITE_CONCURRENCY: what the server does per write. */
async function pointWriteFloor(database: Database): Promise<number> {
  const container = database.container(cosmosContainers.productStats.id);
  const stopAt = performance.now() + FLOOR_MS;
  let writes = 0;
  await Promise.all(
    Array.from({ length: WRITE_CONCURRENCY }, async (_, worker) => {
      for (let i = 0; performance.now() < stopAt; i++) {
        const id = `floor-${worker}-${i % 50}`;
        await container.items.upsert({ id, productId: id, views: i });
        writes += 1;
      }
    }),
  );
  return writes / (FLOOR_MS / 1000);
}

interface AggregationRun {
  batchSize: number;
  events: number;
  batches: number;
  elapsedMs: number;
  /** Counted by the proxy: requests that write (bulk requests with a write operation count once). */
  writeRequests: number;
  /** Counted by the proxy: documents written (Create/Replace operations sent, conflicts included). */
  documentWrites: number;
  readRequests: number;
  writeRequestsByContainer: Record<string, number>;
  /** Reported by aggregateBatch: documents that changed. */
  documentsWritten: number;
}

/** Feeds the stream partition by partition, one batch in flight per partition, as the host does. */
async function aggregateStream(
  cosmos: CosmosClient,
  counter: CosmosRequestCounter,
  databaseId: string,
  archive: BlobEventArchive,
  stream: readonly SequencedEvent[],
  batchSize: number,
): Promise<AggregationRun> {
  const database = cosmos.database(databaseId);
  await provisionCosmos(database);
  const store = new CosmosDocumentStore(database);
  const partitions = triggerBatches(stream, batchSize, 'clickstream');
  counter.reset();
  let documentsWritten = 0;
  let batches = 0;
  const started = performance.now();
  await Promise.all(
    [...partitions.values()].map(async (list) => {
      for (const batch of list) {
        const result = await aggregateBatch(batch, store, archive);
        documentsWritten += result.documentsWritten;
        batches += 1;
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const counts = counter.counts();
  return {
    batchSize,
    events: stream.length,
    batches,
    elapsedMs,
    writeRequests: counts.writeRequests,
    documentWrites: counts.documentWrites,
    readRequests: counts.readRequests,
    writeRequestsByContainer: counts.writeRequestsByContainer,
    documentsWritten,
  };
}

/** POSTs one event per probe user and polls its profile until the event is counted. */
async function endToEndLatency(host: FunctionsHost, database: Database): Promise<number[]> {
  const profiles = database.container(cosmosContainers.userProfiles.id);
  const post = (userId: string) =>
    fetch(`${host.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'product_view', userId, productId: 'product-1', category: 'category-1' }),
    });
  const probe = async (userId: string): Promise<number> => {
    const started = performance.now();
    const response = await post(userId);
    if (response.status !== 202) throw new Error(`probe ${userId}: POST answered ${response.status}`);
    for (;;) {
      const { resource } = await profiles.item(userId, userId).read<UserProfile>();
      if ((resource?.eventCounts.product_view ?? 0) >= 1) return performance.now() - started;
      if (performance.now() - started > 60_000) throw new Error(`probe ${userId}: not visible after 60 s`);
      await sleep(POLL_MS);
    }
  };
  // Warm-up: one probe per partition, so every partition is owned and its receiver is running.
  const run = Date.now().toString(36);
  await Promise.all(Array.from({ length: 8 }, (_, i) => probe(`warmup-${run}-${i}`)));
  const probes: Array<Promise<number>> = [];
  for (let i = 0; i < PROBES; i++) {
    probes.push(probe(`probe-${run}-${i}`));
    await sleep(PROBE_INTERVAL_MS);
  }
  return Promise.all(probes);
}

async function main(): Promise<void> {
  progress('bench:aggregate: starting the local stack');
  const stack = await startLocalStack({
    env: { PATH: process.env.PATH, EVENTHUB_NAME: 'clickstream' },
    partitionCount: PARTITIONS,
  });
  Object.assign(process.env, stack.settings, {
    // Timers that would fire during the run only add noise to the latency figures.
    AFFINITY_RETRAIN_SCHEDULE: '0 0 0 1 1 *',
    CAMPAIGN_BATCH_SCHEDULE: '0 0 0 1 1 *',
  });
  const settings = getSettings();
  const cosmos = createCosmosClient(settings.cosmos.connection);
  // The aggregation runs and the floor reach Cosmos through a counting proxy: write requests are counted
  // as the service sees them, not as the client thinks it sent them. The end-to-end part goes direct.
  const counter = await startCosmosRequestCounter(settings.cosmos.connection.endpoint);
  const counted = createCosmosClient({
    kind: 'connectionString',
    endpoint: counter.url,
    key: COSMOS_EMULATOR_KEY,
  });
  let host: FunctionsHost | undefined;
  try {
    await provisionResources(settings);
    const blob = createBlobServiceClient(settings.archive.connection);
    const containers = ['bench-raw', 'bench-deadletter'].map((name) => blob.getContainerClient(name));
    await Promise.all(containers.map((c) => c.createIfNotExists()));
    const archive = new BlobEventArchive(...(containers as [ContainerClient, ContainerClient]));

    progress(`  floor: Cosmos point upserts at concurrency ${WRITE_CONCURRENCY} for ${FLOOR_MS} ms`);
    const floorDatabase = counted.database('bench-floor');
    await provisionCosmos(floorDatabase);
    const floorWritesPerS = await pointWriteFloor(floorDatabase);

    const stream = generateStream({ ...defaultShape, events: EVENTS, partitions: PARTITIONS });
    const naivePerEvent = stream.length;
    // One write per event per aggregate document it touches: the profile, the product or offer, two roll-ups.
    const naivePerDocument = stream.reduce((sum, e) => sum + planDocumentWork([e]).length, 0);

    const runs: AggregationRun[] = [];
    for (const batchSize of BATCH_SIZES) {
      progress(`  aggregate ${stream.length} events in batches of ${batchSize} per partition`);
      runs.push(await aggregateStream(counted, counter, `bench-b${batchSize}`, archive, stream, batchSize));
    }

    progress('  end to end: all functions in the local host');
    const warn = console.warn;
    console.warn = () => undefined; // @azure/functions' "test mode" notice at each registration
    loadFunctionModules(join(__dirname, '..', 'functions'));
    console.warn = warn;
    const hostJson = readHostJson(join(packageRoot(), 'host.json'));
    host = await startFunctionsHost({
      port: 0,
      hostJson,
      log: () => undefined,
      // One host owns every partition at once instead of claiming one per 10 s cycle.
      eventHubLoadBalancing: { strategy: 'greedy', updateIntervalInMs: 1000 },
    });
    const background = runLoad({
      url: `${host.url}/api/events`,
      bodies: Array.from({ length: 500 }, (_, i) =>
        JSON.stringify({ type: 'product_view', userId: `bg-${i}`, productId: `product-${i % 1000}` }),
      ),
      concurrency: 8,
      warmupMs: 0,
      durationMs: PROBES * PROBE_INTERVAL_MS + 20_000,
      ratePerSecond: BACKGROUND_RPS,
    });
    const latencies = await endToEndLatency(host, cosmos.database(settings.cosmos.database));
    const e2e = summarize(latencies);
    progress('  waiting for the background load to finish');
    const backgroundResult = await background;

    const main = runs.find((r) => r.batchSize === hostJson.eventHubs.maxEventBatchSize) ?? runs[0];
    if (!main) throw new Error('no aggregation run');
    const eventsPerS = (r: AggregationRun) => r.events / (r.elapsedMs / 1000);

    const perThousandEvents = (count: number) => (count * 1000) / stream.length;
    process.stdout.write(
      `${formatTable(
        [
          'batch size',
          'events/s',
          'events/s ÷ point writes/s',
          'write requests per 1,000 events',
          'documents written per 1,000 events',
          'read requests per 1,000 events',
          'reduction vs 1 write/event (write_reduction)',
          'document writes: reduction vs 1 write/event/document',
        ],
        [
          ['floor: point upserts/s', floorWritesPerS, '1.00×', '', '', '', '', ''],
          ['naive: 1 write/event', '', '', perThousandEvents(naivePerEvent), '', '', '1.00×', ''],
          [
            'naive: 1 write/event/document',
            '',
            '',
            perThousandEvents(naivePerDocument),
            perThousandEvents(naivePerDocument),
            '',
            '',
            '1.00×',
          ],
          ...runs.map((r) => [
            String(r.batchSize),
            eventsPerS(r),
            `${ratio(eventsPerS(r), floorWritesPerS).toFixed(2)}×`,
            perThousandEvents(r.writeRequests),
            perThousandEvents(r.documentWrites),
            perThousandEvents(r.readRequests),
            `${ratio(naivePerEvent, r.writeRequests).toFixed(2)}×`,
            `${ratio(naivePerDocument, r.documentWrites).toFixed(2)}×`,
          ]),
        ],
      )}\n\n`,
    );
    progress(
      runs
        .map(
          (r) =>
            `  batch ${r.batchSize}: write requests by container ${JSON.stringify(r.writeRequestsByContainer)}, ` +
            `${r.batches} batches, ${r.documentsWritten} documents changed`,
        )
        .join('\n'),
    );
    const maxWait = hostJson.eventHubs.maxWaitTimeMs;
    process.stdout.write(
      `${formatTable(
        ['end to end (POST → profile updated)', 'ms', '× maxWaitTime'],
        [
          ['p50', e2e.p50, `${ratio(e2e.p50, maxWait).toFixed(2)}×`],
          ['p90', e2e.p90, `${ratio(e2e.p90, maxWait).toFixed(2)}×`],
          ['p99', e2e.p99, `${ratio(e2e.p99, maxWait).toFixed(2)}×`],
          ['max', e2e.max, `${ratio(e2e.max, maxWait).toFixed(2)}×`],
        ],
      )}\n`,
    );
    const backgroundOk = backgroundResult.statuses['202'] ?? 0;
    process.stdout.write(
      `${e2e.count} probes, background ${(backgroundOk / (backgroundResult.elapsedMs / 1000)).toFixed(0)} events/s accepted, polling every ${POLL_MS} ms\n`,
    );

    const results: Record<string, unknown> = {
      // The issue's figure: one write per event against the write requests the server received.
      'aggregate.write_reduction': round(ratio(naivePerEvent, main.writeRequests), 3),
      'aggregate.write_requests_per_1000_events': round(perThousandEvents(main.writeRequests), 1),
      'aggregate.documents_written_per_1000_events': round(perThousandEvents(main.documentWrites), 1),
      'aggregate.read_requests_per_1000_events': round(perThousandEvents(main.readRequests), 1),
      'aggregate.write_requests_by_container': main.writeRequestsByContainer,
      // What pre-aggregation saves in documents written (and RU), against one write per event per document.
      'aggregate.document_write_reduction_vs_naive_per_document': round(
        ratio(naivePerDocument, main.documentWrites),
        3,
      ),
      'aggregate.naive_per_document_writes_per_1000_events': round(perThousandEvents(naivePerDocument), 1),
      'aggregate.events_per_s': round(eventsPerS(main), 0),
      'aggregate.events_per_s_ratio_vs_point_writes': round(ratio(eventsPerS(main), floorWritesPerS), 3),
      'aggregate.batch_size': main.batchSize,
      'aggregate.e2e_p50_ms': round(e2e.p50, 0),
      'aggregate.e2e_p90_ms': round(e2e.p90, 0),
      'aggregate.e2e_p99_ms': round(e2e.p99, 0),
      'aggregate.e2e_probes': e2e.count,
      'aggregate.e2e_background_events_per_s': BACKGROUND_RPS,
      'floor.cosmos_point_writes_per_s': round(floorWritesPerS, 0),
      events: stream.length,
      users: defaultShape.users,
      products: defaultShape.products,
      partitions: PARTITIONS,
      node: process.version,
    };
    for (const r of runs) {
      results[`aggregate.batch${r.batchSize}.write_reduction`] = round(
        ratio(naivePerEvent, r.writeRequests),
        3,
      );
      results[`aggregate.batch${r.batchSize}.write_requests_per_1000_events`] = round(
        perThousandEvents(r.writeRequests),
        1,
      );
      results[`aggregate.batch${r.batchSize}.documents_written_per_1000_events`] = round(
        perThousandEvents(r.documentWrites),
        1,
      );
      results[`aggregate.batch${r.batchSize}.events_per_s`] = round(eventsPerS(r), 0);
    }
    progress(`wrote ${writeResults('aggregate', results)}`);
  } finally {
    await host?.stop();
    counted.dispose();
    await counter.stop();
    cosmos.dispose();
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:aggregate failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
