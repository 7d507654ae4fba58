import { EventType, eventTypes } from '../events/clickstreamEvent';
import { EventPoster, MAX_BATCH_SIZE, PostingTotals } from './eventPoster';
import { OfferClient, OfferRequestTotals } from './offerClient';
import { EventSink, interactionsSink, jsonLinesSink, writeJsonFile } from './outputFiles';
import { simulateSession } from './sessions';
import { Clock, systemClock, TokenBucket } from './tokenBucket';
import { generateWorld, plantedPreferences, SimulatedProduct, World, WORLD_LIMITS } from './world';

/**
 * Runs the traffic simulator: synthetic users browse the synthetic world; their events go to the
 * ingest endpoint at a steady rate (when `baseUrl` is given) and/or to files for offline model work.
 * With `offers`, users also ask the offer endpoint and react to what it shows them.
 */
export interface SimulationOptions {
  /** Default 1. Same seed, sizes and `startTime` → same events. */
  seed?: number;
  /** Default 200. */
  users?: number;
  /** Default 100. */
  products?: number;
  /** Default min(12, products). */
  categories?: number;
  /** Root of the Functions app, e.g. http://localhost:7071; events are posted only when given. */
  baseUrl?: string;
  functionKey?: string;
  /** Posting rate in events per second. Default 20. Ignored when only writing files. */
  eventsPerSecond?: number;
  /** Stop after this many seconds. */
  durationSeconds?: number;
  /** Stop after this many events. Required when not posting. */
  maxEvents?: number;
  /** Ask `GET /api/offer` once per session and post impressions, clicks and dismissals. Needs baseUrl. */
  offers?: boolean;
  /** Requests in flight at most. Default 4. */
  concurrency?: number;
  /**
   * With `offers`: sessions in progress at once, so that waiting for offer answers does not hold the
   * rate down. Also bounds the offer requests in flight. Default 16.
   */
  parallelSessions?: number;
  /** Events per request. Default 100 (the most). */
  batchSize?: number;
  /** JSON Lines of the generated events. */
  outFile?: string;
  /** CSV `userId,itemId,weight,timestamp` (view 1, click 2, cart 4, purchase 8). */
  interactionsFile?: string;
  /** Each user's planted favourite categories and top products, as JSON. */
  truthFile?: string;
  /**
   * Simulated time of the first session (ISO 8601) when not posting; default 2026-01-01T00:00:00Z so
   * that files are reproducible. Posted events always carry the current time, as ingest expects.
   */
  startTime?: string;
  onProgress?: (progress: SimulationProgress) => void;
  /** Default 2000. */
  progressIntervalMs?: number;
  /** For tests: time source of the rate limiter and retry waits. */
  clock?: Clock;
}

export interface SimulationProgress {
  events: number;
  sessions: number;
  accepted: number;
  rejected: number;
  failed: number;
  elapsedSeconds: number;
}

export interface SimulationSummary {
  seed: number;
  runId: string;
  world: { users: number; products: number; categories: number };
  stoppedBy: 'events' | 'duration' | 'signal';
  sessions: number;
  events: number;
  eventsByType: Record<EventType, number>;
  /** Present when events were posted. */
  posting?: { baseUrl: string } & PostingTotals;
  /** Present with `offers`. */
  offers?: OfferRequestTotals;
  files: { out?: string; interactions?: string; truth?: string };
  elapsedSeconds: number;
  /** Achieved rate (events generated per wall-clock second). */
  eventsPerSecond: number;
}

export type WorldOptions = Pick<SimulationOptions, 'seed' | 'users' | 'products' | 'categories'>;

/** The world a simulation with these options plays in (defaults: seed 1, 200 users, 100 products). */
export function simulationWorld(options: WorldOptions): World {
  return generateWorld(options.seed ?? 1, {
    users: options.users ?? 200,
    products: options.products ?? 100,
    ...(options.categories !== undefined ? { categories: options.categories } : {}),
  });
}

export const DEFAULT_OFFLINE_START = '2026-01-01T00:00:00.000Z';
/** Offline, sessions start this far apart in simulated time. */
const SESSION_SPACING_MS = 30_000;
const LIMITS = {
  eventsPerSecond: 100_000,
  maxEvents: 100_000_000,
  durationSeconds: 7 * 24 * 3600,
  concurrency: 64,
  parallelSessions: 256,
  truthPairs: 100_000_000,
};

