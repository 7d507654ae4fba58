import { parseArgs } from 'node:util';
import { generateOfferCatalog } from '../../shared/simulation/offerCatalog';
import { writeJsonFile } from '../../shared/simulation/outputFiles';
import {
  DEFAULT_OFFLINE_START,
  runSimulation,
  SimulationOptions,
  SimulationProgress,
  simulationWorld,
  WorldOptions,
} from '../../shared/simulation/simulator';
import { Command, UsageError } from '../command';

const DEFAULT_URL = 'http://localhost:7071';
const DEFAULT_EVENTS = 1000;

const usage = `usage: npx nextoffer simulate [options]

Synthetic users with planted preferences browse a synthetic catalog. Their events are posted to
POST {url}/api/events (POST {url}/api/server/events with --key), or written to files for offline model
work, or both. The result (a JSON summary) goes to stdout, progress to stderr. Ctrl-C stops cleanly and
still prints the summary.

world (same seed and sizes → same world; same seed, sizes and --start → byte-identical files):
  --seed N               random seed (default 1)
  --users N              simulated users (default 200)
  --products N           products, ids p0001… (default 100)
  --categories N         product categories (default min(12, products))

posting (when --url is given, or when no file option is given):
  --url URL              root of the Functions app (default ${DEFAULT_URL})
  --key KEY              function key, sent as x-functions-key: events then go to the keyed
                         server-to-server POST /api/server/events instead of the anonymous /api/events
  --rate N               events per second (default 20)
  --concurrency N        requests in flight at most (default 4)
  --batch N              events per request (default 100, the most)
  --offers               each session asks GET /api/offer?userId=… once, posts offer_impression with
                         the decisionId, then offer_click or offer_dismiss by the user's planted affinity
  --sessions N           with --offers: sessions in progress at once (default 16), which bounds the
                         offer requests in flight

bounds (default --events ${DEFAULT_EVENTS} when neither is given):
  --events N             stop after N events
  --duration S           stop after S seconds

files (written whole at the end, never half-written):
  --out FILE             the events as JSON Lines
  --interactions FILE    CSV userId,itemId,weight,timestamp (view 1, click 2, cart 4, purchase 8)
  --truth FILE           each user's planted favourite categories and top-10 products (JSON)
  --write-catalog FILE   an offer catalog for this world (JSON array, as models/catalog/offers.json);
                         alone, it writes the catalog and exits
  --start ISO            simulated time of the first session in files (default ${DEFAULT_OFFLINE_START});
                         also time-boxes some catalog offers around it`;

const options = {
  seed: { type: 'string' },
  users: { type: 'string' },
  products: { type: 'string' },
  categories: { type: 'string' },
  url: { type: 'string' },
  key: { type: 'string' },
  rate: { type: 'string' },
  concurrency: { type: 'string' },
  batch: { type: 'string' },
  offers: { type: 'boolean' },
  sessions: { type: 'string' },
  events: { type: 'string' },
  duration: { type: 'string' },
  out: { type: 'string' },
  interactions: { type: 'string' },
  truth: { type: 'string' },
  'write-catalog': { type: 'string' },
  start: { type: 'string' },
} as const;

function integer(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be a whole number, got '${raw}'`);
  return Number(raw);
}

function decimal(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${name} must be a positive number, got '${raw}'`);
  }
  return value;
}

function progressLine(progress: SimulationProgress, posting: boolean): string {
  const sent = posting
    ? ` (${progress.accepted} accepted, ${progress.rejected} rejected, ${progress.failed} failed)`
    : '';
  return `simulate: ${progress.events} events in ${progress.sessions} sessions${sent}, ${progress.elapsedSeconds.toFixed(1)}s\n`;
}

export interface SimulateInvocation {
  world: WorldOptions;
  /** Absent when only the offer catalog is written. */
  simulation?: SimulationOptions;
  catalog?: { file: string; now?: string };
}

