import { fork } from 'node:child_process';
import { join } from 'node:path';

/**
 * Closed-loop HTTP load from a child process, so the client's work never runs in the process it measures
 * (and `process.cpuUsage()` there counts the server alone). Keep-alive connections, fixed concurrency,
 * bounded by time, loopback only.
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
}

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
    throw new Error(`the load generator only targets loopback, not ${host}`);
  }
}

/** Runs the load in a fresh child process and returns what it measured. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  assertLoopback(options.url);
  if (options.bodies.length === 0) throw new Error('runLoad needs at least one request body');
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
  }
  // dist/bench/support/loadWorker.js next to this file once compiled.
  const child = fork(join(__dirname, 'loadWorker.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<LoadResult>((resolve, reject) => {
    let result: LoadResult | undefined;
    child.once('message', (message: LoadResult) => (result = message));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`load generator exited with code ${code} and no result`));
    });
    child.send(options);
  });
}