function check(name: string, value: number | undefined, min: number, max: number, integer = true): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `${name} must be ${integer ? 'an integer ' : 'a number '}from ${min} to ${max}, got ${value}`,
    );
  }
}

function validate(options: SimulationOptions): void {
  check('seed', options.seed, 0, 2 ** 32 - 1);
  check('users', options.users, 1, WORLD_LIMITS.users);
  check('products', options.products, 1, WORLD_LIMITS.products);
  check('eventsPerSecond', options.eventsPerSecond, 0.01, LIMITS.eventsPerSecond, false);
  check('durationSeconds', options.durationSeconds, 0.001, LIMITS.durationSeconds, false);
  check('maxEvents', options.maxEvents, 1, LIMITS.maxEvents);
  check('concurrency', options.concurrency, 1, LIMITS.concurrency);
  check('parallelSessions', options.parallelSessions, 1, LIMITS.parallelSessions);
  check('batchSize', options.batchSize, 1, MAX_BATCH_SIZE);
  if (options.baseUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new RangeError(`baseUrl is not a URL: ${options.baseUrl}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new RangeError('baseUrl must be http(s)');
  }
  if (options.offers && options.baseUrl === undefined)
    throw new RangeError('offers needs baseUrl: offers come from the offer endpoint');
  if (options.baseUrl === undefined && options.maxEvents === undefined) {
    throw new RangeError('without baseUrl (writing files only) maxEvents is required');
  }
  if (options.baseUrl === undefined && !options.outFile && !options.interactionsFile && !options.truthFile) {
    throw new RangeError('nothing to do: give baseUrl to post events, or an output file');
  }
  // The truth ranks every product for every user.
  const pairs = (options.users ?? 200) * (options.products ?? 100);
  if (options.truthFile !== undefined && pairs > LIMITS.truthPairs) {
    throw new RangeError(`truthFile needs users × products ≤ ${LIMITS.truthPairs}, got ${pairs}`);
  }
  if (options.startTime !== undefined && Number.isNaN(Date.parse(options.startTime))) {
    throw new RangeError(`startTime is not an ISO 8601 date-time: ${options.startTime}`);
  }
}

function emptyCounts(): Record<EventType, number> {
  return Object.fromEntries(eventTypes.map((t) => [t, 0])) as Record<EventType, number>;
}

export async function runSimulation(
  options: SimulationOptions,
  signal: AbortSignal,
): Promise<SimulationSummary> {
  validate(options);
  const world = simulationWorld(options);
  const seed = world.seed;
  const productsById = new Map<string, SimulatedProduct>(world.products.map((p) => [p.productId, p]));
  const clock = options.clock ?? systemClock;
  const posting = options.baseUrl !== undefined;
  const startMs = posting ? Date.now() : Date.parse(options.startTime ?? DEFAULT_OFFLINE_START);
  // Ids of different posting runs must differ (ingest and aggregates may deduplicate on eventId).
  const runId = `s${seed}t${startMs.toString(36)}`;
  const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
  const concurrency = options.concurrency ?? 4;

  const sinks: EventSink[] = [];
  const summaryFiles: SimulationSummary['files'] = {};
  const poster = posting
    ? new EventPoster({
        baseUrl: options.baseUrl as string,
        concurrency,
        batchSize: options.batchSize ?? MAX_BATCH_SIZE,
        clock,
        ...(options.functionKey !== undefined ? { functionKey: options.functionKey } : {}),
      })
    : undefined;
  const offerClient =
    posting && options.offers
      ? new OfferClient({
          baseUrl: options.baseUrl as string,
          ...(options.functionKey !== undefined ? { functionKey: options.functionKey } : {}),
        })
      : undefined;
  const eventsPerSecond = options.eventsPerSecond ?? 20;
  // A quarter second of burst: small enough to keep the rate steady, large enough that coarse timers
  // do not cap it.
  const bucket = posting
    ? new TokenBucket(eventsPerSecond, Math.max(1, eventsPerSecond / 4), clock)
    : undefined;

  const stop = new AbortController();
  // Mutated from callbacks, so kept in an object that the type checker does not narrow.
  const outcome: { stoppedBy: SimulationSummary['stoppedBy'] } = { stoppedBy: 'events' };
  const onAbort = () => {
    outcome.stoppedBy = 'signal';
    poster?.stopRetrying();
    stop.abort(signal.reason);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const durationTimer =
    options.durationSeconds === undefined
      ? undefined
      : setTimeout(() => {
          if (!stop.signal.aborted) outcome.stoppedBy = 'duration';
          stop.abort(new Error('duration reached'));
        }, options.durationSeconds * 1000);

  const eventsByType = emptyCounts();
  let events = 0;
  let sessions = 0;
  let nextSession = 0;
  const startedAt = clock.now();
  const progress = (): SimulationProgress => ({
    events,
    sessions,
    accepted: poster?.totals.accepted ?? 0,
    rejected: poster?.totals.rejected ?? 0,
    failed: poster?.totals.failed ?? 0,
    elapsedSeconds: (clock.now() - startedAt) / 1000,
  });
  const progressTimer =
    options.onProgress === undefined
      ? undefined
      : setInterval(() => options.onProgress?.(progress()), options.progressIntervalMs ?? 2000);

  const timestampFor = posting
    ? () => new Date().toISOString()
    : (sessionIndex: number, offsetMs: number) =>
        new Date(startMs + sessionIndex * SESSION_SPACING_MS + offsetMs).toISOString();

  /** One session after another until a bound is reached; several run side by side when offers are awaited. */
  async function worker(): Promise<void> {
    while (!stop.signal.aborted && events < maxEvents) {
      const sessionIndex = nextSession++;
      sessions++;
      const session = simulateSession(world, sessionIndex, productsById, {
        runId,
        timestampFor,
        signal: stop.signal,
        ...(offerClient ? { requestOffer: offerClient.request } : {}),
      });
      for await (const event of session) {
        if (stop.signal.aborted || events >= maxEvents) break;
        if (bucket) {
          try {
            await bucket.take(1, stop.signal);
          } catch {
            break;
          }
        }
        if (events >= maxEvents) break;
        events++;
        eventsByType[event.type]++;
        for (const sink of sinks) await sink.write(event);
        if (poster) await poster.add(event);
      }
    }
  }

  try {
    if (options.outFile !== undefined) {
      sinks.push(jsonLinesSink(options.outFile));
      summaryFiles.out = options.outFile;
    }
    if (options.interactionsFile !== undefined) {
      sinks.push(interactionsSink(options.interactionsFile));
      summaryFiles.interactions = options.interactionsFile;
    }
    // Without offers nothing in a session waits on the network, so one loop keeps the order reproducible.
    const workers = offerClient ? (options.parallelSessions ?? 16) : 1;
    // The first failure (a file that cannot be written) stops every loop before the run is unwound.
    const results = await Promise.allSettled(
      Array.from({ length: workers }, () =>
        worker().catch((error: unknown) => {
          stop.abort(error);
          throw error;
        }),
      ),
    );
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
    // After a duration or event bound, batches still being retried get their chance; after a signal not.
    const postingTotals = poster ? await poster.close(outcome.stoppedBy === 'signal') : undefined;
    for (const sink of sinks) await sink.commit();
    if (options.truthFile !== undefined) {
      await writeJsonFile(options.truthFile, { seed, users: plantedPreferences(world) });
      summaryFiles.truth = options.truthFile;
    }
    const elapsedSeconds = (clock.now() - startedAt) / 1000;
    return {
      seed,
      runId,
      world: {
        users: world.users.length,
        products: world.products.length,
        categories: world.categories.length,
      },
      stoppedBy: outcome.stoppedBy,
      sessions,
      events,
      eventsByType,
      ...(postingTotals ? { posting: { baseUrl: options.baseUrl as string, ...postingTotals } } : {}),
      ...(offerClient ? { offers: offerClient.totals } : {}),
      files: summaryFiles,
      elapsedSeconds,
      eventsPerSecond: elapsedSeconds > 0 ? events / elapsedSeconds : events,
    };
  } catch (error) {
    // Every file is discarded, whatever happens to the others, before the run's own failure is thrown.
    await Promise.allSettled(sinks.map((sink) => sink.discard()));
    await poster?.close(true).catch(() => undefined);
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (durationTimer) clearTimeout(durationTimer);
    if (progressTimer) clearInterval(progressTimer);
  }
}
