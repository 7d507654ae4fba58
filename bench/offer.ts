import { cpus } from 'node:os';
import { join } from 'node:path';
import type { FunctionsHost } from '../local/host';
import { startSingleFunctionHost } from './support/singleFunctionHost';
import { seedDemoData } from '../local/demoData';
import { startLocalStack } from '../local/stack';
import { getCurrentModel } from '../shared/affinity/runtime';
import { aggregateBatch } from '../shared/aggregation/aggregateBatch';
import { UserProfile } from '../shared/aggregation/documents';
import { SequencedEvent } from '../shared/aggregation/triggerBatch';
import { BlobEventArchive } from '../shared/archive/eventArchive';
import { getSettings } from '../shared/config/settings';
import { CosmosDocumentStore } from '../shared/cosmos/documentStore';
import { clickstreamEventSchema } from '../shared/events/clickstreamEvent';
import { eventPosition } from '../shared/events/hubMessage';
import { historyOf } from '../shared/offers/offerService';
import { connectRedisClient, createBlobServiceClient, createCosmosClient } from '../shared/runtime/clients';
import { provisionResources } from '../shared/runtime/provisioning';
import { simulationWorld } from '../shared/simulation/simulator';
import { OfferLoadResult, runOfferLoad } from './offerSupport';
import {
  formatTable,
  LatencySummary,
  packageRoot,
  ratio,
  round,
  seededRandom,
  summarize,
  writeResults,
} from './support/stats';

/**
 * bench:offer — GET /api/offer through the local Functions host (offer function only) for a mix of
 * users with history (model path) and unknown users (cold-start path), side by side with the floor
 * measured directly in the same run: one Cosmos DB point read of a profile, one Redis ZREVRANGE of the
 * cold-start list and one ONNX run of the current model, in sequence, at the same concurrency.
 */

const USERS_WITH_HISTORY = 2_000;
const UNKNOWN_SHARE = 0.2;
const DISTINCT_REQUESTS = 10_000;
const CONCURRENCIES = [16, 64];
const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;
/** The one figure in offer.json's headline keys: the concurrency the goal is judged at. */
const HEADLINE_CONCURRENCY = 16;
const COLD_START_ITEMS = 200;

const progress = (line: string) => process.stderr.write(`${line}\n`);

/** Product events for USERS_WITH_HISTORY users of the demo world, each within their favourite categories. */
function syntheticHistories(random: () => number): SequencedEvent[] {
  const world = simulationWorld({});
  const byCategory = new Map<string, string[]>();
  for (const product of world.products) {
    const list = byCategory.get(product.category) ?? [];
    list.push(product.productId);
    byCategory.set(product.category, list);
  }
  const events: SequencedEvent[] = [];
  const now = new Date().toISOString();
  for (let u = 0; u < USERS_WITH_HISTORY; u++) {
    const persona = world.users[u % world.users.length];
    const categories = persona?.favouriteCategories ?? world.categories;
    const count = 3 + Math.floor(random() * 10);
    for (let i = 0; i < count; i++) {
      const category = categories[Math.floor(random() * Math.min(2, categories.length))] as string;
      const products = byCategory.get(category) ?? [];
      const productId = products[Math.floor(random() * products.length)];
      if (productId === undefined) continue;
      const event = clickstreamEventSchema.parse({
        type: random() < 0.25 ? 'product_click' : 'product_view',
        userId: `bench-user-${u}`,
        productId,
        category,
        eventId: `bench-${u}-${i}`,
        timestamp: now,
        receivedAt: now,
        schemaVersion: 1,
      });
      const sequenceNumber = events.length;
      events.push({
        partitionId: '0',
        sequenceNumber,
        position: eventPosition(sequenceNumber, 0),
        enqueuedTime: now,
        event,
      });
    }
  }
  return events;
}

interface Floor {
  result: { requests: number; latenciesMs: number[]; elapsedMs: number };
}