/** Parses the arguments; exported for tests. */
export function parseSimulateArgs(args: string[]): SimulateInvocation {
  let values: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof options; strict: true }>
  >['values'];
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.url !== undefined && !/^https?:\/\/./.test(values.url)) {
    throw new UsageError(`--url must start with http:// or https://, got '${values.url}'`);
  }
  if (values.start !== undefined && Number.isNaN(Date.parse(values.start))) {
    throw new UsageError(`--start must be an ISO 8601 date-time, got '${values.start}'`);
  }
  const catalogFile = values['write-catalog'];
  const anyEventFile =
    values.out !== undefined || values.interactions !== undefined || values.truth !== undefined;
  const catalogOnly =
    catalogFile !== undefined && !anyEventFile && values.url === undefined && !values.offers;
  const posting = values.url !== undefined || !anyEventFile;
  if (values.offers && !posting) throw new UsageError('--offers needs a server: give --url');

  const world = defined({
    seed: integer('seed', values.seed),
    users: integer('users', values.users),
    products: integer('products', values.products),
    categories: integer('categories', values.categories),
  });
  const catalog =
    catalogFile === undefined ? {} : { catalog: defined({ file: catalogFile, now: values.start }) };
  if (catalogOnly) return { world, ...catalog };

  const events = integer('events', values.events);
  const duration = decimal('duration', values.duration);
  const simulation: SimulationOptions = defined({
    ...world,
    baseUrl: posting ? (values.url ?? DEFAULT_URL) : undefined,
    functionKey: values.key,
    eventsPerSecond: decimal('rate', values.rate),
    concurrency: integer('concurrency', values.concurrency),
    batchSize: integer('batch', values.batch),
    offers: values.offers,
    parallelSessions: integer('sessions', values.sessions),
    maxEvents: events ?? (duration === undefined ? DEFAULT_EVENTS : undefined),
    durationSeconds: duration,
    outFile: values.out,
    interactionsFile: values.interactions,
    truthFile: values.truth,
    startTime: values.start,
  });
  return { world, simulation, ...catalog };
}

/** Out-of-range sizes and rates surface as RangeError from the simulator: a usage problem. */
async function asUsageError<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/** Drops undefined values, so that defaults apply. */
function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

export const command: Command = {
  summary: 'post synthetic clickstream (users with planted preferences), or write it to files',
  usage,
  async run(args: string[]): Promise<number> {
    const invocation = parseSimulateArgs(args);
    let catalogSummary: { file: string; offers: number } | undefined;
    if (invocation.catalog) {
      const { now } = invocation.catalog;
      const offers = await asUsageError(async () =>
        generateOfferCatalog(simulationWorld(invocation.world), now === undefined ? {} : { now }),
      );
      await writeJsonFile(invocation.catalog.file, offers);
      catalogSummary = { file: invocation.catalog.file, offers: offers.length };
      process.stderr.write(`simulate: wrote ${offers.length} offers to ${invocation.catalog.file}\n`);
    }
    const simulation = invocation.simulation;
    if (simulation === undefined) {
      process.stdout.write(JSON.stringify({ catalog: catalogSummary }, null, 2) + '\n');
      return 0;
    }

    const controller = new AbortController();
    const onSigint = () => {
      process.stderr.write('simulate: stopping (Ctrl-C)\n');
      controller.abort(new Error('interrupted'));
    };
    process.once('SIGINT', onSigint);
    const posting = simulation.baseUrl !== undefined;
    if (posting) {
      process.stderr.write(
        `simulate: posting to ${simulation.baseUrl}/api/events at ${simulation.eventsPerSecond ?? 20} events/s\n`,
      );
    }
    try {
      const summary = await asUsageError(() =>
        runSimulation(
          { ...simulation, onProgress: (progress) => process.stderr.write(progressLine(progress, posting)) },
          controller.signal,
        ),
      );
      process.stderr.write(
        progressLine(
          {
            events: summary.events,
            sessions: summary.sessions,
            accepted: summary.posting?.accepted ?? 0,
            rejected: summary.posting?.rejected ?? 0,
            failed: summary.posting?.failed ?? 0,
            elapsedSeconds: summary.elapsedSeconds,
          },
          posting,
        ),
      );
      process.stdout.write(
        JSON.stringify(catalogSummary ? { ...summary, catalog: catalogSummary } : summary, null, 2) + '\n',
      );
      // Rejected or lost events mean the endpoint and the simulator disagree, or the endpoint is down.
      const lost = (summary.posting?.rejected ?? 0) + (summary.posting?.failed ?? 0);
      return lost > 0 ? 1 : 0;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};
