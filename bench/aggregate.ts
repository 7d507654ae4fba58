import { CosmosClient, Database } from '@azure/cosmos';
import { ContainerClient } from '@azure/storage-blob';
import { join } from 'node:path';
import { FunctionsHost, loadFunctionModules, startFunctionsHost } from '../local/host';
import { readHostJson } from '../local/hostJson';
import { startLocalStack } from '../local/stack';
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
 * shaped like the trigger's; (b) Cosmos write requests against two naive designs; (c) end-to-end latency
 * from POST /api/events to the aggregate visible in Cosmos, through the local host with every function.
 * Floor: raw Cosmos point upserts on the same server at the same concurrency.
 */

/**
 * Writes per 1,000 events barely move between 4,000 and 20,000 events (checked when this was written);
 * the local Cosmos server takes ~150 writes/s, so a longer stream would only lengthen the run.
 */
const EVENTS = 4_000;
const BATCH_SIZES = [100, 500, 1000];
const PARTITIONS = 4;
/** aggregateBatch's document concurrency (16) × one invocation per partition. */
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
  writeRequests: number;
  documentsWritten: number;
}

/** Feeds the stream partition by partition, one batch in flight per partition, as the host does. */
async function aggregateStream(
  cosmos: CosmosClient,
  databaseId: string,
  archive: BlobEventArchive,
  stream: readonly SequencedEvent[],
  batchSize: number,
): Promise<AggregationRun> {
  const database = cosmos.database(databaseId);
  await provisionCosmos(database);
  const store = new CosmosDocumentStore(database);
  const partitions = triggerBatches(stream, batchSize, 'clickstream');
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
  return {
    batchSize,
    events: stream.length,
    batches,
    elapsedMs: performance.now() - started,
    writeRequests: store.writeRequests,
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
  let host: FunctionsHost | undefined;
  try {
    await provisionResources(settings);
    const blob = createBlobServiceClient(settings.archive.connection);
    const containers = ['bench-raw', 'bench-deadletter'].map((name) => blob.getContainerClient(name));
    await Promise.all(containers.map((c) => c.createIfNotExists()));
    const archive = new BlobEventArchive(...(containers as [ContainerClient, ContainerClient]));

    progress(`  floor: Cosmos point upserts at concurrency ${WRITE_CONCURRENCY} for ${FLOOR_MS} ms`);
    const floorDatabase = cosmos.database('bench-floor');
    await provisionCosmos(floorDatabase);
    const floorWritesPerS = await pointWriteFloor(floorDatabase);

    const stream = generateStream({ ...defaultShape, events: EVENTS, partitions: PARTITIONS });
    const naivePerEvent = stream.length;
    // One write per event per aggregate document it touches: the profile, the product or offer, two roll-ups.
    const naivePerDocument = stream.reduce((sum, e) => sum + planDocumentWork([e]).length, 0);

    const runs: AggregationRun[] = [];
    for (const batchSize of BATCH_SIZES) {
      progress(`  aggregate ${stream.length} events in batches of ${batchSize} per partition`);
      runs.push(await aggregateStream(cosmos, `bench-b${batchSize}`, archive, stream, batchSize));
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
    const perThousand = (writes: number) => (writes * 1000) / stream.length;

    process.stdout.write(
      `${formatTable(
        [
          'batch size',
          'events/s',
          'events/s ÷ point writes/s',
          'writes per 1,000 events',
          'reduction vs 1 write/event/document',
          'reduction vs 1 write/event',
        ],
        [
          ['floor: point upserts/s', floorWritesPerS, '1.00×', '', '', ''],
          ['naive: 1 write/event/document', '', '', perThousand(naivePerDocument), '1.00×', ''],
          ['naive: 1 write/event', '', '', perThousand(naivePerEvent), '', '1.00×'],
          ...runs.map((r) => [
            String(r.batchSize),
            eventsPerS(r),
            `${ratio(eventsPerS(r), floorWritesPerS).toFixed(2)}×`,
            perThousand(r.writeRequests),
            `${ratio(naivePerDocument, r.writeRequests).toFixed(2)}×`,
            `${ratio(naivePerEvent, r.writeRequests).toFixed(2)}×`,
          ]),
        ],
      )}\n\n`,
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
      'aggregate.write_reduction': round(ratio(naivePerDocument, main.writeRequests), 3),
      'aggregate.write_reduction_vs_one_write_per_event': round(ratio(naivePerEvent, main.writeRequests), 3),
      'aggregate.writes_per_1000_events': round(perThousand(main.writeRequests), 1),
      'aggregate.naive_writes_per_1000_events': round(perThousand(naivePerDocument), 1),
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
        ratio(naivePerDocument, r.writeRequests),
        3,
      );
      results[`aggregate.batch${r.batchSize}.writes_per_1000_events`] = round(
        perThousand(r.writeRequests),
        1,
      );
      results[`aggregate.batch${r.batchSize}.events_per_s`] = round(eventsPerS(r), 0);
    }
    progress(`wrote ${writeResults('aggregate', results)}`);
  } finally {
    await host?.stop();
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