/** The floor: what any offer decision must at least do, measured on direct clients in this process. */
async function measureFloor(concurrency: number, userIds: readonly string[]): Promise<Floor> {
  const settings = getSettings();
  const cosmos = createCosmosClient(settings.cosmos.connection);
  const redis = await connectRedisClient(settings.redis.url);
  try {
    const profiles = cosmos.database(settings.cosmos.database).container('user-profiles');
    const model = await getCurrentModel();
    if (!model) throw new Error('no affinity model is published; seeding failed');
    const coldStartKey = `${settings.redis.keyPrefix}coldstart:global`;
    const latenciesMs: number[] = [];
    const started = performance.now();
    const measureFrom = started + WARMUP_MS;
    const stopAt = measureFrom + DURATION_MS;
    let next = 0;
    const loop = async () => {
      while (performance.now() < stopAt) {
        const userId = userIds[next++ % userIds.length] as string;
        const begin = performance.now();
        const profile = (await profiles.item(userId, userId).read<UserProfile>()).resource;
        const coldStart = await redis.zrevrange(coldStartKey, 0, COLD_START_ITEMS - 1, 'WITHSCORES');
        const scores = await model.score(profile ? historyOf(profile) : []);
        const end = performance.now();
        if (!profile || coldStart.length === 0 || scores.length === 0) {
          throw new Error(`floor: missing data for ${userId} (profile, cold-start list or scores)`);
        }
        if (begin >= measureFrom && end <= stopAt) latenciesMs.push(end - begin);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    return { result: { requests: latenciesMs.length, latenciesMs, elapsedMs: DURATION_MS } };
  } finally {
    redis.disconnect();
    cosmos.dispose();
  }
}

interface Row {
  concurrency: number;
  offer: LatencySummary;
  offerRps: number;
  floor: LatencySummary;
  floorRps: number;
  load: OfferLoadResult;
}

function share(load: OfferLoadResult, source: string): number {
  const answered = Object.values(load.sources).reduce((a, b) => a + b, 0);
  return answered === 0 ? 0 : (load.sources[source] ?? 0) / answered;
}

async function main(): Promise<void> {
  const began = performance.now();
  progress('bench:offer: starting the local stack');
  const stack = await startLocalStack({ env: { PATH: process.env.PATH, EVENTHUB_NAME: 'clickstream' } });
  Object.assign(process.env, stack.settings);
  let host: FunctionsHost | undefined;
  try {
    const settings = getSettings();
    await provisionResources(settings);
    await createBlobServiceClient(settings.archive.connection)
      .getContainerClient(settings.archive.modelsContainer)
      .createIfNotExists();
    progress('bench:offer: seeding demo data (offer catalog, affinity model, cold-start scores)');
    await seedDemoData(settings, join(packageRoot(), 'models', 'catalog', 'offers.json'), progress);

    progress(`bench:offer: writing ${USERS_WITH_HISTORY} user profiles through aggregateBatch`);
    const random = seededRandom(7);
    const cosmos = createCosmosClient(settings.cosmos.connection);
    try {
      const blob = createBlobServiceClient(settings.archive.connection);
      const archive = new BlobEventArchive(
        blob.getContainerClient(settings.archive.rawEventsContainer),
        blob.getContainerClient(settings.archive.deadLetterContainer),
      );
      const events = syntheticHistories(random);
      await aggregateBatch(
        { eventHubName: settings.eventHub.name, partitionId: '0', events, unprocessable: [] },
        new CosmosDocumentStore(cosmos.database(settings.cosmos.database)),
        archive,
      );
      progress(`  ${events.length} events folded`);
    } finally {
      cosmos.dispose();
    }

    const known = Array.from({ length: USERS_WITH_HISTORY }, (_, u) => `bench-user-${u}`);
    const paths = Array.from({ length: DISTINCT_REQUESTS }, (_, i) => {
      const userId =
        random() < UNKNOWN_SHARE ? `bench-new-${i}` : (known[Math.floor(random() * known.length)] as string);
      return `/api/offer?userId=${encodeURIComponent(userId)}`;
    });

    host = await startSingleFunctionHost('offer');

    const rows: Row[] = [];
    for (const concurrency of CONCURRENCIES) {
      // Floor first, then the offer, at each concurrency, so drift on a shared machine hits both alike.
      progress(`  floor, concurrency ${concurrency}: ${WARMUP_MS} ms warm-up, ${DURATION_MS} ms measured`);
      const floor = await measureFloor(concurrency, known);
      progress(`  offer, concurrency ${concurrency}: ${WARMUP_MS} ms warm-up, ${DURATION_MS} ms measured`);
      const load = await runOfferLoad({
        baseUrl: host.url,
        paths,
        concurrency,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
      });
      if ((load.statuses['200'] ?? 0) !== load.requests) {
        throw new Error(`offer: not every request was answered 200: ${JSON.stringify(load.statuses)}`);
      }
      rows.push({
        concurrency,
        offer: summarize(load.latenciesMs),
        offerRps: load.requests / (load.elapsedMs / 1000),
        floor: summarize(floor.result.latenciesMs),
        floorRps: floor.result.requests / (floor.result.elapsedMs / 1000),
        load,
      });
    }

    const table = formatTable(
      [
        'concurrency',
        'floor p50 ms',
        'floor p99 ms',
        'floor req/s',
        'offer p50 ms',
        'offer p99 ms',
        'offer req/s',
        'p99 × floor',
        'model',
        'cold-start',
        'explore',
        'fallback',
        'degraded',
      ],
      rows.map((r) => [
        r.concurrency,
        r.floor.p50,
        r.floor.p99,
        r.floorRps,
        r.offer.p50,
        r.offer.p99,
        r.offerRps,
        `${ratio(r.offer.p99, r.floor.p99).toFixed(2)}×`,
        `${(share(r.load, 'model') * 100).toFixed(1)}%`,
        `${(share(r.load, 'cold-start') * 100).toFixed(1)}%`,
        `${(share(r.load, 'explore') * 100).toFixed(1)}%`,
        `${(share(r.load, 'fallback') * 100).toFixed(1)}%`,
        r.load.degraded,
      ]),
    );
    process.stdout.write(`${table}\n`);
    process.stdout.write(
      `\n${cpus().length} cores shared by the host, the load generator (worker thread) and the local services; ` +
        `${USERS_WITH_HISTORY} users with history, ${UNKNOWN_SHARE * 100}% unknown users, ` +
        `${WARMUP_MS} ms warm-up + ${DURATION_MS} ms per measurement.\n`,
    );

    const headline = rows.find((r) => r.concurrency === HEADLINE_CONCURRENCY) ?? rows[0];
    if (!headline) throw new Error('no measurement to report');
    const results: Record<string, unknown> = {
      'offer.p99_ms': round(headline.offer.p99),
      'offer.floor_p99_ms': round(headline.floor.p99),
      'offer.rps': round(headline.offerRps, 0),
      'offer.p50_ms': round(headline.offer.p50),
      'offer.floor_p50_ms': round(headline.floor.p50),
      'offer.floor_rps': round(headline.floorRps, 0),
      'offer.p99_over_floor_p99': round(ratio(headline.offer.p99, headline.floor.p99)),
      'offer.concurrency': headline.concurrency,
      'offer.source_share.model': round(share(headline.load, 'model'), 3),
      'offer.source_share.cold_start': round(share(headline.load, 'cold-start'), 3),
      'offer.source_share.explore': round(share(headline.load, 'explore'), 3),
      'offer.source_share.fallback': round(share(headline.load, 'fallback'), 3),
      'offer.degraded': headline.load.degraded,
    };
    for (const r of rows.filter((row) => row !== headline)) {
      const prefix = `offer.c${r.concurrency}`;
      Object.assign(results, {
        [`${prefix}.p50_ms`]: round(r.offer.p50),
        [`${prefix}.p99_ms`]: round(r.offer.p99),
        [`${prefix}.rps`]: round(r.offerRps, 0),
        [`${prefix}.floor_p50_ms`]: round(r.floor.p50),
        [`${prefix}.floor_p99_ms`]: round(r.floor.p99),
        [`${prefix}.floor_rps`]: round(r.floorRps, 0),
        [`${prefix}.p99_over_floor_p99`]: round(ratio(r.offer.p99, r.floor.p99)),
        [`${prefix}.degraded`]: r.load.degraded,
      });
    }
    results['machine.cores'] = cpus().length;
    const path = writeResults('offer', results);
    progress(`bench:offer: wrote ${path} in ${((performance.now() - began) / 1000).toFixed(0)} s`);
  } finally {
    if (host) await host.stop();
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  progress(`bench:offer failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
