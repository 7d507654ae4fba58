import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { processCpuMicros, threadCpuMicros } from './threadCpu';

/**
 * Closed-loop HTTP load from a worker thread, so the client's work never runs on the event loop of the
 * server it measures. Keep-alive connections, fixed concurrency, bounded by time, loopback only.
 *
 * A worker thread rather than a child process: on this 2-vCPU VM a loopback round trip that has to wake
 * another process costs several times one that wakes a thread, so a child process would lower the bare
 * server's ceiling about threefold (measured: 18k against 6k requests/s) and flatter every ratio to it.
 */

export interface LoadOptions {
  /** Full URL on 127.0.0.1 or localhost. */
  url: string;
  /** Request bodies, used round-robin (pre-built so the generator spends no time building JSON). */
  bodies: readonly string[];
  headers?: Record<string, string>;
  /** Requests in flight at once (one keep-alive connection each). */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** When set, starts at most this many requests per second (open loop for background traffic). */
  ratePerSecond?: number;
}

export interface LoadResult {
  /** Completed during the measured window (after warm-up). */
  requests: number;
  /** Latency in milliseconds of each measured request. */
  latenciesMs: number[];
  /** Measured responses by status code; 0 counts connection errors. */
  statuses: Record<string, number>;
  elapsedMs: number;
  /** Every request completed, warm-up included: the denominator for CPU per request. */
  totalRequests: number;
  /** CPU time of the load generator's own thread over the run, warm-up included, µs; undefined off Linux. */
  generatorCpuMicros?: number;
}

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
    throw new Error(`the load generator only targets loopback, not ${host}`);
  }
}

/** Runs the load in a fresh worker thread and returns what it measured. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  assertLoopback(options.url);
  if (options.bodies.length === 0) throw new Error('runLoad needs at least one request body');
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
  }
  // dist/bench/support/loadWorker.js next to this file once compiled.
  const worker = new Worker(join(__dirname, 'loadWorker.js'), { workerData: options });
  return new Promise<LoadResult>((resolve, reject) => {
    worker.once('message', (result: LoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load worker exited with code ${code}`));
    });
  });
}

/**
 * CPU time of this process's main thread (the server's event loop) in µs, without the load generator's
 * thread: from /proc on Linux; elsewhere the whole process's, generator included.
 */
export function mainThreadCpuMicros(): number {
  return threadCpuMicros(`/proc/self/task/${process.pid}/stat`) ?? processCpuMicros();
}
