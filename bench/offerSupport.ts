import { Agent, get } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { assertLoopback } from './support/loadGenerator';

/**
 * GET load for bench:offer. bench/support/loadGenerator.ts only POSTs and discards the answers; the offer
 * benchmark needs GET /api/offer?userId=… and the `source` of each answer (model, cold-start, explore,
 * fallback) and its degraded dependencies, so it runs this worker instead. Same discipline: a worker
 * thread (never the server's event loop), keep-alive, fixed concurrency, bounded in time, loopback only.
 */

export interface OfferLoadOptions {
  /** Base URL of the host, e.g. http://127.0.0.1:7071. */
  baseUrl: string;
  /** Request paths with query (e.g. /api/offer?userId=u1), used round-robin. */
  paths: readonly string[];
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface OfferLoadResult {
  /** Completed during the measured window (after warm-up). */
  requests: number;
  latenciesMs: number[];
  /** Measured responses by status code; 0 counts connection errors and unreadable answers. */
  statuses: Record<string, number>;
  /** Measured 200 answers by their `source`. */
  sources: Record<string, number>;
  /** Measured 200 answers that named at least one degraded dependency. */
  degraded: number;
  elapsedMs: number;
}

interface WorkerInput {
  kind: 'offer-load';
  options: OfferLoadOptions;
}

/** Runs the load in a fresh worker thread (this same file) and returns what it measured. */
export async function runOfferLoad(options: OfferLoadOptions): Promise<OfferLoadResult> {
  assertLoopback(options.baseUrl);
  if (options.paths.length === 0) throw new Error('runOfferLoad needs at least one request path');
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
  }
  const input: WorkerInput = { kind: 'offer-load', options };
  const worker = new Worker(__filename, { workerData: input });
  return new Promise<OfferLoadResult>((resolve, reject) => {
    worker.once('message', (result: OfferLoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`offer load worker exited with code ${code}`));
    });
  });
}

interface Answer {
  status: number;
  source?: string;
  degraded: boolean;
}

function fetchOffer(agent: Agent, target: URL, path: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = get({ agent, hostname: target.hostname, port: target.port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status !== 200) return resolve({ status, degraded: false });
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            source?: unknown;
            degraded?: unknown;
          };
          resolve({
            status,
            source: typeof body.source === 'string' ? body.source : '(none)',
            degraded: Array.isArray(body.degraded) && body.degraded.length > 0,
          });
        } catch {
          resolve({ status: 0, degraded: false });
        }
      });
      res.on('error', () => resolve({ status: 0, degraded: false }));
    });
    req.on('error', () => resolve({ status: 0, degraded: false }));
  });
}

async function run(options: OfferLoadOptions): Promise<OfferLoadResult> {
  const target = new URL(options.baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const started = performance.now();
  const measureFrom = started + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  const sources: Record<string, number> = {};
  let degraded = 0;
  let next = 0;

  const loop = async () => {
    while (performance.now() < stopAt) {
      const path = options.paths[next++ % options.paths.length] as string;
      const begin = performance.now();
      const answer = await fetchOffer(agent, target, path);
      const end = performance.now();
      if (begin >= measureFrom && end <= stopAt) {
        latenciesMs.push(end - begin);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        if (answer.source !== undefined) sources[answer.source] = (sources[answer.source] ?? 0) + 1;
        if (answer.degraded) degraded += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  agent.destroy();
  return {
    requests: latenciesMs.length,
    latenciesMs,
    statuses,
    sources,
    degraded,
    elapsedMs: options.durationMs,
  };
}

if (!isMainThread && parentPort && (workerData as Partial<WorkerInput> | null)?.kind === 'offer-load') {
  const port = parentPort;
  run((workerData as WorkerInput).options).then(
    (result) => port.postMessage(result),
    (error: unknown) => {
      throw error;
    },
  );
}
